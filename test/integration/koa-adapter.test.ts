import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Context } from 'koa';
import type { RejectedEvent, WarningEvent } from 'shared-session';
import { koaStore, sharedSession } from 'shared-session/koa';
import { SqliteStore } from 'shared-session/sqlite';
import { Purpose } from '../../src/core/token.ts';
import { scriptSources } from '../helpers/express-site.ts';
import { Client, NAVIGATION_HEADERS, request, type Response } from '../helpers/http.ts';
import { startKoaSite, type KoaSite } from '../helpers/koa-site.ts';
import { freePort } from '../helpers/ports.ts';
import { craftPush, scriptLoad, sealer } from '../helpers/push.ts';
import { SHARED_SECRET } from '../helpers/sites.ts';

const VOUCHER = 'shared-session.voucher';

interface Who {
  id: string | null;
  user: string | null;
  cart: string[];
}

async function whoami(visitor: Client, origin: string): Promise<Who> {
  return JSON.parse((await visitor.fetch(`${origin}/whoami`)).body) as Who;
}

/** A visitor with a cart on `origin`, its session linked by a page load; `knownBy` sites saw the browser before. */
async function linkedVisitor(origin: string, item: string, knownBy: readonly string[] = []): Promise<Client> {
  const visitor = new Client();
  for (const site of knownBy) await visitor.navigate(`${site}/`);
  await visitor.fetch(`${origin}/add?item=${item}`);
  // A page load without a loader (the spec's pages carry one, which would mint here already).
  await visitor.navigate(`${origin}/whoami`);
  return visitor;
}

function assertPrivate(response: Response, label: string): void {
  assert.equal(response.headers['cache-control'], 'private, no-store', label);
  const vary = String(response.headers.vary ?? '').split(',').map((item) => item.trim());
  assert.ok(vary.includes('Cookie'), `${label}: Vary ${vary.join(', ')}`);
  assert.ok(vary.includes('Accept-Encoding'), `${label}: the route's own Vary is kept`);
}

/** Routes of the adapter tests on top of the spec site's. */
async function routes(ctx: Context): Promise<boolean> {
  if (ctx.path === '/nonce') {
    (ctx.state as { cspNonce?: string }).cspNonce = 'n0nce"<';
    await (ctx as Context & { render(view: string): Promise<void> }).render('nonce');
    return true;
  }
  if (ctx.path === '/cached') {
    ctx.set('cache-control', 'public, max-age=600');
    ctx.vary('Accept-Encoding');
    await (ctx as Context & { render(view: string): Promise<void> }).render('cached');
    return true;
  }
  return false;
}

