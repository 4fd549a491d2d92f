import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { serve, type ServerType } from '@hono/node-server';
import { sharedSessionHandler, type Pass } from 'shared-session/fetch';
import { SqliteStore } from 'shared-session/sqlite';
import { Client, NAVIGATION_HEADERS, request } from '../helpers/http.ts';
import { freePort } from '../helpers/ports.ts';
import { SESSION_SECRET, SHARED_SECRET } from '../helpers/sites.ts';
import { startHonoSite, type HonoSite } from '../spec/sites/hono.ts';

/** Every write the sites make to the store, counted on the real store (the calls go through). */
function counting(store: SqliteStore): { store: SqliteStore; writes: string[] } {
  const writes: string[] = [];
  for (const method of ['set', 'touch', 'destroy'] as const) {
    const original = store[method].bind(store) as (...args: unknown[]) => unknown;
    (store as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
      writes.push(`${method} ${String(args[0])}`);
      return original(...args);
    };
  }
  return { store, writes };
}

async function whoami(visitor: Client, origin: string): Promise<{ id: string | null; user: string | null; cart: string[] }> {
  return JSON.parse((await visitor.fetch(`${origin}/whoami`)).body) as { id: string | null; user: string | null; cart: string[] };
}

describe('the Web session layer (shared-session/fetch) on a real store', () => {
  let dir: string;
  let store: SqliteStore;
  let writes: string[];
  let site: HonoSite;
  let rolling: HonoSite;
  let origin: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shared-session-web-session-'));
    ({ store, writes } = counting(new SqliteStore({ path: join(dir, 'sessions.sqlite') })));
    origin = `http://a.localhost:${await freePort()}`;
    const other = `http://b.localhost:${await freePort()}`;
    site = await startHonoSite({
      origin,
      sites: [origin, other],
      store,
      routes: (app) => {
        app.get('/remember', (c) => {
          const session = c.get('session');
          session.data.user = 'ann';
          session.maxAge = 30 * 86_400_000;
          return c.text('remembered\n');
        });
        // Slow on purpose, so that two requests overlap: each changes its own key.
        app.get('/slow-set', async (c) => {
          const session = c.get('session');
          session.data[c.req.query('key') ?? 'key'] = 'set';
          await new Promise((resolve) => setTimeout(resolve, 100));
          return c.text('set\n');
        });
        app.get('/browser-session', (c) => {
          c.get('session').maxAge = null;
          return c.text('ok\n');
        });
      },
    });
    const rollingOrigin = `http://r.localhost:${await freePort()}`;
    rolling = await startHonoSite({ origin: rollingOrigin, sites: [rollingOrigin, other], store, session: { rolling: true } });
  });

  after(async () => {
    await Promise.all([site.close(), rolling.close()]);
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sets a signed, HttpOnly, SameSite=Lax cookie with the lifetime of maxAge, and stores express-session’s record shape', async () => {
    const visitor = new Client();
    const before = Date.now();
    const response = await visitor.fetch(`${origin}/add?item=tea`);
    const [cookie] = response.setCookies;
    assert.equal(response.setCookies.length, 1);
    assert.equal(cookie?.name, 'a.sid');
    assert.equal(cookie?.httpOnly, true);
    assert.equal(cookie?.sameSite, 'lax');
    assert.equal(cookie?.path, '/');
    assert.equal(cookie?.secure, undefined, 'no Secure on http');
    assert.equal(cookie?.domain, undefined);
    const expires = cookie?.expires?.getTime() ?? 0;
    assert.ok(Math.abs(expires - (before + 3_600_000)) < 5_000, `expires ${new Date(expires).toISOString()}`);
    const [id, signature] = (cookie?.value ?? '').split('.');
    assert.match(id ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.equal(signature, createHmac('sha256', SESSION_SECRET).update(id ?? '').digest('base64url'));
    const record = (await store.get(id!)) as Record<string, unknown> & { cookie: Record<string, unknown> };
    assert.deepEqual(record.cart, ['tea']);
    assert.equal(record.cookie.originalMaxAge, 3_600_000);
    assert.ok(Math.abs(Date.parse(String(record.cookie.expires)) - expires) < 1_000);
    assert.equal(record.cookie.httpOnly, true);
    assert.equal(record.cookie.sameSite, 'lax');
    assert.equal(record.cookie.path, '/');
    assert.deepEqual((await whoami(visitor, origin)).cart, ['tea']);
  });

  it('writes nothing for requests without a cookie (a bot), nor for a session that did not change', async () => {
    writes.length = 0;
    const bot = new Client({ cookieless: true });
    for (const path of ['/', '/whoami', '/page', '/shared-session/health']) {
      const response = await bot.fetch(`${origin}${path}`, { headers: NAVIGATION_HEADERS });
      assert.equal(response.setCookies.filter((cookie) => cookie.name === 'a.sid').length, 0, path);
    }
    assert.deepEqual(writes, []);
    const visitor = new Client();
    await visitor.fetch(`${origin}/add?item=tea`);
    assert.equal(writes.length, 1);
    const unchanged = await visitor.fetch(`${origin}/whoami`);
    assert.equal(unchanged.setCookies.length, 0, 'no cookie for an unchanged session');
    await visitor.fetch(`${origin}/whoami`);
    assert.equal(writes.length, 1, writes.join(', '));
    await visitor.fetch(`${origin}/add?item=jam`);
    assert.equal(writes.length, 2);
  });

  it('gives a fresh session for an unknown, malformed or forged cookie, writes nothing, and clears the cookie', async () => {
    const owner = new Client();
    await owner.fetch(`${origin}/add?item=secret`);
    const [ownerId] = (owner.cookies(origin).get('a.sid') ?? '').split('.');
    const unknownId = 'x'.repeat(43);
    const cookies = {
      'an unsigned id of a real session': ownerId!,
      'a real id signed with another secret': `${ownerId}.${createHmac('sha256', 'another-secret-0123456789-0123456789').update(ownerId!).digest('base64url')}`,
      'a real id with a truncated signature': `${owner.cookies(origin).get('a.sid')!.slice(0, -3)}`,
      'an unknown id, correctly signed': `${unknownId}.${createHmac('sha256', SESSION_SECRET).update(unknownId).digest('base64url')}`,
      garbage: '%%%.;;;',
      'an id of the wrong shape, signed': `a.b.${createHmac('sha256', SESSION_SECRET).update('a.b').digest('base64url')}`,
    };
    writes.length = 0;
    for (const [label, value] of Object.entries(cookies)) {
      const response = await request(`${origin}/whoami`, { headers: { cookie: `a.sid=${value}` } });
      assert.equal(response.status, 200, label);
      assert.deepEqual(JSON.parse(response.body), { id: null, user: null, cart: [] }, label);
      const [cleared] = response.setCookies;
      assert.equal(cleared?.name, 'a.sid', label);
      assert.equal(cleared?.value, '', label);
      assert.ok((cleared?.expires?.getTime() ?? 1) <= Date.now(), label);
    }
    assert.deepEqual(writes, []);
    // A forged cookie that then adds data gets a new session of its own, never the owner's.
    const forger = new Client();
    forger.cookies(origin).set('a.sid', ownerId!);
    await forger.fetch(`${origin}/add?item=mine`);
    assert.deepEqual((await whoami(forger, origin)).cart, ['mine']);
    assert.deepEqual((await whoami(owner, origin)).cart, ['secret']);
  });

  it('regenerates at login (new id, the old one destroyed) and destroys at logout (gone from the store, cookie cleared)', async () => {
    const visitor = new Client();
    await visitor.fetch(`${origin}/add?item=tea`);
    const before = await whoami(visitor, origin);
    const login = await visitor.post(`${origin}/login`, { user: 'ann' });
    assert.equal(login.status, 303);
    assert.equal(login.setCookies.length, 1);
    const after = await whoami(visitor, origin);
    assert.notEqual(after.id, before.id);
    assert.equal(after.user, 'ann');
    assert.deepEqual(after.cart, ['tea']);
    assert.equal(await store.get(before.id!), null);
    const loggedIn = visitor.cookies(origin).get('a.sid')!;
    const logout = await visitor.post(`${origin}/logout`, {});
    assert.equal(logout.status, 303);
    assert.equal(logout.setCookies[0]?.value, '');
    assert.equal(visitor.cookies(origin).has('a.sid'), false);
    assert.equal(await store.get(after.id!), null);
    // The old cookie, replayed after the logout, is no session (destroyed stays destroyed).
    const replay = await request(`${origin}/whoami`, { headers: { cookie: `a.sid=${loggedIn}` } });
    assert.deepEqual(JSON.parse(replay.body), { id: null, user: null, cart: [] });
  });

  it('keeps both of two overlapping changes to different keys (the store merges, as for express-session)', async () => {
    const visitor = new Client();
    await visitor.fetch(`${origin}/add?item=tea`);
    await Promise.all([visitor.fetch(`${origin}/slow-set?key=left`), visitor.fetch(`${origin}/slow-set?key=right`)]);
    const id = visitor.cookies(origin).get('a.sid')!.split('.')[0]!;
    const record = (await store.get(id)) as Record<string, unknown>;
    assert.deepEqual([record.left, record.right, record.cart], ['set', 'set', ['tea']]);
  });

  it('refuses a planted session at login: the attacker’s own valid cookie does not ride into the victim’s login', async () => {
    const attacker = new Client();
    await attacker.fetch(`${origin}/add?item=bait`);
    const planted = attacker.cookies(origin).get('a.sid')!;
    const victim = new Client();
    victim.cookies(origin).set('a.sid', planted);
    await victim.post(`${origin}/login`, { user: 'victim' });
    assert.notEqual(victim.cookies(origin).get('a.sid'), planted);
    assert.equal((await whoami(victim, origin)).user, 'victim');
    assert.deepEqual(await whoami(attacker, origin), { id: null, user: null, cart: [] }, 'the planted id is destroyed, not logged in');
  });

  it('keeps a lifetime per session: remember-me’s 30 days, or a browser-session cookie', async () => {
    const visitor = new Client();
    const response = await visitor.fetch(`${origin}/remember`);
    const expires = response.setCookies[0]?.expires?.getTime() ?? 0;
    assert.ok(Math.abs(expires - (Date.now() + 30 * 86_400_000)) < 5_000);
    const id = visitor.cookies(origin).get('a.sid')!.split('.')[0]!;
    assert.equal(((await store.get(id)) as { cookie: { originalMaxAge: number } }).cookie.originalMaxAge, 30 * 86_400_000);
    // A later change keeps the session's own lifetime, not the site's one hour.
    const later = await visitor.fetch(`${origin}/add?item=jam`);
    assert.ok(Math.abs((later.setCookies[0]?.expires?.getTime() ?? 0) - (Date.now() + 30 * 86_400_000)) < 5_000);
    const session = await visitor.fetch(`${origin}/browser-session`);
    assert.equal(session.setCookies[0]?.expires, undefined, 'a browser-session cookie has no Expires');
    assert.equal(((await store.get(id)) as { cookie: { originalMaxAge: unknown; expires: unknown } }).cookie.originalMaxAge, null);
  });

  it('with rolling, re-sends the cookie and moves the stored expiry on every response', async () => {
    const visitor = new Client();
    await visitor.fetch(`${rolling.origin}/add?item=tea`);
    writes.length = 0;
    const response = await visitor.fetch(`${rolling.origin}/whoami`);
    assert.equal(response.setCookies.length, 1);
    assert.equal(writes.length, 1);
    assert.match(writes[0] ?? '', /^touch /);
  });

  it('answers 503 and sets no cookie when the store fails, never a 500', async () => {
    const brokenDir = mkdtempSync(join(tmpdir(), 'shared-session-web-broken-'));
    const broken = new SqliteStore({ path: join(brokenDir, 'sessions.sqlite') });
    const brokenOrigin = `http://x.localhost:${await freePort()}`;
    const x = await startHonoSite({ origin: brokenOrigin, sites: [brokenOrigin, origin], store: broken });
    try {
      const visitor = new Client();
      await visitor.fetch(`${brokenOrigin}/add?item=tea`);
      broken.close();
      for (const path of ['/whoami', '/add?item=jam']) {
        const response = await visitor.fetch(`${brokenOrigin}${path}`);
        assert.equal(response.status, 503, path);
        assert.equal(response.setCookies.length, 0, path);
      }
      // A new visitor's change cannot be saved: 503, not an acknowledged change that was lost.
      const fresh = await new Client().fetch(`${brokenOrigin}/add?item=tea`);
      assert.equal(fresh.status, 503);
      assert.equal(fresh.setCookies.length, 0);
    } finally {
      await x.close();
      rmSync(brokenDir, { recursive: true, force: true });
    }
  });

  it('validates its options once, with stable codes', () => {
    const base = { sites: ['http://a.localhost:1', 'http://b.localhost:2'], secret: SHARED_SECRET };
    const cases: Record<string, unknown> = {
      'no session': { ...base },
      'a short secret': { ...base, session: { store, secret: 'short' } },
      'a store without get': { ...base, session: { store: {}, secret: SESSION_SECRET } },
      'an unknown session option': { ...base, session: { store, secret: SESSION_SECRET, resave: true } },
      'a bad maxAge': { ...base, session: { store, secret: SESSION_SECRET, cookie: { maxAge: -1 } } },
      'a bad trustProxy': { ...base, session: { store, secret: SESSION_SECRET }, trustProxy: 'yes' },
      'an unknown core option': { ...base, session: { store, secret: SESSION_SECRET }, hopp: true },
    };
    for (const [label, options] of Object.entries(cases)) {
      assert.throws(() => sharedSessionHandler(options as Parameters<typeof sharedSessionHandler>[0]), { code: 'ERR_SHARED_SESSION_OPTION' }, label);
    }
  });
});

