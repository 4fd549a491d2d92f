import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setCookie } from 'hono/cookie';
import { NONCE, secureHeaders } from 'hono/secure-headers';
import { SqliteStore } from 'shared-session/sqlite';
import { Purpose } from '../../src/core/token.ts';
import { pageOf, scriptSources } from '../helpers/express-site.ts';
import { Client, NAVIGATION_HEADERS, request } from '../helpers/http.ts';
import { freePort } from '../helpers/ports.ts';
import { craftPush, scriptLoad, sealer, tokenOf } from '../helpers/push.ts';
import { startHonoSite, type HonoSite, type HonoSiteOptions } from '../spec/sites/hono.ts';

const CHROME = { 'user-agent': NAVIGATION_HEADERS['user-agent'] as string };
const VOUCHER = 'shared-session.voucher';

async function whoami(visitor: Client, origin: string): Promise<{ id: string | null; user: string | null; cart: string[] }> {
  return JSON.parse((await visitor.fetch(`${origin}/whoami`)).body) as { id: string | null; user: string | null; cart: string[] };
}

/**
 * A visitor with a cart on `origin` whose session is linked (a top-level page load after
 * the session exists), through a page without a loader: the spec site's pages carry one,
 * which would use up the first mint. `knownBy` sites get a first page of the browser before.
 */
async function linkedVisitor(origin: string, item = 'tea', knownBy: readonly string[] = []): Promise<Client> {
  const visitor = new Client();
  for (const site of knownBy) await visitor.navigate(`${site}/plain`);
  await visitor.fetch(`${origin}/add?item=${item}`);
  await visitor.navigate(`${origin}/plain`);
  return visitor;
}

