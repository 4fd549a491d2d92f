import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RejectedEvent } from 'shared-session';
import { SqliteStore } from 'shared-session/sqlite';
import { Purpose } from '../../src/core/token.ts';
import { startExpressSite, type ExpressSite } from '../helpers/express-site.ts';
import { Client, NAVIGATION_HEADERS, request, type Response } from '../helpers/http.ts';
import { freePort } from '../helpers/ports.ts';
import { sealer } from '../helpers/push.ts';

describe('the hop through the Express adapter', () => {
  let dir: string;
  const stores: SqliteStore[] = [];
  const sites: ExpressSite[] = [];
  const store = (): SqliteStore => {
    const instance = new SqliteStore({ path: join(dir, 'sessions.sqlite') });
    stores.push(instance);
    return instance;
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'shared-session-express-hop-'));
  });
  after(async () => {
    await Promise.all(sites.map((site) => site.close()));
    for (const instance of stores) instance.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('behind a reverse proxy (trust proxy honoured for scheme and host)', () => {
    const origins = ['https://a.example', 'https://b.example'];
    let port: number;
    before(async () => {
      port = await freePort();
      // b's app listens on loopback; the proxy in front of it terminates TLS for b.example.
      sites.push(await startExpressSite({ origin: origins[1]!, sites: origins, store: store(), trustProxy: 'loopback', port, shared: { hubProbe: false } }));
    });
    const viaProxy = (headers: Record<string, string>) =>
      request(`http://127.0.0.1:${port}/cart?x=1`, { headers: { ...NAVIGATION_HEADERS, 'x-forwarded-proto': 'https', 'x-forwarded-host': 'b.example', ...headers } });

    it('sends the visitor to the hub’s configured https origin, with a __Host- Secure state cookie', async () => {
      const response = await viaProxy({});
      assert.equal(response.status, 303);
      assert.match(response.headers.location ?? '', /^https:\/\/a\.example\/shared-session\/hop\?q=[A-Za-z0-9_-]+$/);
      const query = await sealer.open(Purpose.query, new URL(response.headers.location!).searchParams.get('q')!);
      assert.ok(query.ok);
      assert.deepEqual([query.payload.src, query.payload.dst], ['https://b.example', 'https://a.example']);
      const [state] = response.setCookies;
      assert.match(state?.name ?? '', /^__Host-shared-session\.hop\.[A-Za-z0-9_-]{8}$/);
      assert.equal(state?.secure, true);
      assert.equal(state?.httpOnly, true);
      assert.equal(state?.sameSite, 'lax');
      assert.equal(state?.path, '/');
      assert.equal(state?.domain, undefined);
    });

    it('ignores forwarded headers from a peer it does not trust', async () => {
      const untrusted = await freePort();
      sites.push(await startExpressSite({ origin: origins[1]!, sites: origins, store: store(), port: untrusted, shared: { hubProbe: false } }));
      // Without trust, the Host (127.0.0.1:port) counts, and it is not a configured site: no hop, no cookie.
      const response = await request(`http://127.0.0.1:${untrusted}/cart`, { headers: { ...NAVIGATION_HEADERS, 'x-forwarded-proto': 'https', 'x-forwarded-host': 'b.example' } });
      assert.equal(response.status, 200);
      assert.equal(response.setCookies.length, 0);
    });

    it('answers a spoofed Host with the page, and no hop and no cookie', async () => {
      const response = await viaProxy({ 'x-forwarded-host': 'evil.example' });
      assert.equal(response.status, 200);
      assert.equal(response.setCookies.length, 0);
    });
  });

  describe('opting out', () => {
    const origins: string[] = [];
    before(async () => {
      origins.push(`http://hub.localhost:${await freePort()}`, `http://api.localhost:${await freePort()}`, `http://off.localhost:${await freePort()}`);
      sites.push(await startExpressSite({ origin: origins[0]!, sites: origins, store: store() }));
      sites.push(await startExpressSite({ origin: origins[1]!, sites: origins, store: store(), shared: { hopExclude: ['/api', '/static'] } }));
      sites.push(await startExpressSite({ origin: origins[2]!, sites: origins, store: store(), shared: { hop: false } }));
    });

    it('never hops on excluded path prefixes', async () => {
      for (const path of ['/api', '/api/orders', '/static/app.css']) {
        const response = await request(`${origins[1]}${path}`, { headers: NAVIGATION_HEADERS });
        assert.equal(response.status, 200, path);
        assert.equal(response.setCookies.length, 0, path);
      }
      const page = await request(`${origins[1]}/apiary`, { headers: NAVIGATION_HEADERS });
      assert.equal(page.status, 303, 'a prefix is a whole path segment');
    });

    it('never hops, and sets no link cookie, with hop: false', async () => {
      const response = await request(`${origins[2]}/`, { headers: NAVIGATION_HEADERS });
      assert.equal(response.status, 200);
      assert.equal(response.setCookies.length, 0);
    });

    it('answers the site check on every site, the one with the hop off too', async () => {
      // Every site may be asked along the chain, so every site is checked before a visitor is sent there.
      for (const origin of origins) {
        const response = await request(`${origin}/shared-session/health`);
        assert.equal(response.status, 204, origin);
        assert.equal(response.headers['cache-control'], 'no-store');
      }
    });
  });

  describe('a store that fails on the site asked', () => {
    it('sends the visitor back to the asking site, whose query it could open, not on to its own home page', async () => {
      const origins = [`http://xs.localhost:${await freePort()}`, `http://ys.localhost:${await freePort()}`];
      const [x, y] = origins as [string, string];
      const failing = store();
      sites.push(await startExpressSite({ origin: x, sites: origins, store: failing }));
      sites.push(await startExpressSite({ origin: y, sites: origins, store: store() }));
      const visitor = new Client();
      // x (the hub) learns the browser; then the visitor clears y's cookies, so y asks x again.
      await visitor.navigate(`${x}/`);
      assert.ok(visitor.cookies(x).has('shared-session.link'));
      visitor.cookies(y).clear();
      // x's store goes down: its health check still answers, reading the link record does not.
      failing.close();
      const last = (await visitor.navigate(`${y}/cart`)).at(-1)!;
      assert.equal(new URL(last.url).origin, x);
      assert.equal(last.status, 503);
      assert.equal(last.headers['shared-session-reason'], 'STORE_UNAVAILABLE');
      assert.equal(last.setCookies.length, 0);
      // PROTOCOL.md §5.2: a refusal of an authentic query continues to the asking site's home page.
      assert.equal(/content="0;url=([^"]+)"/.exec(last.body)?.[1], `${y}/?shared-session-skip=1`);
    });
  });

  describe('a HEAD on a hop step (a link checker, a proxy)', () => {
    const origins: string[] = [];
    const rejected: RejectedEvent[] = [];
    before(async () => {
      origins.push(`http://x.localhost:${await freePort()}`, `http://y.localhost:${await freePort()}`);
      for (const origin of origins) {
        const site = await startExpressSite({ origin, sites: origins, store: store() });
        site.shared.on('rejected', (event) => rejected.push(event));
        sites.push(site);
      }
    });
    const assertRefusedHead = (response: Response, label: string): void => {
      assert.equal(response.status, 405, label);
      assert.equal(response.headers['shared-session-reason'], 'METHOD_NOT_ALLOWED', label);
      assert.equal(response.setCookies.length, 0, label);
    };

    it('is refused with 405 on the query and on the return, and uses up nothing: the GETs that follow complete the hop', async () => {
      const [x, y] = origins as [string, string];
      const visitor = new Client();
      const start = await visitor.fetch(`${y}/`, { headers: NAVIGATION_HEADERS });
      const query = start.headers.location ?? '';
      assert.ok(query.startsWith(`${x}/shared-session/hop?q=`), query);
      // x is the last site of the chain: a query it ran would mint it a link cookie.
      assertRefusedHead(await visitor.fetch(query, { method: 'HEAD', headers: NAVIGATION_HEADERS }), 'query');
      const answered = await visitor.fetch(query, { headers: NAVIGATION_HEADERS });
      const answer = answered.headers.location ?? '';
      assert.ok(answer.startsWith(`${y}/shared-session/hop/return?a=`), answer);
      // The answer is single use: a HEAD that spent it would leave the browser's own GET a replay.
      assertRefusedHead(await visitor.fetch(answer, { method: 'HEAD', headers: NAVIGATION_HEADERS }), 'return');
      const returned = await visitor.fetch(answer, { headers: NAVIGATION_HEADERS });
      assert.equal(returned.status, 303);
      assert.equal(returned.headers['shared-session-reason'], undefined);
      assert.equal(returned.headers.location, '/');
      assert.ok(returned.setCookies.some((cookie) => cookie.name === 'shared-session.link'));
      assert.deepEqual(
        rejected.map((event) => [event.reason, event.mechanism, event.site]),
        [
          ['METHOD_NOT_ALLOWED', 'hop', x],
          ['METHOD_NOT_ALLOWED', 'hop', y],
        ],
      );
    });
  });
});
