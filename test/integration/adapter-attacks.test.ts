import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { sharedSessionHandler } from 'shared-session/fetch';
import { SqliteStore } from 'shared-session/sqlite';
import { startKoaSite } from '../helpers/koa-site.ts';
import { Client, request } from '../helpers/http.ts';
import { freePort } from '../helpers/ports.ts';
import { SHARED_SECRET } from '../helpers/sites.ts';
import { startHonoSite, type HonoSite, type HonoSiteOptions } from '../spec/sites/hono.ts';

/**
 * The attack review of the new adapters (issue 10): each attack an outsider can run against
 * the fetch handler's session layer (src/web/session.ts) on a real Hono site, with the
 * answer the library must give. Attacks the spec matrix covers for every adapter already
 * (fixation, late saves, bots, caches, forged tokens) are not repeated here.
 */

const OLD_SECRET = 'kR4v9Q2mXe7LpZ1sW8nB3cY6tH0jF5gD-old-session-secret';
const NEW_SECRET = 'Tq7Hc2Wz9Mv4Ks1Xb8Ln3Pd6Rf0Gy5Ju-new-session-secret';

/** One raw HTTP/1.1 exchange (headers a client library would refuse to send); the status line. */
function rawRequest(port: number, head: Buffer | string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(head));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

function cartOf(body: string): unknown {
  return (JSON.parse(body) as { cart: unknown }).cart;
}

function statusOf(answer: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
}

