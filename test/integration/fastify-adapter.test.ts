import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RejectedEvent, WarningEvent } from 'shared-session';
import { sharedSession } from 'shared-session/fastify';
import { SqliteStore } from 'shared-session/sqlite';
import { pageOf, scriptSources } from '../helpers/express-site.ts';
import { startFastifySite, type FastifySite } from '../helpers/fastify-site.ts';
import { Client, NAVIGATION_HEADERS, request } from '../helpers/http.ts';
import { freePort } from '../helpers/ports.ts';
import { SHARED_SECRET } from '../helpers/sites.ts';
import { craftPush, notScriptLoads, scriptLoad } from '../helpers/push.ts';

const VOUCHER = 'shared-session.voucher';
const DAY = 86_400_000;

/**
 * A visitor with a cart on `origin` whose session is linked (see linkedVisitor of
 * express-site.ts), ending on /whoami: every page of these sites renders the loader, and
 * the tests want its first one.
 */
async function linkedVisitor(origin: string, item = 'tea', knownBy: readonly string[] = []): Promise<Client> {
  const visitor = new Client();
  for (const site of knownBy) await visitor.navigate(`${site}/whoami`);
  await visitor.fetch(`${origin}/add?item=${item}`);
  await visitor.navigate(`${origin}/whoami`);
  return visitor;
}

async function whoami(visitor: Client, origin: string): Promise<{ id: string | null; user: string | null; cart: string[] }> {
  return JSON.parse((await visitor.fetch(`${origin}/whoami`)).body) as { id: string | null; user: string | null; cart: string[] };
}

