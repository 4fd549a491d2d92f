import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { after, before, describe, it } from 'node:test';
import type { RejectedEvent, WarningEvent } from 'shared-session';
import { SqliteStore } from 'shared-session/sqlite';
import { Purpose } from '../../src/core/token.ts';
import { linkedVisitor, pageOf, scriptSources, startExpressSite, type ExpressSite } from '../helpers/express-site.ts';
import { Client, NAVIGATION_HEADERS, request, type Response } from '../helpers/http.ts';
import { freePort } from '../helpers/ports.ts';
import { craftPush, scriptLoad, sealer, tokenOf } from '../helpers/push.ts';
import { SESSION_SECRET } from '../helpers/sites.ts';

const CHROME = { 'user-agent': NAVIGATION_HEADERS['user-agent'] as string };
const VOUCHER = 'shared-session.voucher';

/** Who a site says the visitor is: `id` is null while the session has no cart. */
async function whoami(visitor: Client, origin: string): Promise<{ id: string | null; cart: string[] }> {
  return JSON.parse((await visitor.fetch(`${origin}/whoami`)).body) as { id: string | null; cart: string[] };
}

/** A response a shared cache must never hand to another visitor, whatever the route said. */
function assertPrivate(response: Response, label: string): void {
  assert.equal(response.headers['cache-control'], 'private, no-store', label);
  const vary = String(response.headers.vary ?? '').split(',').map((item) => item.trim());
  assert.ok(vary.includes('Cookie'), `${label}: Vary ${vary.join(', ')}`);
  assert.ok(vary.includes('Accept-Encoding'), `${label}: the route's own Vary is kept`);
}