describe('attacks on the fetch handler’s session layer (shared-session/fetch, shared-session/hono)', () => {
  let dir: string;
  let store: SqliteStore;
  let sites: string[];
  const running: HonoSite[] = [];

  async function start(options: Partial<HonoSiteOptions> = {}): Promise<HonoSite> {
    const site = await startHonoSite({ origin: sites[0]!, sites, store, ...options });
    running.push(site);
    return site;
  }

  async function stop(site: HonoSite): Promise<void> {
    running.splice(running.indexOf(site), 1);
    await site.close();
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shared-session-adapter-attacks-'));
    store = new SqliteStore({ path: join(dir, 'sessions.sqlite') });
    sites = [`http://a.localhost:${await freePort()}`, `http://b.localhost:${await freePort()}`];
  });

  // A failed test leaves its site running: close it, so that the next test can listen on the origin's port.
  afterEach(async () => {
    await Promise.all(running.splice(0).map((site) => site.close()));
  });

  after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('re-signs a cookie signed by an older secret of the list, so that dropping that secret later logs nobody out', async () => {
    const origin = sites[0]!;
    let site = await start({ session: { secret: OLD_SECRET } });
    const visitor = new Client();
    await visitor.fetch(`${origin}/add?item=tea`);
    const signedOld = visitor.cookies(origin).get('a.sid')!;
    const [id] = signedOld.split('.');
    await stop(site);

    // Rotation, step 1: the new secret first, the old one still accepted.
    site = await start({ session: { secret: [NEW_SECRET, OLD_SECRET] } });
    const page = await visitor.fetch(`${origin}/whoami`);
    assert.deepEqual(cartOf(page.body), ['tea']);
    const resigned = page.setCookies.find((cookie) => cookie.name === 'a.sid');
    assert.ok(resigned, 'the cookie signed by the old secret is sent again, signed by the new one');
    assert.equal(resigned.value?.split('.')[0], id, 'same session, same id');
    assert.notEqual(resigned.value, signedOld);
    // The re-signed cookie keeps the session’s stored expiry: re-signing is no way to stretch a session.
    const stored = (await store.get(id!)) as { cookie: { expires: string } };
    assert.equal(resigned.expires?.getTime(), Math.floor(Date.parse(stored.cookie.expires) / 1000) * 1000);
    assert.match(String(page.headers['cache-control']), /no-store/);
    // A cookie signed by the newest secret is not sent again (no Set-Cookie on every response).
    assert.equal((await visitor.fetch(`${origin}/whoami`)).setCookies.length, 0);
    await stop(site);

    // Step 2: the old secret dropped. The visitor is still logged in.
    site = await start({ session: { secret: [NEW_SECRET] } });
    assert.deepEqual(cartOf((await visitor.fetch(`${origin}/whoami`)).body), ['tea']);
    // A cookie still signed by the dropped secret names nothing.
    const stale = new Client();
    stale.cookies(origin).set('a.sid', signedOld);
    const refused = await stale.fetch(`${origin}/whoami`);
    assert.deepEqual(cartOf(refused.body), []);
    await stop(site);
  });

  it('refuses a guessable session secret, also as an older entry of the list: an id from a log plus an offline guess would forge its cookie', () => {
    // Anyone gets a cookie of their own (id and signature): a guessable secret falls to an
    // offline search, and then any id a log or a dump shows becomes a cookie.
    const weak = ['my-company-session-secret-2026-x', 'a'.repeat(40), new Uint8Array(32)];
    for (const secret of weak) {
      for (const list of [secret, [NEW_SECRET, secret]]) {
        assert.throws(
          () => sharedSessionHandler({ sites: sites, secret: SHARED_SECRET, session: { store, secret: list } }),
          { code: 'ERR_SHARED_SESSION_WEAK_SECRET', message: /session\.secret/ },
          String(secret).slice(0, 20),
        );
      }
    }
    // The same secret twice in the list is a mistake, as for the core's.
    assert.throws(() => sharedSessionHandler({ sites: sites, secret: SHARED_SECRET, session: { store, secret: [NEW_SECRET, NEW_SECRET] } }), { code: 'ERR_SHARED_SESSION_OPTION' });
    assert.doesNotThrow(() => sharedSessionHandler({ sites: sites, secret: SHARED_SECRET, session: { store, secret: [NEW_SECRET, OLD_SECRET] } }));
  });

  it('refuses malformed Host headers with 400, and a Host that is no site gets neither a cookie nor a store write', async () => {
    const site = await start();
    const port = Number(new URL(sites[0]!).port);
    for (const host of ['a b', '[', 'a.localhost:99999']) {
      assert.equal(statusOf(await rawRequest(port, `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)), 400, host);
    }
    const foreign = await rawRequest(port, 'GET /shared-session/hop HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n');
    assert.equal(statusOf(foreign), 421);
    assert.doesNotMatch(foreign, /set-cookie/i);
    await stop(site);
  });

  it('answers a non-UTF-8, badly percent-encoded or huge session cookie as no session: 200, the cookie cleared, never a 500', async () => {
    const site = await start();
    const { host, port } = new URL(sites[0]!);
    const before = await store.all();
    const cookies: (string | Buffer)[] = [Buffer.from([0xff, 0xfe, 0x25, 0x45]), '%E0%A4%A', `${'x'.repeat(12_000)}.${'y'.repeat(43)}`];
    for (const value of cookies) {
      const head = Buffer.concat([Buffer.from(`GET /whoami HTTP/1.1\r\nHost: ${host}\r\nCookie: a.sid=`), Buffer.from(value), Buffer.from('\r\nConnection: close\r\n\r\n')]);
      const answer = await rawRequest(Number(port), head);
      assert.equal(statusOf(answer), 200, String(value).slice(0, 20));
      assert.match(answer, /set-cookie: a\.sid=; Path=\/; Expires=Thu, 01 Jan 1970/i);
    }
    assert.deepEqual(await store.all(), before, 'no store write');
    await stop(site);
  });
});

describe('attacks on koaStore() (shared-session/koa)', () => {
  let dir: string;
  let store: SqliteStore;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'shared-session-koa-attacks-'));
    store = new SqliteStore({ path: join(dir, 'sessions.sqlite') });
  });

  after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves no shared store to koa-session with unsigned cookies: an id from a log or a dump is no cookie on that site', async () => {
    const sites = [`http://a.localhost:${await freePort()}`, `http://b.localhost:${await freePort()}`];
    // b signs its cookies; a is a Koa site with `signed: false`, so its cookie is the store key itself.
    const b = await startKoaSite({ origin: sites[1]!, sites, store });
    const a = await startKoaSite({ origin: sites[0]!, sites, store, session: { signed: false } });
    try {
      const victim = new Client();
      await victim.fetch(`${sites[1]}/add?item=tea`);
      const [id] = Object.keys(await store.all());
      assert.ok(id, 'the victim’s session is in the shared store');
      // The log reader's id, sent to a as a cookie: it must not open the victim's session.
      const attack = await request(`${sites[0]}/whoami`, { headers: { cookie: `a.sid=${id}` } });
      assert.doesNotMatch(attack.body, /tea/, 'the victim’s cart is not shown');
      // A setup error (ERR_SHARED_SESSION_SETUP), on a's first request that reaches the store.
      assert.equal(attack.status, 500);
      // Nor does a's own new session go into the shared store under an unsigned cookie.
      const rows = Object.keys(await store.all()).length;
      const own = await request(`${sites[0]}/add?item=jam`);
      assert.equal(own.status, 500);
      assert.equal(own.setCookies.length, 0);
      assert.equal(Object.keys(await store.all()).length, rows);
      // The victim's own session on b is untouched.
      assert.match((await victim.fetch(`${sites[1]}/whoami`)).body, /tea/);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('lifetimes across frameworks (Koa and Hono on one store)', () => {
  let dir: string;
  let store: SqliteStore;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'shared-session-lifetime-attacks-'));
    store = new SqliteStore({ path: join(dir, 'sessions.sqlite') });
  });

  after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps a remember-me lifetime set on one framework’s site when the other adopts the session, each way, with the adopting site’s attributes', async () => {
    const DAYS_30 = 30 * 86_400_000;
    const sites = [`http://a.localhost:${await freePort()}`, `http://b.localhost:${await freePort()}`];
    const a = await startKoaSite({
      origin: sites[0]!,
      sites,
      store,
      session: { sameSite: 'strict' },
      routes: (ctx) => {
        if (ctx.path !== '/remember') return Promise.resolve(false);
        const session = ctx.session as unknown as { cart?: string[]; maxAge: number };
        session.cart = ['koa'];
        session.maxAge = DAYS_30;
        ctx.body = 'remembered\n';
        return Promise.resolve(true);
      },
    });
    const b = await startHonoSite({
      origin: sites[1]!,
      sites,
      store,
      routes: (app) => {
        app.get('/remember', (c) => {
          const session = c.get('session');
          session.data.cart = ['hono'];
          session.maxAge = DAYS_30;
          return c.text('remembered\n');
        });
      },
    });
    try {
      for (const [from, to, name, sameSite] of [
        [sites[0]!, sites[1]!, 'b.sid', 'Lax'],
        [sites[1]!, sites[0]!, 'a.sid', 'Strict'],
      ] as const) {
        const visitor = new Client();
        await visitor.fetch(`${from}/remember`);
        await visitor.navigate(`${from}/`);
        const steps = await visitor.navigate(`${to}/`);
        const adopted = steps.flatMap((step) => step.setCookies).filter((cookie) => cookie.name === name && cookie.value);
        assert.ok(adopted.length > 0, `${to} adopts the session from ${from} (${steps.map((step) => step.url).join(' → ')})`);
        const cookie = adopted.at(-1)!;
        const expires = cookie.expires?.getTime() ?? (cookie.maxAge === undefined ? 0 : Date.now() + cookie.maxAge * 1000);
        assert.ok(Math.abs(expires - (Date.now() + DAYS_30)) < 120_000, `${name}: remember-me's 30 days, not the site's hour (${cookie.expires?.toISOString()})`);
        const header = steps.flatMap((step) => step.headers['set-cookie'] ?? []).filter((line) => line.startsWith(`${name}=`) && !line.startsWith(`${name}=;`)).at(-1) ?? '';
        assert.match(header, new RegExp(`SameSite=${sameSite}`, 'i'), `${name} carries its own site's SameSite`);
        assert.match((await visitor.fetch(`${to}/whoami`)).body, /koa|hono/);
      }
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