describe('the fetch handler on a bare Fetch-API server (as Bun, Deno or a route handler call it)', () => {
  let dir: string;
  let store: SqliteStore;
  const servers: ServerType[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'shared-session-web-fetch-'));
    store = new SqliteStore({ path: join(dir, 'sessions.sqlite') });
  });
  after(async () => {
    for (const server of servers) await new Promise<void>((resolve) => server.close(() => resolve()));
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A site that answers every request with the host and scheme the core saw, via the hop's origin. */
  async function start(origins: readonly string[], trustProxy: boolean | undefined, port: number): Promise<void> {
    const shared = sharedSessionHandler({
      sites: origins,
      secret: SHARED_SECRET,
      hubProbe: false,
      ...(trustProxy === undefined ? {} : { trustProxy }),
      session: { store, secret: SESSION_SECRET },
    });
    const fetch = async (request: Request): Promise<Response> => {
      const result = await shared.handle(request);
      if (result.response) return result.response;
      result.session.data.seen = true;
      return result.finish(new Response('page\n', { headers: { 'cache-control': 'public, max-age=60' } }));
    };
    await new Promise<void>((resolve) => servers.push(serve({ fetch, port, hostname: '127.0.0.1' }, () => resolve())));
  }

  it('takes host and scheme from the URL, and ignores X-Forwarded-* unless trustProxy: a direct request cannot forge them', async () => {
    const origins = ['https://a.example', 'https://b.example'];
    const untrusted = await freePort();
    const trusted = await freePort();
    await start(origins, undefined, untrusted);
    await start(origins, true, trusted);
    const forged = { ...NAVIGATION_HEADERS, 'x-forwarded-proto': 'https', 'x-forwarded-host': 'b.example' };
    // Untrusted: the Host (127.0.0.1:port) is no configured site: no hop, only the app's own session cookie.
    const direct = await request(`http://127.0.0.1:${untrusted}/cart`, { headers: forged });
    assert.equal(direct.status, 200);
    assert.deepEqual(direct.setCookies.map((cookie) => cookie.name), ['sid']);
    assert.equal(direct.setCookies[0]?.secure, undefined, 'http stays http: no Secure from a forged X-Forwarded-Proto');
    // A hop to the library's route on this untrusted server: refused by host.
    const refused = await request(`http://127.0.0.1:${untrusted}/shared-session/hop`, { headers: forged });
    assert.equal(refused.status, 421);
    assert.equal(refused.headers['shared-session-reason'], 'UNKNOWN_HOST');
    // Trusted (behind the proxy): b.example over https, so the first page load hops to the hub.
    const proxied = await request(`http://127.0.0.1:${trusted}/cart`, { headers: forged });
    assert.equal(proxied.status, 303);
    assert.match(proxied.headers.location ?? '', /^https:\/\/a\.example\/shared-session\/hop\?q=/);
    assert.ok(proxied.setCookies.every((cookie) => cookie.secure === true));
  });

  it('adds Set-Cookie to the app’s response, and replaces its public caching with private, no-store', async () => {
    const origin = `http://a.localhost:${await freePort()}`;
    await start([origin, 'http://b.localhost:1'], undefined, Number(new URL(origin).port));
    const response = await request(`${origin}/api`, {});
    assert.equal(response.status, 200);
    assert.equal(response.body, 'page\n');
    assert.equal(response.setCookies[0]?.name, 'sid');
    assert.equal(response.headers['cache-control'], 'private, no-store');
    assert.equal(response.headers.vary, 'Cookie');
  });

  it('finish adds to the app’s own Response (what the runtime set implicitly stays), and copies one whose headers are immutable (a fetch() result)', async () => {
    const shared = sharedSessionHandler({ sites: ['http://a.localhost:1', 'http://b.localhost:1'], secret: SHARED_SECRET, hubProbe: false, session: { store, secret: SESSION_SECRET } });
    const pass = async (): Promise<Pass> => {
      const result = await shared.handle(new Request('http://a.localhost:1/api'));
      assert.ok(!result.response);
      result.session.data.seen = true;
      return result;
    };
    // Mutable: the same object, so that Bun's implicit text/plain (kept out of `headers` until sent) is not lost to a copy.
    const own = new Response('page\n');
    const finished = await (await pass()).finish(own);
    assert.equal(finished, own);
    assert.match(finished.headers.get('set-cookie') ?? '', /^sid=/);
    assert.equal(finished.headers.get('cache-control'), 'private, no-store');
    // Immutable (a fetch() result; this file's @hono/node-server swaps the global Response for one whose redirects are mutable): a copy with everything.
    const fetched = await fetch('data:text/plain,fetched');
    assert.throws(() => fetched.headers.set('x-probe', '1'), TypeError, 'a fetch() result has immutable headers');
    const copied = await (await pass()).finish(fetched);
    assert.notEqual(copied, fetched);
    assert.equal(copied.status, 200);
    assert.match(copied.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(copied.headers.get('set-cookie') ?? '', /^sid=/);
    assert.equal(await copied.text(), 'fetched');
    assert.equal(fetched.headers.get('set-cookie'), null, 'the immutable original is untouched');
  });
});
