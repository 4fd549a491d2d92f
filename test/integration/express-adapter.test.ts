import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { after, before, describe, it } from 'node:test';
import type { RejectedEvent, WarningEvent } from 'shared-session';
import { SqliteStore } from 'shared-session/sqlite';
import { deriveKeys } from '../../src/core/keys.ts';
import { Purpose, Sealer } from '../../src/core/token.ts';
import { scriptSources, startExpressSite, type ExpressSite } from '../helpers/express-site.ts';
import { Client, request } from '../helpers/http.ts';
import { freePort } from '../helpers/ports.ts';
import { SESSION_SECRET, SHARED_SECRET } from '../helpers/sites.ts';

const sealer = new Sealer(deriveKeys(SHARED_SECRET));
const NAVIGATE = { 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document', 'sec-fetch-site': 'none' };

function tokenOf(src: string): string {
  return decodeURIComponent(new URL(src).pathname.split('/').pop()!.replace(/\.js$/, ''));
}

describe('Express adapter over express-session', () => {
  let dir: string;
  let store: SqliteStore;
  const stores: SqliteStore[] = [];
  let a: ExpressSite;
  let b: ExpressSite;
  let c: ExpressSite;
  let sites: string[];
  const rejected: RejectedEvent[] = [];
  const warnings: WarningEvent[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shared-session-adapter-'));
    writeFileSync(join(dir, 'page.tpl'), '<main>page</main>{{loader}}');
    // One store instance per site on one file, as with one process per site: express-session
    // writes its generate() onto the store instance, so sites must never share an instance.
    const file = join(dir, 'sessions.sqlite');
    const own = (): SqliteStore => {
      const instance = new SqliteStore({ path: file });
      stores.push(instance);
      return instance;
    };
    store = own();
    sites = [`http://a.localhost:${await freePort()}`, `http://b.localhost:${await freePort()}`, `http://c.localhost:${await freePort()}`];
    const routes: Parameters<typeof startExpressSite>[0]['routes'] = (app, shared) => {
      // A view engine of its own: shows that res.locals.sharedSessionLoader reaches any engine.
      app.engine('tpl', (_file, locals: { sharedSessionLoader?: string }, callback) => callback(null, `<main>page</main>${locals.sharedSessionLoader ?? 'MISSING'}`));
      app.set('views', dir);
      app.get('/page', (_req, res) => res.render('page.tpl'));
      app.get('/add-and-render', (req, res) => {
        req.session.cart = ['fresh'];
        res.locals.cspNonce = 'n0nce"<';
        res.render('page.tpl');
      });
      app.get('/manual', async (req, res) => {
        req.session.cart = ['manual'];
        const html = await shared.loader(req, res, { nonce: 'abc' });
        const stored = await new Promise((resolve) => store.get(req.sessionID, (_e, s) => resolve(s)));
        res.json({ html, stored: Boolean(stored) });
      });
    };
    // Site a keeps its cookie on its own host with Strict; b and c use Lax: the adapter must never mix them up.
    a = await startExpressSite({ origin: sites[0]!, sites, store: own(), routes, session: { cookie: { sameSite: 'strict', domain: 'a.localhost', maxAge: 3_600_000 } } });
    b = await startExpressSite({ origin: sites[1]!, sites, store: own(), routes, session: { saveUninitialized: true, resave: true } });
    c = await startExpressSite({ origin: sites[2]!, sites, store: own(), routes, wrongOrder: true });
    for (const site of [a, b, c]) {
      site.shared.on('rejected', (event) => rejected.push(event));
      site.shared.on('warning', (event) => warnings.push(event));
    }
  });

  after(async () => {
    await Promise.all([a.close(), b.close(), c.close()]);
    for (const instance of stores) instance.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const snapshot = async (): Promise<string> => JSON.stringify(await new Promise((resolve) => store.all((_e, all) => resolve(all))));

  it('renders no loader for an empty session, and sets no cookie', async () => {
    const response = await request(`${a.origin}/page`);
    assert.equal(response.body, '<main>page</main>');
    assert.equal(response.setCookies.length, 0);
  });

  it('fills res.locals.sharedSessionLoader before res.render: one script per other site, with the CSP nonce', async () => {
    const client = new Client();
    const response = await client.fetch(`${a.origin}/add-and-render`);
    const sources = scriptSources(response.body);
    assert.deepEqual(sources.map((src) => new URL(src).origin), [b.origin, c.origin]);
    assert.match(response.body, /<script src="[^"]+" async referrerpolicy="origin" nonce="n0nce&quot;&lt;"><\/script>/);
    for (const src of sources) {
      assert.match(new URL(src).pathname, /^\/shared-session\/[A-Za-z0-9_-]+\.js$/);
      const opened = sealer.open(Purpose.push, tokenOf(src));
      assert.ok(opened.ok);
      assert.equal(opened.payload.src, a.origin);
      assert.equal(opened.payload.dst, new URL(src).origin);
      assert.equal(typeof opened.payload.sid, 'string');
    }
  });

  it('saves a brand-new session before minting, so the other site can find it', async () => {
    const response = await new Client().fetch(`${a.origin}/manual`);
    const body = JSON.parse(response.body) as { html: string; stored: boolean };
    assert.equal(body.stored, true);
    assert.equal(scriptSources(body.html).length, 2);
    assert.match(body.html, /nonce="abc"/);
  });

  it('mints nothing for a Host that is not a configured site', async () => {
    const client = new Client();
    await client.fetch(`${a.origin}/add`);
    const cookie = [...client.cookies(a.origin)].map(([k, v]) => `${k}=${v}`).join('; ');
    const response = await request(`${a.origin}/page`, { headers: { host: 'evil.localhost', cookie } });
    assert.equal(response.body, '<main>page</main>');
    assert.ok(rejected.some((event) => event.reason === 'UNKNOWN_HOST' && event.mechanism === 'loader'));
  });

  it('adopts with the receiving site’s own cookie, plus SameSite=None; Secure; then repairs it on the next visit', async () => {
    const client = new Client();
    await client.fetch(`${a.origin}/add?item=tea`);
    const page = await client.fetch(`${a.origin}/page`);
    const toB = scriptSources(page.body).find((src) => src.startsWith(b.origin))!;
    const pushed = await client.fetch(toB, { headers: { referer: `${a.origin}/` } });
    assert.equal(pushed.status, 200);
    assert.equal(pushed.headers['shared-session-reason'], 'ADOPTED');
    assert.equal(pushed.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(pushed.headers['cache-control'], 'no-store');
    assert.equal(pushed.headers['cross-origin-resource-policy'], 'cross-origin');
    assert.equal(pushed.headers['x-content-type-options'], 'nosniff');
    assert.equal(pushed.body, '');
    assert.equal(pushed.setCookies.length, 1);
    const cookie = pushed.setCookies[0]!;
    assert.equal(cookie.name, 'b.sid');
    assert.equal(cookie.sameSite, 'none');
    assert.equal(cookie.secure, true);
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.domain, undefined, 'never site a’s Domain');
    assert.equal(cookie.path, '/');
    assert.equal((JSON.parse((await client.fetch(`${b.origin}/whoami`)).body) as { cart: string[] }).cart[0], 'tea');

    // The first top-level visit re-sends the cookie with b's own settings (Lax, not Secure).
    const visit = await client.fetch(`${b.origin}/whoami`, { headers: NAVIGATE });
    assert.equal(visit.setCookies.length, 1);
    assert.equal(visit.setCookies[0]?.sameSite, 'lax');
    assert.equal(visit.setCookies[0]?.secure, undefined);
    // …once.
    assert.equal((await client.fetch(`${b.origin}/whoami`, { headers: NAVIGATE })).setCookies.length, 0);

    // Back on a, after b saved the record with b's attributes, a sends its own again.
    const onA = await client.fetch(`${a.origin}/add?item=milk`);
    assert.equal(onA.setCookies.length, 1);
    assert.equal(onA.setCookies[0]?.domain, 'a.localhost');
    assert.equal(onA.setCookies[0]?.sameSite, 'strict');
  });

  it('stops minting for sites that hold the session', async () => {
    const client = new Client();
    await client.fetch(`${a.origin}/add`);
    const first = scriptSources((await client.fetch(`${a.origin}/page`)).body);
    assert.equal(first.length, 2);
    const toB = first.find((src) => src.startsWith(b.origin))!;
    await client.fetch(toB, { headers: { referer: `${a.origin}/` } });
    const second = scriptSources((await client.fetch(`${a.origin}/page`)).body);
    assert.deepEqual(second.map((src) => new URL(src).origin), [c.origin]);
  });

  it('leaves no trace for a refused token, even with saveUninitialized and resave on', async () => {
    const client = new Client();
    await client.fetch(`${b.origin}/add?item=keep`);
    const before = await snapshot();
    const forged = sealer.seal(Purpose.push, { sid: 'x', src: a.origin, dst: c.origin, iat: Date.now(), jti: 'j' });
    for (const token of ['not$base64', forged, 'A'.repeat(3000)]) {
      const response = await client.fetch(`${b.origin}/shared-session/${token}.js`, { headers: { referer: `${a.origin}/` } });
      assert.ok(response.status >= 400, `status ${response.status}`);
      assert.equal(response.setCookies.length, 0);
    }
    // A visitor without a cookie, too: express-session would otherwise save and set an empty session.
    const stranger = await request(`${b.origin}/shared-session/${forged}.js`, { headers: { referer: `${a.origin}/` } });
    assert.equal(stranger.setCookies.length, 0);
    assert.equal(await snapshot(), before);
  });

  it('answers 503 and warns when shared-session is mounted before express-session', async () => {
    const token = sealer.seal(Purpose.push, { sid: 'x', src: a.origin, dst: c.origin, iat: Date.now(), jti: 'k' });
    const response = await request(`${c.origin}/shared-session/${token}.js`, { headers: { referer: `${a.origin}/` } });
    assert.equal(response.status, 503);
    assert.equal(response.headers['shared-session-reason'], 'STORE_UNAVAILABLE');
    assert.ok(warnings.some((event) => event.code === 'NO_SESSION'));
  });

  it('turns a failing store into 503 STORE_UNAVAILABLE and a warning, never a 500', async () => {
    const broken = new SqliteStore({ path: join(dir, 'broken.sqlite') });
    const port = await freePort();
    const origin = `http://d.localhost:${port}`;
    const d = await startExpressSite({ origin, sites: [sites[0]!, origin], store: broken });
    const seen: WarningEvent[] = [];
    d.shared.on('warning', (event) => seen.push(event));
    const token = sealer.seal(Purpose.push, { sid: 'some-session', src: a.origin, dst: origin, iat: Date.now(), jti: 'broken-1' });
    broken.close();
    const response = await request(`${origin}/shared-session/${token}.js`, { headers: { referer: `${a.origin}/` } });
    await d.close();
    assert.notEqual(response.status, 500);
    // express-session itself sees no cookie and so reads nothing; the claim is the first store call.
    assert.equal(response.status, 503);
    assert.equal(response.headers['shared-session-reason'], 'STORE_UNAVAILABLE');
    assert.ok(seen.some((event) => event.code === 'STORE_ERROR'));
  });

  it('works out cookie settings per trusted proxy: a direct request copying the proxy’s headers cannot fix them', async () => {
    let trusted = false;
    const origin = `http://e.localhost:${await freePort()}`;
    const e = await startExpressSite({ origin, sites: [sites[0]!, origin], store, trustProxy: () => trusted, session: { cookie: { secure: 'auto', sameSite: 'lax', maxAge: 3_600_000 } } });
    try {
      const headers = { 'x-forwarded-proto': 'https' };
      const visitor = new Client();
      trusted = true;
      await visitor.fetch(`${origin}/add?item=tea`, { headers });
      const cookie = [...visitor.cookies(origin)].map(([name, value]) => `${name}=${value}`).join('; ');
      assert.ok(cookie.includes('e.sid='), 'the visitor has a session');
      // Untrusted: the forwarded scheme does not count, and this must not be remembered for trusted requests.
      trusted = false;
      await request(`${origin}/whoami`, { headers: { ...headers, cookie } });
      trusted = true;
      const changed = await request(`${origin}/add?item=milk`, { headers: { ...headers, cookie } });
      const set = changed.setCookies.find((c) => c.name === 'e.sid');
      assert.ok(set, 'the session cookie is sent');
      assert.equal(set.secure, true);
    } finally {
      await e.close();
    }
  });

  it('runs once when mounted twice (app and router), and hands render errors to Express', async () => {
    const origin = `http://f.localhost:${await freePort()}`;
    const f = await startExpressSite({
      origin,
      sites: [sites[0]!, origin],
      store,
      routes: (app, shared) => {
        const router = express.Router();
        router.use(shared);
        router.get('/twice', (req, res) => {
          req.session.cart = ['twice'];
          res.locals.cspNonce = 'n';
          res.render('page.tpl');
        });
        router.get('/no-engine', (_req, res) => res.render('missing-view'));
        app.engine('tpl', (_file, locals: { sharedSessionLoader?: string }, callback) => callback(null, `<main>page</main>${locals.sharedSessionLoader ?? 'MISSING'}`));
        app.set('views', dir);
        app.use(router);
      },
    });
    try {
      const visitor = new Client();
      const twice = await visitor.fetch(`${origin}/twice`);
      assert.equal(twice.status, 200);
      assert.equal(scriptSources(twice.body).length, 1, 'one loader, one script for the other site');
      assert.equal(twice.setCookies.filter((c) => c.name === 'f.sid').length, 1);
      const failed = await visitor.fetch(`${origin}/no-engine`);
      assert.equal(failed.status, 500, 'Express’s own error handling answered');
    } finally {
      await f.close();
    }
  });

  it('writes a session once per request: no second save or touch after save-first', async () => {
    // Save-first saves before responding; express-session then saves again after an id
    // change (an adoption, a login) and touches otherwise. Count what reaches the database.
    const counted = new SqliteStore({ path: join(dir, 'sessions.sqlite') });
    stores.push(counted);
    const calls = { write: 0, refresh: 0 };
    const inner = counted as unknown as Record<'write' | 'refresh', (...args: unknown[]) => unknown>;
    for (const name of ['write', 'refresh'] as const) {
      const original = inner[name].bind(counted);
      inner[name] = (...args: unknown[]) => {
        calls[name]++;
        return original(...args);
      };
    }
    const origin = `http://g.localhost:${await freePort()}`;
    const g = await startExpressSite({ origin, sites: [sites[0]!, origin], store: counted });
    try {
      const visitor = new Client();
      await visitor.fetch(`${a.origin}/add?item=tea`);
      const { id } = JSON.parse((await visitor.fetch(`${a.origin}/whoami`)).body) as { id: string };
      const token = sealer.seal(Purpose.push, { sid: id, src: a.origin, dst: origin, iat: Date.now(), jti: 'count-writes' });
      const adopted = await visitor.fetch(`${origin}/shared-session/${token}.js`, { headers: { referer: `${a.origin}/` } });
      assert.equal(adopted.headers['shared-session-reason'], 'ADOPTED');
      await new Promise((resolve) => setTimeout(resolve, 50)); // a save after the response would land now
      assert.deepEqual(calls, { write: 1, refresh: 0 }, 'one write for the adoption');
      await visitor.fetch(`${origin}/add?item=milk`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(calls, { write: 2, refresh: 0 }, 'one write for a change');
      assert.deepEqual((JSON.parse((await visitor.fetch(`${origin}/whoami`)).body) as { cart: string[] }).cart, ['tea', 'milk']);
    } finally {
      await g.close();
    }
  });

  it('gives the very first request of a new app its own cookie settings, for a session another site saved', async () => {
    // Site a saves with Domain=a.localhost and SameSite=Strict; a new app's first request
    // (before it has seen express-session generate anything) must still send its own.
    const visitor = new Client();
    await visitor.fetch(`${a.origin}/add?item=tea`);
    const { id } = JSON.parse((await visitor.fetch(`${a.origin}/whoami`)).body) as { id: string };
    const fresh = new SqliteStore({ path: join(dir, 'sessions.sqlite') });
    stores.push(fresh);
    const origin = `http://h.localhost:${await freePort()}`;
    const h = await startExpressSite({ origin, sites: [sites[0]!, origin], store: fresh });
    try {
      const signature = createHmac('sha256', SESSION_SECRET).update(id).digest('base64').replace(/=+$/, '');
      const response = await request(`${origin}/add?item=milk`, { headers: { cookie: `h.sid=${encodeURIComponent(`s:${id}.${signature}`)}` } });
      const set = response.setCookies.find((c) => c.name === 'h.sid');
      assert.ok(set, 'the changed session is sent');
      assert.equal(set.domain, undefined, 'not site a’s Domain');
      assert.equal(String(set.sameSite).toLowerCase(), 'lax');
    } finally {
      await h.close();
    }
  });
});