describe('Fastify adapter over @fastify/session', () => {
  let dir: string;
  let file: string;
  let store: SqliteStore;
  const stores: SqliteStore[] = [];
  let a: FastifySite;
  let b: FastifySite;
  let c: FastifySite;
  let sites: string[];
  const rejected: RejectedEvent<unknown>[] = [];
  const warnings: WarningEvent[] = [];
  const own = (): SqliteStore => {
    const instance = new SqliteStore({ path: file });
    stores.push(instance);
    return instance;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shared-session-fastify-adapter-'));
    file = join(dir, 'sessions.sqlite');
    store = own();
    sites = [`http://a.localhost:${await freePort()}`, `http://b.localhost:${await freePort()}`, `http://c.localhost:${await freePort()}`];
    const routes: Parameters<typeof startFastifySite>[0]['routes'] = (app) => {
      // A route that would let a shared cache keep the page.
      app.get('/cached', async (_request, reply) => {
        const html = await reply.sharedSessionLoader();
        return reply.header('cache-control', 'public, max-age=600').header('vary', 'Accept-Encoding').type('text/html').send(`<main>page</main>${html}`);
      });
      // Remember me: this session's cookie lives 30 days, whatever the site's default.
      app.get('/remember', (request, reply) => {
        request.session.cookie.maxAge = 30 * DAY;
        request.session.cart = [...(request.session.cart ?? []), 'remembered'];
        return reply.send('ok\n');
      });
    };
    // a keeps its cookie on its own host with Strict; b and c use Lax: never mixed up.
    a = await startFastifySite({
      origin: sites[0]!,
      sites,
      store: own(),
      routes,
      shared: { nonce: () => 'n0nce"<' },
      // Not secure: 'auto', which @fastify/session turns into SameSite=Lax on plain http.
      session: { cookie: { secure: false, sameSite: 'strict', domain: 'a.localhost', httpOnly: true, maxAge: 3_600_000 } },
    });
    // b saves every session and rolls every cookie: the library's routes must still leave no trace.
    b = await startFastifySite({ origin: sites[1]!, sites, store: own(), routes, session: { saveUninitialized: true, rolling: true } });
    c = await startFastifySite({ origin: sites[2]!, sites, store: own(), routes });
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
    assert.equal(response.body, '<!doctype html><title>page</title><p>page /page</p>');
    assert.equal(response.setCookies.length, 0);
  });

  it('puts the loader in the page through reply.sharedSessionLoader(): one script per other site, the nonce, once per site', async () => {
    const visitor = await linkedVisitor(a.origin);
    const response = await pageOf(visitor, `${a.origin}/page`);
    const sources = scriptSources(response.body);
    assert.deepEqual(sources.map((src) => new URL(src).origin), [b.origin, c.origin]);
    assert.match(response.body, /<script src="[^"]+" async referrerpolicy="origin" nonce="n0nce&quot;&lt;"><\/script>/);
    assert.equal(response.headers['cache-control'], 'private, no-store');
    assert.deepEqual(scriptSources((await pageOf(visitor, `${a.origin}/page`)).body), []);
  });

  it('keeps a page with a loader out of shared caches whatever the route sets, keeping the route’s own Vary', async () => {
    const visitor = await linkedVisitor(b.origin);
    const response = await visitor.fetch(`${b.origin}/cached`, { headers: NAVIGATION_HEADERS });
    assert.equal(scriptSources(response.body).length, 2);
    assert.equal(response.headers['cache-control'], 'private, no-store');
    const vary = String(response.headers.vary).split(',').map((item) => item.trim());
    assert.deepEqual(vary.sort(), ['Accept-Encoding', 'Cookie']);
  });

  it('saves a brand-new session before its id goes into a token', async () => {
    // With the hop off the loader needs no link, so a session the route itself creates is
    // pushed in the same response: it must be in the store before its id goes into a token
    // (@fastify/session would save it only at onSend).
    const origin = `http://p.localhost:${await freePort()}`;
    const p = await startFastifySite({
      origin,
      sites: [sites[0]!, origin],
      store: own(),
      shared: { hop: false },
      routes: (app) => {
        app.get('/manual', async (request, reply) => {
          request.session.cart = ['manual'];
          const html = await reply.sharedSessionLoader({ nonce: 'abc' });
          const stored = await new Promise((resolve) => store.get(request.session.sessionId, (_e, found) => resolve(found)));
          return reply.send({ html, stored: Boolean(stored) });
        });
      },
    });
    try {
      const response = await new Client().fetch(`${origin}/manual`, { headers: NAVIGATION_HEADERS });
      const body = JSON.parse(response.body) as { html: string; stored: boolean };
      assert.deepEqual(scriptSources(body.html).map((src) => new URL(src).origin), [a.origin]);
      assert.equal(body.stored, true);
      assert.match(body.html, /nonce="abc"/);
      assert.ok(response.setCookies.some((cookie) => cookie.name === 'p.sid'));
    } finally {
      await p.close();
    }
  });

  it('answers a push with a voucher only; the next page load adopts it with b’s own cookie, and deletes the voucher', async () => {
    const visitor = await linkedVisitor(a.origin, 'tea', [b.origin]);
    const { id } = await whoami(visitor, a.origin);
    const toB = scriptSources((await pageOf(visitor, `${a.origin}/page`)).body).find((src) => src.startsWith(b.origin))!;
    const pushed = await visitor.fetch(toB, { headers: scriptLoad(a.origin) });
    assert.equal(pushed.status, 200);
    assert.equal(pushed.headers['shared-session-reason'], 'ACCEPTED');
    assert.deepEqual(pushed.setCookies.map((cookie) => cookie.name), [VOUCHER]);
    const visit = await visitor.fetch(`${b.origin}/whoami`, { headers: NAVIGATION_HEADERS });
    assert.equal(visit.status, 200);
    assert.equal((JSON.parse(visit.body) as { id: string }).id, id);
    // Both in one response: @fastify/session's cookie and the core's raw Set-Cookie (never replaced by it).
    const session = visit.setCookies.find((cookie) => cookie.name === 'b.sid');
    assert.ok(session, 'b sends its own session cookie');
    assert.equal(session.sameSite, 'lax');
    assert.equal(session.domain, undefined, 'never site a’s Domain');
    assert.equal(visit.setCookies.find((cookie) => cookie.name === VOUCHER)?.maxAge, 0);
    assert.equal(visit.headers['cache-control'], 'private, no-store');
  });

  it('gives a session loaded from another site’s save this site’s own attributes, adopted or merely loaded', async () => {
    const visitor = await linkedVisitor(b.origin, 'milk', [a.origin]);
    const toA = scriptSources((await pageOf(visitor, `${b.origin}/page`)).body).find((src) => src.startsWith(a.origin))!;
    assert.equal((await visitor.fetch(toA, { headers: scriptLoad(b.origin) })).headers['shared-session-reason'], 'ACCEPTED');
    const visit = await visitor.fetch(`${a.origin}/whoami`, { headers: NAVIGATION_HEADERS });
    assert.deepEqual((JSON.parse(visit.body) as { cart: string[] }).cart, ['milk']);
    const onA = visit.setCookies.find((cookie) => cookie.name === 'a.sid');
    assert.ok(onA, 'a sends its own session cookie');
    assert.equal(onA.domain, 'a.localhost');
    assert.equal(onA.sameSite, 'strict');
    // a saves the record with its Domain and Strict (add); b loads it: @fastify/session would restore a's.
    await visitor.fetch(`${a.origin}/add?item=sugar`);
    const onB = (await visitor.fetch(`${b.origin}/add?item=tea`)).setCookies.find((cookie) => cookie.name === 'b.sid');
    assert.ok(onB, 'the changed session is sent');
    assert.equal(onB.domain, undefined);
    assert.equal(onB.sameSite, 'lax');
  });

  it('keeps the session’s own lifetime (remember me) when another site adopts it', async () => {
    const visitor = new Client();
    await visitor.navigate(`${c.origin}/`);
    await visitor.fetch(`${a.origin}/remember`);
    await visitor.navigate(`${a.origin}/whoami`);
    const page = await pageOf(visitor, `${a.origin}/page`);
    const toC = scriptSources(page.body).find((src) => src.startsWith(c.origin))!;
    assert.equal((await visitor.fetch(toC, { headers: scriptLoad(a.origin) })).headers['shared-session-reason'], 'ACCEPTED');
    const visit = await visitor.fetch(`${c.origin}/whoami`, { headers: NAVIGATION_HEADERS });
    const onC = visit.setCookies.find((cookie) => cookie.name === 'c.sid');
    assert.ok(onC?.expires, 'c sends a dated cookie');
    assert.ok(onC.expires.getTime() - Date.now() > 29 * DAY, `expires ${onC.expires.toISOString()}: 30 days, not c’s one hour`);
    assert.equal(onC.sameSite, 'lax');
    assert.equal(onC.domain, undefined);
  });

  it('leaves no trace for refused tokens, nor for an accepted push, even with saveUninitialized and rolling on', async () => {
    const client = new Client();
    await client.fetch(`${b.origin}/add?item=keep`);
    const before = await snapshot();
    const forged = await craftPush(a.origin, c.origin, 'x');
    for (const token of ['not$base64', forged, 'A'.repeat(3000)]) {
      const response = await client.fetch(`${b.origin}/shared-session/${token}.js`, { headers: scriptLoad(a.origin) });
      assert.ok(response.status >= 400 && response.status < 500, `status ${response.status}`);
      assert.ok(response.headers['shared-session-reason']);
      assert.equal(response.setCookies.length, 0);
    }
    const valid = await craftPush(a.origin, b.origin, 'some-session');
    for (const [label, headers] of Object.entries(notScriptLoads(a.origin))) {
      const response = await client.fetch(`${b.origin}/shared-session/${valid}.js`, { headers });
      assert.equal(response.headers['shared-session-reason'], 'NOT_A_SCRIPT_LOAD', label);
      assert.equal(response.setCookies.length, 0, label);
    }
    const posted = await client.fetch(`${b.origin}/shared-session/${valid}.js`, { method: 'POST', headers: scriptLoad(a.origin) });
    assert.equal(posted.status, 405);
    assert.equal(posted.headers['shared-session-reason'], 'METHOD_NOT_ALLOWED');
    // A visitor without a cookie: @fastify/session would save and set an empty session here.
    const stranger = await request(`${b.origin}/shared-session/${forged}.js`, { headers: scriptLoad(a.origin) });
    assert.equal(stranger.setCookies.length, 0);
    assert.equal(await snapshot(), before);
    const accepted = await client.fetch(`${b.origin}/shared-session/${valid}.js`, { headers: scriptLoad(a.origin) });
    assert.equal(accepted.headers['shared-session-reason'], 'ACCEPTED');
    assert.deepEqual(accepted.setCookies.map((cookie) => cookie.name), [VOUCHER]);
    // Replayed: single use.
    const replayed = await client.fetch(`${b.origin}/shared-session/${valid}.js`, { headers: scriptLoad(a.origin) });
    assert.equal(replayed.status, 403);
    assert.equal(replayed.headers['shared-session-reason'], 'TOKEN_REFUSED');
    assert.equal(replayed.setCookies.length, 0);
    // The site check answers before any route of the app, without a cookie.
    const health = await request(`${b.origin}/shared-session/health`);
    assert.equal(health.status, 204);
    assert.equal(health.setCookies.length, 0);
    assert.equal(await snapshot(), before);
    assert.ok(rejected.some((event) => event.reason === 'TOKEN_REPLAYED'));
  });

  it('answers a replayed hop token with its reason, never a 500', async () => {
    const visitor = new Client();
    const steps = await visitor.navigate(`${b.origin}/start`);
    const hop = steps.find((step) => step.url.includes('/shared-session/hop/return'));
    assert.ok(hop, `a first page load hops: ${steps.map((step) => step.url).join(' → ')}`);
    const again = await visitor.fetch(hop.url, { headers: NAVIGATION_HEADERS });
    assert.equal(again.status, 403);
    assert.equal(again.headers['shared-session-reason'], 'TOKEN_REFUSED');
    assert.ok(rejected.some((event) => event.reason === 'TOKEN_REPLAYED' && event.mechanism === 'hop'));
  });

  it('warns NO_SESSION and answers 503 STORE_UNAVAILABLE without @fastify/session, never a 500', async () => {
    const origin = `http://w.localhost:${await freePort()}`;
    const w = await startFastifySite({ origin, sites: [sites[0]!, origin], store: own(), noSession: true });
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
    const origin = `http://d.localhost:${await freePort()}`;
    const d = await startFastifySite({ origin, sites: [sites[0]!, origin], store: broken });
    const seen: WarningEvent[] = [];
    d.shared.on('warning', (event) => seen.push(event));
    broken.close();
    try {
      const response = await request(`${origin}/shared-session/${await craftPush(a.origin, origin, 'some-session')}.js`, { headers: scriptLoad(a.origin) });
      assert.equal(response.status, 503);
      assert.equal(response.headers['shared-session-reason'], 'STORE_UNAVAILABLE');
      assert.equal(response.setCookies.length, 0);
      assert.ok(seen.some((event) => event.code === 'STORE_ERROR'));
    } finally {
      await d.close();
    }
  });

  it('shows @fastify/session’s Secure default: no session cookie at all on plain http (why sites set secure: auto)', async () => {
    const origin = `http://s.localhost:${await freePort()}`;
    const s = await startFastifySite({ origin, sites: [sites[0]!, origin], store: own(), session: { cookie: { sameSite: 'lax' } } });
    try {
      const response = await request(`${origin}/add?item=x`);
      assert.equal(response.status, 200);
      assert.deepEqual(response.setCookies, []);
    } finally {
      await s.close();
    }
  });

  it('validates its own option once, at construction', () => {
    assert.throws(() => sharedSession({ sites, secret: SHARED_SECRET, nonce: 'abc' as never }), { code: 'ERR_SHARED_SESSION_OPTION' });
  });
});
