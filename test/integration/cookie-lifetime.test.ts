/**
 * A session's lifetime is the app's decision for that session (remember-me's 30 days, or a
 * browser-session cookie), not a site setting: with the middleware mounted, on the site
 * that set it and on a site that adopted the session, in the browser's cookie and in the
 * store, across rolling requests. Logged in the way Passport does it: regenerate, save,
 * then the remember-me line.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import { SqliteStore } from 'shared-session/sqlite';
import { startExpressSite, type ExpressSite } from '../helpers/express-site.ts';
import { Client, type Response } from '../helpers/http.ts';
import { freePort } from '../helpers/ports.ts';

const DAY = 24 * 3600 * 1000;

describe('the cookie lifetime the app sets for a session', () => {
  let dir: string;
  let file: string;
  const stores: SqliteStore[] = [];
  let a: ExpressSite;
  let b: ExpressSite;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shared-session-lifetime-'));
    file = join(dir, 'sessions.sqlite');
    const sites = [`http://a.localhost:${await freePort()}`, `http://b.localhost:${await freePort()}`];
    const start = (origin: string) => {
      const store = new SqliteStore({ path: file });
      stores.push(store);
      return startExpressSite({
        origin,
        sites,
        store,
        // A one-day site default, re-sent on every response.
        session: { rolling: true, cookie: { sameSite: 'lax', maxAge: DAY } },
        routes: (app) => {
          app.post('/login', (req, res, next) => {
            req.session.regenerate((error) => {
              if (error) return next(error);
              req.session.user = 'alice';
              req.session.save((saveError) => {
                if (saveError) return next(saveError);
                // Right after the login's save, as apps do after Passport's req.login().
                if (req.query.remember === '1') req.session.cookie.maxAge = 30 * DAY;
                else req.session.cookie.expires = false as unknown as Date;
                res.type('text').send('logged in\n');
              });
            });
          });
          app.get('/me', (req, res) => void res.type('text').send(`${req.session.user ?? 'nobody'}\n`));
        },
      });
    };
    a = await start(sites[0]!);
    b = await start(sites[1]!);
  });

  after(async () => {
    await Promise.all([a.close(), b.close()]);
    for (const store of stores) store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The session cookie a response sets: its lifetime in days from now (null: a browser-session cookie). */
  function cookieDays(response: Response, site: ExpressSite): number | null {
    const name = `${new URL(site.origin).hostname.split('.')[0]}.sid`;
    const cookie = response.setCookies.find((item) => item.name === name);
    assert.ok(cookie, `${site.origin} sets its session cookie`);
    if (cookie.maxAge !== undefined) return cookie.maxAge / 86_400;
    return cookie.expires ? (cookie.expires.getTime() - Date.now()) / DAY : null;
  }

  /** When the store lets the visitor's session on `site` expire, in days from now. */
  function storedDays(visitor: Client, site: ExpressSite): number {
    const raw = visitor.cookies(site.origin).get(`${new URL(site.origin).hostname.split('.')[0]}.sid`) ?? '';
    const sid = decodeURIComponent(raw).slice(2).split('.')[0] ?? '';
    const db = new DatabaseSync(file, { readOnly: true });
    try {
      const row = db.prepare('SELECT expires FROM shared_session_sessions WHERE sid = ?').get(sid) as { expires: number } | undefined;
      assert.ok(row, 'the session is stored');
      return (row.expires - Date.now()) / DAY;
    } finally {
      db.close();
    }
  }

  const near = (actual: number | null, days: number, label: string) => assert.ok(actual !== null && Math.abs(actual - days) < 0.01, `${label}: ${String(actual)} days, want ${days}`);

  it('keeps remember-me\'s 30 days on every later request, in the browser and in the store, on both sites', async () => {
    const visitor = new Client();
    near(cookieDays(await visitor.fetch(`${a.origin}/login?remember=1`, { method: 'POST' }), a), 30, 'login response');
    near(storedDays(visitor, a), 30, 'store after login');
    for (let i = 0; i < 2; i++) {
      const page = (await visitor.navigate(`${a.origin}/me`)).at(-1)!;
      assert.equal(page.body, 'alice\n');
      near(cookieDays(page, a), 30, `site a, request ${i + 1}`);
    }
    near(storedDays(visitor, a), 30, 'store after rolling requests');
    // The other site adopts the session (a hop through the hub) and keeps its lifetime.
    const steps = await visitor.navigate(`${b.origin}/me`);
    assert.equal(steps.at(-1)!.body, 'alice\n');
    near(cookieDays(steps.find((step) => step.url.startsWith(b.origin) && step.setCookies.some((c) => c.name === 'b.sid'))!, b), 30, 'site b, adopted');
    near(cookieDays((await visitor.navigate(`${b.origin}/me`)).at(-1)!, b), 30, 'site b, next request');
    near(storedDays(visitor, b), 30, 'store after site b');
  });

  it('keeps a browser-session cookie one: no expiry on any later request, on both sites', async () => {
    const visitor = new Client();
    assert.equal(cookieDays(await visitor.fetch(`${a.origin}/login?remember=0`, { method: 'POST' }), a), null);
    for (let i = 0; i < 2; i++) {
      const page = (await visitor.navigate(`${a.origin}/me`)).at(-1)!;
      assert.equal(page.body, 'alice\n');
      assert.equal(cookieDays(page, a), null, `site a, request ${i + 1}`);
    }
    // The store keeps it for its default lifetime (defaultTtlSeconds, one day).
    near(storedDays(visitor, a), 1, 'store');
    const steps = await visitor.navigate(`${b.origin}/me`);
    assert.equal(steps.at(-1)!.body, 'alice\n');
    assert.equal(cookieDays(steps.find((step) => step.url.startsWith(b.origin) && step.setCookies.some((c) => c.name === 'b.sid'))!, b), null, 'site b, adopted');
    assert.equal(cookieDays((await visitor.navigate(`${b.origin}/me`)).at(-1)!, b), null, 'site b, next request');
  });
});