describe('Hono adapter (shared-session/hono) on @hono/node-server', () => {
  let dir: string;
  let store: SqliteStore;
  let a: HonoSite;
  let b: HonoSite;
  let c: HonoSite;
  let sites: string[];

  const routes: HonoSiteOptions['routes'] = (app, shared) => {
    app.get('/plain', (c) => c.text('plain\n'));
    // The app's own cookie and headers next to the session's (Hono's `c.res =` would drop one or the other).
    app.get('/own-cookie', (c) => {
      c.get('session').data.theme = 'dark';
      setCookie(c, 'theme', 'dark');
      c.header('x-app', 'kept');
      return c.text('ok\n');
    });
    // hono/secure-headers makes a nonce per response: the loader's tags must carry it.
    app.get('/csp', secureHeaders({ contentSecurityPolicy: { scriptSrc: [NONCE] } }), async (c) => c.html(`<main>csp</main>${await shared.loader(c)}`));
    // A route that would let a shared cache keep the page.
    app.get('/cached', async (c) => {
      const html = await shared.loader(c);
      c.header('cache-control', 'public, max-age=600');
      c.header('vary', 'Accept-Encoding');
      return c.html(`<main>page</main>${html}`);
    });
    app.get('/manual', async (c) => {
      const session = c.get('session');
      session.data.cart = ['manual'];
      const html = await shared.loader(c, { nonce: 'abc' });
      return c.json({ html, stored: (await store.get(session.id)) !== null });
    });
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shared-session-hono-adapter-'));
    store = new SqliteStore({ path: join(dir, 'sessions.sqlite') });
    sites = [`http://a.localhost:${await freePort()}`, `http://b.localhost:${await freePort()}`, `http://c.localhost:${await freePort()}`];
    a = await startHonoSite({ origin: sites[0]!, sites, store, routes });
    b = await startHonoSite({ origin: sites[1]!, sites, store, routes });
    c = await startHonoSite({ origin: sites[2]!, sites, store, routes });
  });

  after(async () => {
    await Promise.all([a.close(), b.close(), c.close()]);
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const snapshot = async (): Promise<string> => JSON.stringify(await store.all());

  it('renders no loader for an empty session, and sets no cookie', async () => {
    const response = await request(`${a.origin}/page`);
    assert.equal(response.body, '<!doctype html><title>page</title><p>page /page</p>');
    assert.equal(response.setCookies.length, 0);
  });

  it('loads the page with a loader for a linked session: one script per other site, each token naming the session', async () => {
    const visitor = await linkedVisitor(a.origin);
    const { id } = await whoami(visitor, a.origin);
    const response = await pageOf(visitor, `${a.origin}/page`);
    const sources = scriptSources(response.body);
    assert.deepEqual(sources.map((src) => new URL(src).origin), [b.origin, c.origin]);
    for (const src of sources) {
      const opened = await sealer.open(Purpose.push, tokenOf(src));
      assert.ok(opened.ok);
      assert.deepEqual([opened.payload.src, opened.payload.dst, opened.payload.sid], [a.origin, new URL(src).origin, id]);
    }
    // Recorded as pushed: the next page mints nothing.
    assert.deepEqual(scriptSources((await visitor.fetch(`${a.origin}/page`, { headers: CHROME })).body), []);
  });

  it('copies hono/secure-headers’ nonce onto the loader’s script tags', async () => {
    const visitor = await linkedVisitor(a.origin);
    const response = await pageOf(visitor, `${a.origin}/csp`);
    const nonce = /'nonce-([^']+)'/.exec(String(response.headers['content-security-policy']))?.[1];
    assert.ok(nonce, 'the CSP has a nonce');
    const tags = [...response.body.matchAll(/<script [^>]*>/g)].map((match) => match[0]);
    assert.equal(tags.length, 2);
    for (const tag of tags) assert.ok(tag.includes(`nonce="${nonce}"`), tag);
  });

  it('keeps a page with a loader out of shared caches whatever the route sets', async () => {
    const page = await pageOf(await linkedVisitor(a.origin), `${a.origin}/cached`);
    assert.equal(scriptSources(page.body).length, 2);
    assert.equal(page.headers['cache-control'], 'private, no-store');
    const vary = String(page.headers.vary).split(',').map((item) => item.trim());
    assert.ok(vary.includes('Cookie') && vary.includes('Accept-Encoding'), vary.join(', '));
    // Without a loader and a cookie of ours, the route's own headers stand.
    assert.equal((await request(`${a.origin}/cached`)).headers['cache-control'], 'public, max-age=600');
  });

  it('saves a brand-new session before minting, so the other site can find it', async () => {
    const origin = `http://p.localhost:${await freePort()}`;
    const p = await startHonoSite({ origin, sites: [sites[0]!, origin], store, shared: { hop: false }, routes });
    try {
      const response = await new Client().fetch(`${origin}/manual`, { headers: CHROME });
      const body = JSON.parse(response.body) as { html: string; stored: boolean };
      assert.deepEqual(scriptSources(body.html).map((src) => new URL(src).origin), [a.origin]);
      assert.equal(body.stored, true);
      assert.match(body.html, /nonce="abc"/);
      assert.equal(response.setCookies.filter((cookie) => cookie.name === 'p.sid').length, 1, 'the saved session’s cookie goes out');
    } finally {
      await p.close();
    }
  });

  it('mints nothing for a Host that is not a configured site', async () => {
    const visitor = await linkedVisitor(a.origin);
    const cookie = [...visitor.cookies(a.origin)].map(([k, v]) => `${k}=${v}`).join('; ');
    const seen = a.events.length;
    const response = await request(`${a.origin}/page`, { headers: { ...CHROME, host: 'evil.localhost', cookie } });
    assert.equal(scriptSources(response.body).length, 0);
    assert.ok(a.events.slice(seen).some((entry) => entry.name === 'rejected' && entry.event.reason === 'UNKNOWN_HOST' && entry.event.mechanism === 'loader'));
  });

  it('answers a push with a voucher only, and the receiving site adopts the session on its next page load with its own cookie', async () => {
    const visitor = await linkedVisitor(a.origin, 'tea', [b.origin]);
    const { id } = await whoami(visitor, a.origin);
    const toB = scriptSources((await pageOf(visitor, `${a.origin}/page`)).body).find((src) => src.startsWith(b.origin))!;
    const before = await snapshot();
    const pushed = await visitor.fetch(toB, { headers: scriptLoad(a.origin) });
    assert.equal(pushed.status, 200);
    assert.equal(pushed.headers['shared-session-reason'], 'ACCEPTED');
    assert.equal(pushed.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.deepEqual(pushed.setCookies.map((cookie) => cookie.name), [VOUCHER]);
    assert.equal(await snapshot(), before, 'the push writes no session');
    const opened = await sealer.open(Purpose.voucher, pushed.setCookies[0]?.value ?? '');
    assert.ok(opened.ok);
    assert.equal(opened.payload.sid, id);
    // A request that is no page load leaves the voucher alone.
    assert.deepEqual((await whoami(visitor, b.origin)).cart, []);
    const visit = await visitor.fetch(`${b.origin}/whoami`, { headers: NAVIGATION_HEADERS });
    assert.deepEqual(JSON.parse(visit.body), { id, user: null, cart: ['tea'] });
    const session = visit.setCookies.find((cookie) => cookie.name === 'b.sid');
    assert.ok(session, 'b sends its own session cookie');
    assert.equal(session.sameSite, 'lax');
    assert.equal(session.domain, undefined);
    assert.equal(session.value?.split('.')[0], id);
    assert.equal(visit.setCookies.find((cookie) => cookie.name === VOUCHER)?.maxAge, 0);
    assert.equal(visit.headers['cache-control'], 'private, no-store');
  });

  it('refuses replays, wrong methods and anything but a script load, with reason and status, no cookie and no store write', async () => {
    const client = new Client();
    await client.fetch(`${b.origin}/add?item=keep`);
    const valid = await craftPush(a.origin, b.origin, 'some-session');
    const accepted = await client.fetch(`${b.origin}/shared-session/${valid}.js`, { headers: scriptLoad(a.origin) });
    assert.equal(accepted.headers['shared-session-reason'], 'ACCEPTED');
    const before = await snapshot();
    const seen = b.events.length;
    const fresh = await craftPush(a.origin, b.origin, 'some-session');
    // The replay's event names it; its answer says TOKEN_REFUSED, as for an expired token (a thief learns nothing).
    const cases: [string, string, { method?: string; headers: Record<string, string> }, number, string][] = [
      ['a replay', valid, { headers: scriptLoad(a.origin) }, 403, 'TOKEN_REFUSED'],
      ['a POST', fresh, { method: 'POST', headers: scriptLoad(a.origin) }, 405, 'METHOD_NOT_ALLOWED'],
      ['a HEAD', fresh, { method: 'HEAD', headers: scriptLoad(a.origin) }, 405, 'METHOD_NOT_ALLOWED'],
      ['a navigation to the token', fresh, { headers: { ...NAVIGATION_HEADERS, referer: `${a.origin}/` } }, 403, 'NOT_A_SCRIPT_LOAD'],
      ['a forged token', await craftPush(a.origin, c.origin, 'x'), { headers: scriptLoad(a.origin) }, 403, 'WRONG_DESTINATION'],
      ['garbage', 'not$base64', { headers: scriptLoad(a.origin) }, 400, 'TOKEN_MALFORMED'],
      ['a huge token', 'A'.repeat(3000), { headers: scriptLoad(a.origin) }, 414, 'TOKEN_TOO_LONG'],
    ];
    for (const [label, token, options, status, reason] of cases) {
      const response = await client.fetch(`${b.origin}/shared-session/${token}.js`, options);
      assert.equal(response.status, status, label);
      assert.equal(response.headers['shared-session-reason'], reason, label);
      assert.equal(response.setCookies.length, 0, label);
    }
    // A visitor without any cookie: no session cookie either, for a refusal or an acceptance.
    for (const token of [await craftPush(a.origin, c.origin, 'x'), await craftPush(a.origin, b.origin, 'another')]) {
      const stranger = await request(`${b.origin}/shared-session/${token}.js`, { headers: scriptLoad(a.origin) });
      assert.ok(!stranger.setCookies.some((cookie) => cookie.name === 'b.sid'), String(stranger.headers['shared-session-reason']));
    }
    // A hop step that is no navigation.
    const hop = await client.fetch(`${b.origin}/shared-session/hop?q=x`, { headers: { 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' } });
    assert.equal(hop.status, 403);
    assert.equal(hop.headers['shared-session-reason'], 'NOT_A_NAVIGATION');
    assert.equal(await snapshot(), before, 'nothing written');
    const reasons = b.events.slice(seen).flatMap((entry) => (entry.name === 'rejected' ? [entry.event.reason] : []));
    assert.deepEqual(reasons, ['TOKEN_REPLAYED', ...cases.slice(1).map((entry) => entry[4]), 'WRONG_DESTINATION', 'NOT_A_NAVIGATION']);
  });

  it('keeps the app’s own Set-Cookie and headers next to the session cookie', async () => {
    const response = await new Client().fetch(`${a.origin}/own-cookie`);
    assert.deepEqual(response.setCookies.map((cookie) => cookie.name).sort(), ['a.sid', 'theme']);
    assert.equal(response.headers['x-app'], 'kept');
    assert.equal(response.headers['cache-control'], 'private, no-store');
  });

  it('answers the site check without a cookie', async () => {
    const health = await request(`${a.origin}/shared-session/health`);
    assert.equal(health.status, 204);
    assert.equal(health.headers['cache-control'], 'no-store');
    assert.equal(health.setCookies.length, 0);
  });
});