describe('Koa adapter over koa-session', () => {
  let dir: string;
  let store: SqliteStore;
  let a: KoaSite;
  let b: KoaSite;
  let c: KoaSite;
  let sites: string[];
  const rejected: RejectedEvent[] = [];
  const warnings: WarningEvent[] = [];
  const extra: KoaSite[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shared-session-koa-adapter-'));
    store = new SqliteStore({ path: join(dir, 'sessions.sqlite') });
    sites = [`http://a.localhost:${await freePort()}`, `http://b.localhost:${await freePort()}`, `http://c.localhost:${await freePort()}`];
    // a keeps its cookie on its own domain with Strict and two hours; b rolls its cookie on every
    // request (koa-session's `rolling`): the library's routes must still leave no trace there.
    a = await startKoaSite({ origin: sites[0]!, sites, store, routes, maxAgeMs: 7_200_000, session: { sameSite: 'strict', domain: 'a.localhost' } });
    b = await startKoaSite({ origin: sites[1]!, sites, store, routes, session: { rolling: true } });
    c = await startKoaSite({ origin: sites[2]!, sites, store, routes });
    for (const site of [a, b, c]) {
      site.shared.on('rejected', (event) => rejected.push(event));
      site.shared.on('warning', (event) => warnings.push(event));
    }
  });

  after(async () => {
    await Promise.all([a, b, c, ...extra].map((site) => site.close()));
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const snapshot = async (): Promise<string> => JSON.stringify(await store.all());

  it('validates its options once, with stable codes', () => {
    assert.throws(() => sharedSession({ sites, secret: SHARED_SECRET, nonce: 'abc' as never }), { code: 'ERR_SHARED_SESSION_OPTION' });
    assert.throws(() => sharedSession({ sites, secret: SHARED_SECRET, unknown: 1 } as never), { code: 'ERR_SHARED_SESSION_OPTION' });
    assert.throws(() => koaStore({} as never), { code: 'ERR_SHARED_SESSION_OPTION' });
  });

  it('renders no loader for an empty session, and sets no cookie', async () => {
    const response = await request(`${a.origin}/render`);
    assert.match(response.body, /<p>rendered render<\/p>$/);
    assert.equal(response.setCookies.length, 0);
  });

  it('fills ctx.state.sharedSessionLoader before ctx.render: one script per other site, with the CSP nonce from ctx.state', async () => {
    const visitor = await linkedVisitor(a.origin, 'tea');
    const page = await visitor.fetch(`${a.origin}/nonce`, { headers: NAVIGATION_HEADERS });
    const sources = scriptSources(page.body);
    assert.deepEqual(sources.map((src) => new URL(src).origin), [b.origin, c.origin]);
    assert.match(page.body, /nonce="n0nce&quot;&lt;"/);
    assert.equal(page.headers['cache-control'], 'private, no-store');
    // Each target is recorded as pushed: the next page mints nothing.
    assert.deepEqual(scriptSources((await visitor.fetch(`${a.origin}/render`, { headers: NAVIGATION_HEADERS })).body), []);
  });

  it('fills the loader in also when the view layer is mounted after the middleware', async () => {
    const origin = `http://v.localhost:${await freePort()}`;
    // The hop off: a's own sites do not list this one, and a session needs no link to be pushed.
    const v = await startKoaSite({ origin, sites: [origin, a.origin], store, routes, viewsAfter: true, shared: { hop: false } });
    extra.push(v);
    for (let round = 0; round < 2; round++) {
      const visitor = await linkedVisitor(origin, 'tea');
      const page = await visitor.fetch(`${origin}/nonce`, { headers: NAVIGATION_HEADERS });
      assert.deepEqual(scriptSources(page.body).map((src) => new URL(src).origin), [a.origin], `request ${round}: ${page.status} ${page.body}`);
    }
  });

  it('keeps a page with a loader out of shared caches whatever the route sets', async () => {
    const visitor = await linkedVisitor(a.origin, 'tea');
    const page = await visitor.fetch(`${a.origin}/cached`, { headers: NAVIGATION_HEADERS });
    assert.equal(scriptSources(page.body).length, 2);
    assertPrivate(page, '/cached');
  });

  it('saves a brand-new session before minting, so the other site can find it', async () => {
    // With the hop off the loader needs no link, so a session the route itself creates is
    // pushed in the same response: it must be in the store before its id goes into a token.
    const origin = `http://p.localhost:${await freePort()}`;
    const p = await startKoaSite({
      origin,
      sites: [a.origin, origin],
      store,
      shared: { hop: false },
      routes: async (ctx, shared) => {
        if (ctx.path !== '/manual') return false;
        const session = ctx.session as unknown as { cart?: string[]; externalKey: string };
        session.cart = ['manual'];
        const html = await shared.loader(ctx, { nonce: 'abc' });
        const stored = await store.get(session.externalKey);
        ctx.body = { html, stored: stored?.cart ?? null };
        return true;
      },
    });
    extra.push(p);
    const response = await new Client().fetch(`${origin}/manual`, { headers: NAVIGATION_HEADERS });
    const body = JSON.parse(response.body) as { html: string; stored: string[] | null };
    assert.deepEqual(scriptSources(body.html).map((src) => new URL(src).origin), [a.origin]);
    assert.deepEqual(body.stored, ['manual']);
    assert.match(body.html, /nonce="abc"/);
    assert.equal(response.headers['cache-control'], 'private, no-store');
  });

  it('answers a push with a voucher cookie only; the next page load adopts with this site’s cookie and the session’s own lifetime', async () => {
    const visitor = await linkedVisitor(a.origin, 'tea', [b.origin]);
    const { id } = await whoami(visitor, a.origin);
    const toB = scriptSources((await visitor.fetch(`${a.origin}/render`, { headers: NAVIGATION_HEADERS })).body).find((src) => src.startsWith(b.origin))!;
    const before = await snapshot();
    const pushed = await visitor.fetch(toB, { headers: scriptLoad(a.origin) });
    assert.equal(pushed.status, 200);
    assert.equal(pushed.headers['shared-session-reason'], 'ACCEPTED');
    assert.equal(pushed.headers['content-type'], 'text/javascript; charset=utf-8');
    // Never b's session cookie (b rolls it on every request of its app): a voucher, nothing else.
    assert.deepEqual(pushed.setCookies.map((cookie) => cookie.name), [VOUCHER]);
    assert.equal(await snapshot(), before, 'the push writes no session');
    const opened = await sealer.open(Purpose.voucher, pushed.setCookies[0]!.value ?? '');
    assert.ok(opened.ok);
    assert.deepEqual([opened.payload.src, opened.payload.dst, opened.payload.sid], [a.origin, b.origin, id]);

    const visit = await visitor.fetch(`${b.origin}/whoami`, { headers: NAVIGATION_HEADERS });
    assert.equal(visit.status, 200);
    assert.deepEqual(JSON.parse(visit.body), { id, user: null, cart: ['tea'] });
    const session = visit.setCookies.find((cookie) => cookie.name === 'b.sid');
    assert.ok(session, 'b sends its own session cookie');
    assert.equal(session.value, id, 'naming the adopted id');
    assert.equal(session.sameSite, 'lax');
    assert.equal(session.domain, undefined, 'never a’s Domain');
    assert.equal(session.httpOnly, true);
    // a's session lives two hours (a's maxAge); b's own default is one hour.
    const lifetime = session.expires!.getTime() - Date.now();
    assert.ok(Math.abs(lifetime - 7_200_000) < 60_000, `the session’s own lifetime, not b’s: ${lifetime} ms`);
    assert.ok(visit.setCookies.some((cookie) => cookie.name === 'b.sid.sig'), 'signed as b signs');
    assert.equal(visit.setCookies.find((cookie) => cookie.name === VOUCHER)?.maxAge, 0);
    assert.equal(visit.headers['cache-control'], 'private, no-store');
    // And back on b later: the adopted id, b's own attributes.
    const later = await visitor.fetch(`${b.origin}/add?item=more`);
    assert.equal(later.setCookies.find((cookie) => cookie.name === 'b.sid')?.value, id);
    assert.deepEqual((await whoami(visitor, a.origin)).cart, ['tea', 'more']);
  });

  it('adopts with a’s own Domain and SameSite=Strict on a', async () => {
    const visitor = await linkedVisitor(b.origin, 'milk', [a.origin]);
    const toA = scriptSources((await visitor.fetch(`${b.origin}/render`, { headers: NAVIGATION_HEADERS })).body).find((src) => src.startsWith(a.origin))!;
    assert.equal((await visitor.fetch(toA, { headers: scriptLoad(b.origin) })).headers['shared-session-reason'], 'ACCEPTED');
    const visit = await visitor.fetch(`${a.origin}/whoami`, { headers: NAVIGATION_HEADERS });
    assert.deepEqual((JSON.parse(visit.body) as Who).cart, ['milk']);
    const onA = visit.setCookies.find((cookie) => cookie.name === 'a.sid');
    assert.ok(onA);
    assert.equal(onA.domain, 'a.localhost');
    assert.equal(onA.sameSite, 'strict');
    const lifetime = onA.expires!.getTime() - Date.now();
    assert.ok(Math.abs(lifetime - 3_600_000) < 60_000, `b’s session keeps its hour on a (a’s own is two): ${lifetime} ms`);
  });

  it('hops between Koa sites: a login on c is seen on a after a navigation, a logout on a is seen on c', async () => {
    const visitor = new Client();
    await visitor.navigate(`${c.origin}/`);
    await visitor.navigate(`${a.origin}/`);
    await visitor.fetch(`${c.origin}/add?item=pen`);
    await visitor.post(`${c.origin}/login`, { user: 'cy' });
    await visitor.navigate(`${c.origin}/`);
    const onC = await whoami(visitor, c.origin);
    const steps = await visitor.navigate(`${a.origin}/`);
    assert.ok(steps.length > 1, 'a hop brought the session');
    assert.deepEqual(await whoami(visitor, a.origin), onC);
    await visitor.post(`${a.origin}/logout`, {});
    await visitor.navigate(`${a.origin}/`);
    await visitor.navigate(`${c.origin}/`);
    assert.deepEqual(await whoami(visitor, c.origin), { id: null, user: null, cart: [] });
  });

  it('follows a login (koa-session’s regenerate keeps the data under a new id) after the cart was shared already', async () => {
    const visitor = new Client();
    await visitor.navigate(`${c.origin}/`);
    await visitor.navigate(`${a.origin}/`);
    await visitor.fetch(`${c.origin}/add?item=cup`);
    await visitor.navigate(`${c.origin}/whoami`);
    await visitor.navigate(`${a.origin}/whoami`);
    const shared = await whoami(visitor, a.origin);
    assert.deepEqual(shared.cart, ['cup'], 'both sites hold the cart’s session');
    assert.deepEqual(await whoami(visitor, c.origin), shared);
    await visitor.post(`${c.origin}/login`, { user: 'cy' });
    await visitor.navigate(`${c.origin}/whoami`);
    const onC = await whoami(visitor, c.origin);
    assert.equal(onC.user, 'cy');
    assert.notEqual(onC.id, shared.id, 'a new id at login');
    // The old id's note must not come along: it would say a holds the new session already.
    await visitor.navigate(`${a.origin}/whoami`);
    assert.deepEqual(await whoami(visitor, a.origin), onC);
  });

  it('leaves no trace for a refused token, nor for an accepted one, on a site that rolls its cookie', async () => {
    const client = new Client();
    await client.fetch(`${b.origin}/add?item=keep`);
    const before = await snapshot();
    const forged = await craftPush(a.origin, c.origin, 'x');
    for (const token of ['not$base64', forged, 'A'.repeat(3000)]) {
      const response = await client.fetch(`${b.origin}/shared-session/${token}.js`, { headers: scriptLoad(a.origin) });
      assert.ok(response.status >= 400 && response.status < 500, `status ${response.status}`);
      assert.equal(response.setCookies.length, 0);
    }
    const valid = await craftPush(a.origin, b.origin, 'some-session');
    const navigated = await client.fetch(`${b.origin}/shared-session/${valid}.js`, { headers: { ...NAVIGATION_HEADERS, referer: `${a.origin}/` } });
    assert.equal(navigated.status, 403);
    assert.equal(navigated.headers['shared-session-reason'], 'NOT_A_SCRIPT_LOAD');
    assert.equal(navigated.setCookies.length, 0);
    const stranger = await request(`${b.origin}/shared-session/${forged}.js`, { headers: scriptLoad(a.origin) });
    assert.equal(stranger.setCookies.length, 0);
    assert.equal(await snapshot(), before);
    const accepted = await client.fetch(`${b.origin}/shared-session/${valid}.js`, { headers: scriptLoad(a.origin) });
    assert.equal(accepted.headers['shared-session-reason'], 'ACCEPTED');
    assert.deepEqual(accepted.setCookies.map((cookie) => cookie.name), [VOUCHER]);
    assert.equal(await snapshot(), before);
    // The same request to an app route does roll the cookie: the test above could fail.
    assert.ok((await client.fetch(`${b.origin}/whoami`)).setCookies.some((cookie) => cookie.name === 'b.sid'));
  });

  it('refuses a replayed token, a wrong method and a hop step that is no navigation, with the reason and status, never a 500', async () => {
    const token = await craftPush(a.origin, c.origin, 'some-session');
    const first = await request(`${c.origin}/shared-session/${token}.js`, { headers: scriptLoad(a.origin) });
    assert.equal(first.headers['shared-session-reason'], 'ACCEPTED');
    const replayed = await request(`${c.origin}/shared-session/${token}.js`, { headers: scriptLoad(a.origin) });
    // The response does not tell a used token from an expired one; the event does.
    assert.deepEqual([replayed.status, replayed.headers['shared-session-reason']], [403, 'TOKEN_REFUSED']);
    assert.equal(replayed.setCookies.length, 0);
    for (const method of ['POST', 'HEAD', 'PUT']) {
      const response = await request(`${c.origin}/shared-session/${await craftPush(a.origin, c.origin, 's')}.js`, { method, headers: scriptLoad(a.origin) });
      assert.equal(response.status, 405, method);
      if (method !== 'HEAD') assert.equal(response.headers['shared-session-reason'], 'METHOD_NOT_ALLOWED', method);
      assert.equal(response.setCookies.length, 0, method);
    }
    const asImage = await request(`${c.origin}/shared-session/hop?q=x`, { headers: { 'sec-fetch-dest': 'image', 'sec-fetch-mode': 'no-cors', 'sec-fetch-site': 'cross-site' } });
    assert.deepEqual([asImage.status, asImage.headers['shared-session-reason']], [403, 'NOT_A_NAVIGATION']);
    const garbage = await request(`${c.origin}/shared-session/hop?q=%00%ff`, { headers: NAVIGATION_HEADERS });
    assert.ok(garbage.status >= 300 && garbage.status < 500, `status ${garbage.status}`);
    const back = await request(`${c.origin}/shared-session/hop/return?a=nonsense`, { headers: NAVIGATION_HEADERS });
    assert.ok(back.status >= 300 && back.status < 500, `status ${back.status}`);
    assert.ok(rejected.some((event) => event.reason === 'TOKEN_REPLAYED' && event.site === c.origin));
  });

  it('answers the site check before the app, and a Host that is no site with 421 and no cookie', async () => {
    const health = await request(`${a.origin}/shared-session/health`);
    assert.equal(health.status, 204);
    const evil = await request(`${a.origin}/shared-session/${await craftPush(b.origin, a.origin, 's')}.js`, { headers: { ...scriptLoad(b.origin), host: 'evil.localhost' } });
    assert.deepEqual([evil.status, evil.headers['shared-session-reason']], [421, 'UNKNOWN_HOST']);
    assert.equal(evil.setCookies.length, 0);
  });

  it('reads host and scheme through app.proxy: forwarded headers count only when the app trusts its proxy', async () => {
    const origins = ['https://shop.example', 'https://blog.example'];
    const trustingPort = await freePort();
    const directPort = await freePort();
    extra.push(await startKoaSite({ origin: origins[1]!, sites: origins, store, proxy: true, port: trustingPort, shared: { hubProbe: false } }));
    extra.push(await startKoaSite({ origin: origins[1]!, sites: origins, store, port: directPort, shared: { hubProbe: false } }));
    const forwarded = { ...NAVIGATION_HEADERS, 'x-forwarded-proto': 'https', 'x-forwarded-host': 'blog.example' };
    const viaProxy = await request(`http://127.0.0.1:${trustingPort}/cart`, { headers: forwarded });
    assert.equal(viaProxy.status, 303);
    assert.match(viaProxy.headers.location ?? '', /^https:\/\/shop\.example\/shared-session\/hop\?q=/);
    const spoofed = await request(`http://127.0.0.1:${directPort}/cart`, { headers: forwarded });
    assert.equal(spoofed.status, 200);
    assert.equal(spoofed.setCookies.length, 0);
  });

  it('warns NO_SESSION and answers 503 when koa-session is missing, or keeps sessions where they cannot be shared', async () => {
    for (const sessionLayer of ['none', 'cookie'] as const) {
      const origin = `http://w${sessionLayer}.localhost:${await freePort()}`;
      const w = await startKoaSite({ origin, sites: [a.origin, origin], store, sessionLayer });
      extra.push(w);
      const response = await request(`${origin}/shared-session/${await craftPush(a.origin, origin, 'x')}.js`, { headers: scriptLoad(a.origin) });
      assert.deepEqual([response.status, response.headers['shared-session-reason']], [503, 'STORE_UNAVAILABLE'], sessionLayer);
      assert.ok(w.events.some((event) => event.name === 'warning' && event.event.code === 'NO_SESSION'), sessionLayer);
      // Pages still load.
      assert.equal((await request(`${origin}/`, { headers: NAVIGATION_HEADERS })).status, 200, sessionLayer);
    }
    assert.ok(!warnings.some((event) => event.code === 'NO_SESSION'), 'the sites with koa-session never warned');
  });
});
