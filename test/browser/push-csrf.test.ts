import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Express } from 'express';
import type { SharedSessionMiddleware } from 'shared-session/express';
import { SqliteStore } from 'shared-session/sqlite';
import { launchChromium, type ChromiumSession } from '../helpers/browser.ts';
import { scriptSources, startExpressSite, type ExpressSite } from '../helpers/express-site.ts';
import { Client, NAVIGATION_HEADERS } from '../helpers/http.ts';
import { freePort } from '../helpers/ports.ts';

/**
 * Login CSRF through the push, in real Chromium with third-party cookies allowed (where the
 * push works): an attacker's review on shop carries `<link rel="preload" as="script">`, which
 * Fetch Metadata cannot tell from a `<script>`; his server redirects it to a push token of his
 * own session. The voucher lands in the victim's browser, and must adopt nothing. The same
 * setup shows the push doing its job for the victim's own login (so the test can fail).
 */
describe('the push in Chromium against a preload planted in user content', () => {
  let dir: string;
  let store: SqliteStore;
  let shop: ExpressSite;
  let blog: ExpressSite;
  let evil: Server;
  let evilOrigin: string;
  let browser: ChromiumSession;
  const reviews: string[] = [];
  const preloads: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shared-session-preload-'));
    store = new SqliteStore({ path: join(dir, 'sessions.sqlite') });
    const origins = [`http://shop.localhost:${await freePort()}`, `http://blog.localhost:${await freePort()}`];
    const routes = (app: Express, shared: SharedSessionMiddleware): void => {
      app.get('/me', (req, res) => res.json({ user: req.session.user ?? null }));
      app.get('/login-as', (req, res, next) =>
        req.session.regenerate((error) => {
          if (error) return next(error);
          req.session.user = typeof req.query.user === 'string' ? req.query.user : 'nobody';
          res.redirect(303, '/home');
        }),
      );
      app.get('/home', async (req, res) => res.type('html').send(`<!doctype html><p>${req.session.user ?? 'anonymous'}</p>${await shared.loader(req, res)}`));
      // Other users' HTML, through a sanitizer that lets <link> through.
      app.get('/reviews', async (req, res) => res.type('html').send(`<!doctype html><h1>Reviews</h1>${reviews.join('')}${await shared.loader(req, res)}`));
    };
    shop = await startExpressSite({ origin: origins[0]!, sites: origins, store, routes, shared: { hubProbe: false } });
    blog = await startExpressSite({ origin: origins[1]!, sites: origins, store, routes, shared: { hubProbe: false } });
    evilOrigin = `http://evil.localhost:${await freePort()}`;
    evil = createServer((req, res) => {
      preloads.push(`${String(req.headers['sec-fetch-dest'])} ${String(req.headers['sec-fetch-mode'])}`);
      // A fresh session of the attacker's on shop, and the push token shop's page carries for blog.
      const attacker = new Client();
      void attacker.navigate(`${shop.origin}/login-as?user=mallory`, { headers: NAVIGATION_HEADERS }).then((steps) => {
        const token = scriptSources(steps.at(-1)!.body).find((src) => src.startsWith(blog.origin));
        res.writeHead(302, { location: token ?? `${blog.origin}/none` }).end();
      });
    });
    await new Promise<void>((resolve) => evil.listen(Number(new URL(evilOrigin).port), '127.0.0.1', resolve));
    browser = await launchChromium('allowed');
  });

  after(async () => {
    await browser.close();
    evil.closeAllConnections();
    await new Promise((resolve) => evil.close(resolve));
    await Promise.all([shop.close(), blog.close()]);
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a voucher of the attacker’s session, planted through the preload, logs the victim in as nobody', async () => {
    reviews.push(`<div class="review"><p>Great shop!</p><link rel="preload" as="script" href="${evilOrigin}/x"></div>`);
    const page = await browser.context.newPage();
    const me = async (): Promise<string | null> => {
      await page.goto(`${blog.origin}/me`);
      return (JSON.parse((await page.textContent('body')) ?? '{}') as { user: string | null }).user;
    };
    await page.goto(`${blog.origin}/home`);
    assert.equal(await me(), null);
    await page.goto(`${shop.origin}/reviews`);
    await page.waitForLoadState('networkidle');
    assert.deepEqual(preloads, ['script no-cors'], 'the preload went out as a script load');
    const vouchers = (await browser.context.cookies(blog.origin)).filter((cookie) => cookie.name.endsWith('shared-session.voucher'));
    assert.equal(vouchers.length, 1, 'blog set the voucher: the request looked like a script load');
    await page.goto(`${blog.origin}/home`);
    assert.equal(await me(), null);
    await page.close();
  });

  it('while the victim’s own login on shop reaches blog through the push, without a hop', async () => {
    reviews.length = 0;
    const page = await browser.context.newPage();
    await page.goto(`${blog.origin}/home`);
    await page.goto(`${shop.origin}/login-as?user=alice`);
    await page.waitForLoadState('networkidle');
    const documents: string[] = [];
    page.on('request', (request) => {
      if (request.isNavigationRequest()) documents.push(new URL(request.url()).pathname);
    });
    await page.goto(`${blog.origin}/home`);
    assert.deepEqual(documents, ['/home'], 'no hop');
    assert.equal(((await page.textContent('p')) ?? '').trim(), 'alice');
    await page.close();
  });
});