describe('Express adapter over express-session', () => {
  let dir: string;
  let file: string;
  let store: SqliteStore;
  const stores: SqliteStore[] = [];
  let a: ExpressSite;
  let b: ExpressSite;
  let c: ExpressSite;
  let sites: string[];
  const rejected: RejectedEvent[] = [];
  const warnings: WarningEvent[] = [];

  // One store instance per site on one file, as with one process per site: express-session
  // writes its generate() onto the store instance, so sites must never share an instance.
  const own = (): SqliteStore => {
    const instance = new SqliteStore({ path: file });
    stores.push(instance);
    return instance;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shared-session-adapter-'));
    writeFileSync(join(dir, 'page.tpl'), '<main>page</main>{{loader}}');
    file = join(dir, 'sessions.sqlite');
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
      // Routes that would let a shared cache keep the page: before res.render, and after shared.loader.
      app.get('/cached', (_req, res) => {
        res.set({ 'cache-control': 'public, max-age=600', vary: 'Accept-Encoding' });
        res.render('page.tpl');
      });
      app.get('/cached-manual', async (req, res) => {
        const html = await shared.loader(req, res);
        res.set({ 'cache-control': 'public, max-age=600', vary: 'Accept-Encoding' });
        res.type('html').send(`<main>page</main>${html}`);
      });
      // Headers handed to res.writeHead itself, which Node lets override those set before.
      app.get('/cached-raw', async (req, res) => {
        const html = await shared.loader(req, res);
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'public, max-age=600', vary: 'Accept-Encoding' });
        res.end(`<main>page</main>${html}`);
      });
    };
    // Site a keeps its cookie on its own host with Strict; b and c use Lax: the adapter must never mix them up.
    a = await startExpressSite({ origin: sites[0]!, sites, store: own(), routes, session: { cookie: { sameSite: 'strict', domain: 'a.localhost', maxAge: 3_600_000 } } });
    b = await startExpressSite({ origin: sites[1]!, sites, store: own(), routes, session: { saveUninitialized: true, resave: true } });
    c = await startExpressSite({ origin: sites[2]!, sites, store: own(), routes });
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

  it('mints only for a linked session, only in a browser that keeps third-party cookies, and once per site', async () => {
    const visitor = new Client();
    await visitor.fetch(`${a.origin}/add?item=tea`);
    // No page load has linked this session yet: its receiver would have no epoch to join.
    assert.deepEqual(scriptSources((await visitor.fetch(`${a.origin}/page`, { headers: CHROME })).body), []);
    await visitor.navigate(`${a.origin}/`);
    // Firefox partitions third-party cookies and Safari blocks them: a voucher set there is never seen on a visit.
    for (const agent of [
      'Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0',
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.0 Safari/605.1.15',
    ]) {
      assert.deepEqual(scriptSources((await visitor.fetch(`${a.origin}/page`, { headers: { 'user-agent': agent } })).body), [], agent);
    }
    const first = scriptSources((await visitor.fetch(`${a.origin}/page`, { headers: CHROME })).body);
    assert.deepEqual(first.map((src) => new URL(src).origin), [b.origin, c.origin]);
    // Each target is recorded as pushed: the next page mints nothing, before any script was even fetched.
    assert.deepEqual(scriptSources((await visitor.fetch(`${a.origin}/page`, { headers: CHROME })).body), []);
  });

  it('fills res.locals.sharedSessionLoader before res.render: one script per other site, with the CSP nonce', async () => {
    const visitor = await linkedVisitor(a.origin);
    const { id } = await whoami(visitor, a.origin);
    const response = await pageOf(visitor, `${a.origin}/add-and-render`);
    const sources = scriptSources(response.body);
    assert.deepEqual(sources.map((src) => new URL(src).origin), [b.origin, c.origin]);
    assert.match(response.body, /<script src="[^"]+" async referrerpolicy="origin" nonce="n0nce&quot;&lt;"><\/script>/);
    for (const src of sources) {
      assert.match(new URL(src).pathname, /^\/shared-session\/[A-Za-z0-9_-]+\.js$/);
      const opened = await sealer.open(Purpose.push, tokenOf(src));
      assert.ok(opened.ok);
      assert.equal(opened.payload.src, a.origin);
      assert.equal(opened.payload.dst, new URL(src).origin);
      assert.equal(opened.payload.sid, id);
    }
  });

  it('stops minting for sites that hold the session', async () => {
    const visitor = await linkedVisitor(a.origin);
    // b's first page load asks a (the hub), which answers with the session: b holds it now.
    await visitor.navigate(`${b.origin}/`);
    assert.deepEqual((await whoami(visitor, b.origin)).cart, ['tea']);
    const sources = scriptSources((await pageOf(visitor, `${a.origin}/page`)).body);
    assert.deepEqual(sources.map((src) => new URL(src).origin), [c.origin]);
  });

  it('saves a brand-new session before minting, so the other site can find it', async () => {
    // With the hop off the loader needs no link, so a session the route itself creates is
    // pushed in the same response: it must be in the store before its id goes into a token.
    const origin = `http://p.localhost:${await freePort()}`;
    const p = await startExpressSite({
      origin,
      sites: [sites[0]!, origin],
      store: own(),
      shared: { hop: false },
      routes: (app, shared) => {
        app.get('/manual', async (req, res) => {
          req.session.cart = ['manual'];
          const html = await shared.loader(req, res, { nonce: 'abc' });
          const stored = await new Promise((resolve) => store.get(req.sessionID, (_e, s) => resolve(s)));
          res.json({ html, stored: Boolean(stored) });
        });
      },
    });
    try {
      const response = await new Client().fetch(`${origin}/manual`, { headers: CHROME });
      const body = JSON.parse(response.body) as { html: string; stored: boolean };
      assert.deepEqual(scriptSources(body.html).map((src) => new URL(src).origin), [a.origin]);
      assert.equal(body.stored, true);
      assert.match(body.html, /nonce="abc"/);
    } finally {
      await p.close();
    }
  });

  it('mints nothing for a Host that is not a configured site', async () => {
    const visitor = await linkedVisitor(a.origin);
    const cookie = [...visitor.cookies(a.origin)].map(([k, v]) => `${k}=${v}`).join('; ');
    const seen = rejected.length;
    const response = await request(`${a.origin}/page`, { headers: { ...CHROME, host: 'evil.localhost', cookie } });
    assert.equal(response.body, '<main>page</main>');
    assert.ok(rejected.slice(seen).some((event) => event.reason === 'UNKNOWN_HOST' && event.mechanism === 'loader'));
  });

  it('answers a push with a voucher cookie only, and leaves the receiving site’s session to its next page load', async () => {
    const visitor = await linkedVisitor(a.origin, 'tea', [b.origin]);
    const { id } = await whoami(visitor, a.origin);
    const toB = scriptSources((await pageOf(visitor, `${a.origin}/page`)).body).find((src) => src.startsWith(b.origin))!;
    const pushed = await visitor.fetch(toB, { headers: scriptLoad(a.origin) });
    assert.equal(pushed.status, 200);
    assert.equal(pushed.headers['shared-session-reason'], 'ACCEPTED');
    assert.equal(pushed.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(pushed.headers['cache-control'], 'no-store');
    assert.equal(pushed.headers['cross-origin-resource-policy'], 'cross-origin');
    assert.equal(pushed.headers['x-content-type-options'], 'nosniff');
    assert.equal(pushed.body, '');
    // Never b's session cookie: a cross-site script load does not carry b's own (Lax) one, so
    // b could not tell what it would overwrite. A third-party cookie, readable on b's next visit.
    assert.deepEqual(pushed.setCookies.map((cookie) => cookie.name), [VOUCHER]);
    const voucher = pushed.setCookies[0]!;
    assert.equal(voucher.sameSite, 'none');
    assert.equal(voucher.secure, true);
    assert.equal(voucher.httpOnly, true);
    assert.equal(voucher.path, '/');
    assert.equal(voucher.domain, undefined);
    const opened = await sealer.open(Purpose.voucher, voucher.value ?? '');
    assert.ok(opened.ok);
    assert.deepEqual([opened.payload.src, opened.payload.dst, opened.payload.sid], [a.origin, b.origin, id]);

    // A request that is no page load leaves the voucher where it is.
    assert.deepEqual((await whoami(visitor, b.origin)).cart, []);
    assert.ok(visitor.cookies(b.origin).has(VOUCHER));
    // The next top-level page load takes it: no hop, b's own session cookie, the voucher deleted.
    const visit = await visitor.fetch(`${b.origin}/whoami`, { headers: NAVIGATION_HEADERS });
    assert.equal(visit.status, 200);
    assert.deepEqual(JSON.parse(visit.body), { id, cart: ['tea'] });
    const session = visit.setCookies.find((cookie) => cookie.name === 'b.sid');
    assert.ok(session, 'b sends its own session cookie');
    assert.equal(session.sameSite, 'lax');
    assert.equal(session.secure, undefined);
    assert.equal(session.domain, undefined, 'never site a’s Domain');
    assert.equal(visit.setCookies.find((cookie) => cookie.name === VOUCHER)?.maxAge, 0);
    assert.equal(visit.headers['cache-control'], 'private, no-store');
    assert.ok(!visitor.cookies(b.origin).has(VOUCHER));
  });

  it('takes a voucher with the receiving site’s own cookie settings: a’s Domain and SameSite=Strict, then b’s own again', async () => {
    const visitor = await linkedVisitor(b.origin, 'milk', [a.origin]);
    const toA = scriptSources((await pageOf(visitor, `${b.origin}/page`)).body).find((src) => src.startsWith(a.origin))!;
    assert.equal((await visitor.fetch(toA, { headers: scriptLoad(b.origin) })).headers['shared-session-reason'], 'ACCEPTED');
    const visit = await visitor.fetch(`${a.origin}/whoami`, { headers: NAVIGATION_HEADERS });
    assert.deepEqual((JSON.parse(visit.body) as { cart: string[] }).cart, ['milk']);
    const onA = visit.setCookies.find((cookie) => cookie.name === 'a.sid');
    assert.ok(onA, 'a sends its own session cookie');
    assert.equal(onA.domain, 'a.localhost');
    assert.equal(onA.sameSite, 'strict');
    // Back on b, after a saved the record with a's attributes, b sends its own again.
    const onB = (await visitor.fetch(`${b.origin}/add?item=tea`)).setCookies.find((cookie) => cookie.name === 'b.sid');
    assert.ok(onB, 'the changed session is sent');
    assert.equal(onB.domain, undefined);
    assert.equal(onB.sameSite, 'lax');
  });

  it('never lets a voucher replace a non-empty session of the receiving site, unless alwaysReplace', async () => {
    const visitor = await linkedVisitor(a.origin, 'from-a', [b.origin]);
    const { id } = await whoami(visitor, a.origin);
    await visitor.fetch(`${b.origin}/add?item=own`);
    const ownOnB = await whoami(visitor, b.origin);
    const toB = scriptSources((await pageOf(visitor, `${a.origin}/page`)).body).find((src) => src.startsWith(b.origin))!;
    assert.equal((await visitor.fetch(toB, { headers: scriptLoad(a.origin) })).headers['shared-session-reason'], 'ACCEPTED');
    await visitor.navigate(`${b.origin}/`);
    assert.ok(!visitor.cookies(b.origin).has(VOUCHER), 'the voucher is used up all the same');
    assert.deepEqual(await whoami(visitor, b.origin), ownOnB);

    const origin = `http://r.localhost:${await freePort()}`;
    // Push only (no hop, so no epochs to bind a voucher to): alwaysReplace as the original package has it.
    const r = await startExpressSite({ origin, sites: [sites[0]!, origin], store: own(), shared: { alwaysReplace: true, hop: false } });
    try {
      await visitor.fetch(`${origin}/add?item=own`);
      const push = await visitor.fetch(`${origin}/shared-session/${await craftPush(a.origin, origin, id!)}.js`, { headers: scriptLoad(a.origin) });
      assert.equal(push.headers['shared-session-reason'], 'ACCEPTED');
      await visitor.navigate(`${origin}/`);
      assert.deepEqual(await whoami(visitor, origin), { id, cart: ['from-a'] });
    } finally {
      await r.close();
    }
  });

  it('keeps a page with a loader, and one that sets the link cookie, out of shared caches whatever the route sets', async () => {
    // The page a hop returns to sets the link cookie; this route sets its headers after the middleware ran.
    const steps = await new Client().navigate(`${a.origin}/cached-manual`);
    const landed = steps.at(-1)!;
    assert.ok(steps.length > 1, 'a first visit hops');
    assert.ok(landed.setCookies.some((cookie) => cookie.name === 'shared-session.link'));
    assert.deepEqual(scriptSources(landed.body), []);
    assertPrivate(landed, 'link cookie');
    // A loader through res.render (the route set its headers before) and through shared.loader (after).
    for (const path of ['/cached', '/cached-manual']) {
      const page = await pageOf(await linkedVisitor(a.origin), `${a.origin}${path}`);
      assert.equal(scriptSources(page.body).length, 2, path);
      assert.ok(!page.setCookies.some((cookie) => cookie.name.startsWith('shared-session.')), `${path}: no core cookie, the loader alone`);
      assertPrivate(page, path);
    }
    // Neither: the route's own headers stand.
    assert.equal((await request(`${a.origin}/cached`)).headers['cache-control'], 'public, max-age=600');
  });

  it('keeps them out of shared caches when the route hands its own headers to res.writeHead', async () => {
    const landed = (await new Client().navigate(`${a.origin}/cached-raw`)).at(-1)!;
    assert.ok(landed.setCookies.some((cookie) => cookie.name === 'shared-session.link'));
    assertPrivate(landed, 'link cookie');
    const page = await pageOf(await linkedVisitor(a.origin), `${a.origin}/cached-raw`);
    assert.equal(scriptSources(page.body).length, 2);
    assertPrivate(page, 'loader');
  });

  it('leaves no trace for a refused token, nor for an accepted one, even with saveUninitialized and resave on', async () => {
    const client = new Client();
    await client.fetch(`${b.origin}/add?item=keep`);
    const before = await snapshot();
    const forged = await craftPush(a.origin, c.origin, 'x');
    for (const token of ['not$base64', forged, 'A'.repeat(3000)]) {
      const response = await client.fetch(`${b.origin}/shared-session/${token}.js`, { headers: scriptLoad(a.origin) });
      assert.ok(response.status >= 400, `status ${response.status}`);
      assert.equal(response.setCookies.length, 0);
    }
    // A valid token fetched as a page (a link to it, anywhere) is no script load.
    const valid = await craftPush(a.origin, b.origin, 'some-session');
    const navigated = await client.fetch(`${b.origin}/shared-session/${valid}.js`, { headers: { ...NAVIGATION_HEADERS, referer: `${a.origin}/` } });
    assert.equal(navigated.headers['shared-session-reason'], 'NOT_A_SCRIPT_LOAD');
    assert.equal(navigated.setCookies.length, 0);
    // A visitor without a cookie, too: express-session would otherwise save and set an empty session.
    const stranger = await request(`${b.origin}/shared-session/${forged}.js`, { headers: scriptLoad(a.origin) });
    assert.equal(stranger.setCookies.length, 0);
    assert.equal(await snapshot(), before);
    // Accepted, the push sets its voucher and nothing else: it writes no session.
    const accepted = await client.fetch(`${b.origin}/shared-session/${valid}.js`, { headers: scriptLoad(a.origin) });
    assert.equal(accepted.headers['shared-session-reason'], 'ACCEPTED');
    assert.deepEqual(accepted.setCookies.map((cookie) => cookie.name), [VOUCHER]);
    assert.equal(await snapshot(), before);
  });

  it('answers 503 and warns when shared-session is mounted before express-session', async () => {
    const origin = `http://w.localhost:${await freePort()}`;
    const w = await startExpressSite({ origin, sites: [sites[0]!, origin], store: own(), wrongOrder: true });
    const seen: WarningEvent[] = [];
    w.shared.on('warning', (event) => seen.push(event));
    try {
      const response = await request(`${origin}/shared-session/${await craftPush(a.origin, origin, 'x')}.js`, { headers: scriptLoad(a.origin) });
      assert.equal(response.status, 503);
      assert.equal(response.headers['shared-session-reason'], 'STORE_UNAVAILABLE');
      assert.ok(seen.some((event) => event.code === 'NO_SESSION'));
    } finally {
      await w.close();
    }
  });

  it('turns a failing store into 503 STORE_UNAVAILABLE and a warning, never a 500', async () => {
    const broken = new SqliteStore({ path: join(dir, 'broken.sqlite') });
    const port = await freePort();
    const origin = `http://d.localhost:${port}`;
    const d = await startExpressSite({ origin, sites: [sites[0]!, origin], store: broken });
    const seen: WarningEvent[] = [];
    d.shared.on('warning', (event) => seen.push(event));
    const token = await craftPush(a.origin, origin, 'some-session');
    broken.close();
    const response = await request(`${origin}/shared-session/${token}.js`, { headers: scriptLoad(a.origin) });
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
      // Without the hop the loader mints for the session the route creates: one page shows it all.
      shared: { hop: false },
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
      const twice = await visitor.fetch(`${origin}/twice`, { headers: NAVIGATION_HEADERS });
      assert.equal(twice.status, 200);
      assert.equal(scriptSources(twice.body).length, 1, 'one loader, one script for the other site');
      assert.equal(twice.setCookies.filter((c) => c.name === 'f.sid').length, 1);
      const failed = await visitor.fetch(`${origin}/no-engine`, { headers: NAVIGATION_HEADERS });
      assert.equal(failed.status, 500, 'Express’s own error handling answered');
    } finally {
      await f.close();
    }
  });

  it('writes a session once per request: none for the push, one for the voucher’s adoption, no touch after save-first', async () => {
    // Save-first saves before responding; express-session then saves again after an id
    // change (an adoption, a login) and touches otherwise. Count what reaches the database.
    const counted = own();
    const calls = { read: 0, write: 0, refresh: 0 };
    const inner = counted as unknown as Record<'read' | 'write' | 'refresh', (...args: unknown[]) => unknown>;
    for (const name of ['read', 'write', 'refresh'] as const) {
      const original = inner[name].bind(counted);
      inner[name] = (...args: unknown[]) => {
        calls[name]++;
        return original(...args);
      };
    }
    const origin = `http://g.localhost:${await freePort()}`;
    // Push only: a voucher here is taken without an epoch to bind it to (see the hop's case above).
    const g = await startExpressSite({ origin, sites: [sites[0]!, origin], store: counted, shared: { hop: false } });
    try {
      const visitor = new Client();
      await visitor.fetch(`${a.origin}/add?item=tea`);
      const { id } = await whoami(visitor, a.origin);
      const pushed = await visitor.fetch(`${origin}/shared-session/${await craftPush(a.origin, origin, id!)}.js`, { headers: scriptLoad(a.origin) });
      assert.equal(pushed.headers['shared-session-reason'], 'ACCEPTED');
      await new Promise((resolve) => setTimeout(resolve, 50)); // a save after the response would land now
      assert.deepEqual(calls, { read: 0, write: 0, refresh: 0 }, 'the push reads and writes no session');
      await visitor.fetch(`${origin}/`, { headers: NAVIGATION_HEADERS });
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual({ write: calls.write, refresh: calls.refresh }, { write: 1, refresh: 0 }, 'one write for the adoption');
      await visitor.fetch(`${origin}/add?item=milk`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual({ write: calls.write, refresh: calls.refresh }, { write: 2, refresh: 0 }, 'one write for a change');
      assert.deepEqual((await whoami(visitor, origin)).cart, ['tea', 'milk']);
    } finally {
      await g.close();
    }
  });

  it('gives the very first request of a new app its own cookie settings, for a session another site saved', async () => {
    // Site a saves with Domain=a.localhost and SameSite=Strict; a new app's first request
    // (before it has seen express-session generate anything) must still send its own.
    const visitor = new Client();
    await visitor.fetch(`${a.origin}/add?item=tea`);
    const { id } = await whoami(visitor, a.origin);
    const fresh = own();
    const origin = `http://h.localhost:${await freePort()}`;
    const h = await startExpressSite({ origin, sites: [sites[0]!, origin], store: fresh });
    try {
      const signature = createHmac('sha256', SESSION_SECRET).update(id!).digest('base64').replace(/=+$/, '');
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
