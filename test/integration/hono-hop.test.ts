import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { RedisStore } from 'shared-session/redis';
import { SqliteStore } from 'shared-session/sqlite';
import type { CallbackStore } from '../../src/stores/callback-store.ts';
import { scriptSources, startExpressSite } from '../helpers/express-site.ts';
import { Client } from '../helpers/http.ts';
import { freePort } from '../helpers/ports.ts';
import { scriptLoad } from '../helpers/push.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { startHonoSite } from '../spec/sites/hono.ts';

type Kind = 'hono' | 'express';

interface Site {
  readonly origin: string;
  close(): Promise<void>;
}

/** Who a site says the visitor is, on either framework. */
async function me(visitor: Client, origin: string): Promise<{ user: string | null; cart: string[] }> {
  return JSON.parse((await visitor.fetch(`${origin}/me`)).body) as { user: string | null; cart: string[] };
}

/** A site of either framework with login, logout and /me, on `store`. */
async function start(kind: Kind, origin: string, sites: readonly string[], store: CallbackStore): Promise<Site> {
  if (kind === 'hono') {
    return startHonoSite({
      origin,
      sites,
      store,
      routes: (app) => {
        app.get('/plain', (c) => c.text('plain\n'));
        app.get('/me', (c) => {
          const { data } = c.get('session');
          return c.json({ user: typeof data.user === 'string' ? data.user : null, cart: (data.cart as string[] | undefined) ?? [] });
        });
      },
    });
  }
  return startExpressSite({
    origin,
    sites,
    store,
    routes: (app, shared) => {
      app.get('/plain', (_req, res) => void res.type('text').send('plain\n'));
      app.get('/loader', async (req, res) => void res.type('html').send(`<main>page</main>${await shared.loader(req, res)}`));
      app.get('/me', (req, res) => void res.json({ user: req.session.user ?? null, cart: req.session.cart ?? [] }));
      app.post('/login', express.urlencoded({ extended: false }), (req, res, next) => {
        const cart = req.session.cart;
        req.session.regenerate((error) => {
          if (error) return next(error);
          if (cart) req.session.cart = cart;
          const user = (req.body as { user?: unknown }).user;
          req.session.user = typeof user === 'string' ? user : 'anonymous';
          req.session.save((saveError) => (saveError ? next(saveError) : res.redirect(303, '/')));
        });
      });
      app.post('/logout', (req, res, next) => req.session.destroy((error) => (error ? next(error) : res.redirect(303, '/'))));
    },
  });
}

/**
 * One visitor across two sites on one store: cart and login made on either are seen on
 * the other after a navigation, and so is a logout, both ways.
 */
async function shareBothWays(x: string, y: string): Promise<void> {
  const visitor = new Client();
  await visitor.fetch(`${x}/add?item=tea`);
  await visitor.navigate(`${x}/plain`);
  await visitor.navigate(`${y}/plain`);
  assert.deepEqual(await me(visitor, y), { user: null, cart: ['tea'] }, 'the cart reaches y');

  // Login on y (regenerate: a new id, the old one destroyed): x follows after a navigation.
  assert.equal((await visitor.post(`${y}/login`, { user: 'ann' })).status, 303);
  await visitor.navigate(`${y}/`);
  assert.deepEqual(await me(visitor, y), { user: 'ann', cart: ['tea'] });
  await visitor.navigate(`${x}/plain`);
  assert.deepEqual(await me(visitor, x), { user: 'ann', cart: ['tea'] }, 'the login reaches x');

  // One session now: a change on x is seen on y at once.
  await visitor.fetch(`${x}/add?item=jam`);
  assert.deepEqual(await me(visitor, y), { user: 'ann', cart: ['tea', 'jam'] }, 'the cart change reaches y');

  // Logout on x: y follows after a navigation.
  assert.equal((await visitor.post(`${x}/logout`, {})).status, 303);
  await visitor.navigate(`${x}/`);
  assert.equal((await me(visitor, x)).user, null);
  await visitor.navigate(`${y}/plain`);
  assert.deepEqual(await me(visitor, y), { user: null, cart: [] }, 'the logout reaches y');

  // And the other way: login on x, seen on y; logout on y, seen on x.
  await visitor.post(`${x}/login`, { user: 'bob' });
  await visitor.navigate(`${x}/`);
  await visitor.navigate(`${y}/plain`);
  assert.equal((await me(visitor, y)).user, 'bob', 'the second login reaches y');
  await visitor.post(`${y}/logout`, {});
  await visitor.navigate(`${y}/`);
  await visitor.navigate(`${x}/plain`);
  assert.deepEqual(await me(visitor, x), { user: null, cart: [] }, 'the second logout reaches x');
}

describe('hop and push with Hono sites', () => {
  let dir: string;
  let redis: RedisServer | undefined;
  const stores: CallbackStore[] = [];
  const sites: Site[] = [];
  const sqlite = (): SqliteStore => {
    const store = new SqliteStore({ path: join(dir, 'sessions.sqlite') });
    stores.push(store);
    return store;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shared-session-hono-hop-'));
    redis = await startRedis();
  });
  after(async () => {
    await Promise.all(sites.map((site) => site.close()));
    for (const store of stores) await (store as unknown as { close(): unknown }).close();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function pair(kinds: readonly [Kind, Kind], store: () => CallbackStore): Promise<[string, string]> {
    const origins = [`http://x${kinds[0]}.localhost:${await freePort()}`, `http://y${kinds[1]}.localhost:${await freePort()}`];
    for (const [index, kind] of kinds.entries()) sites.push(await start(kind, origins[index]!, origins, store()));
    return origins as [string, string];
  }

  it('shares cart, login and logout between two Hono sites (SQLite)', async () => {
    const [x, y] = await pair(['hono', 'hono'], sqlite);
    await shareBothWays(x, y);
  });

  it('shares them between an Express hub and a Hono site on one SQLite store', async () => {
    const [x, y] = await pair(['express', 'hono'], sqlite);
    await shareBothWays(x, y);
  });

  it('shares them between a Hono hub and an Express site on one Redis', async () => {
    const redisStore = (): RedisStore => {
      const store = new RedisStore({ url: redis!.url });
      stores.push(store);
      return store;
    };
    const [x, y] = await pair(['hono', 'express'], redisStore);
    await shareBothWays(x, y);
  });

  it('pushes from a Hono page to an Express site and back: the voucher is taken on the next page load', async () => {
    const [x, y] = await pair(['hono', 'express'], sqlite);
    for (const [from, to] of [
      [x, y],
      [y, x],
    ] as const) {
      const visitor = new Client();
      await visitor.navigate(`${to}/plain`);
      await visitor.fetch(`${from}/add?item=pushed`);
      await visitor.navigate(`${from}/plain`);
      // The Express site renders its loader through shared.loader on a page of its own.
      const page = await visitor.fetch(`${from}/${from === x ? 'page' : 'loader'}`, { headers: { 'user-agent': 'Mozilla/5.0 Chrome/156.0.0.0' } });
      const src = scriptSources(page.body).find((source) => source.startsWith(to));
      assert.ok(src, `${from} mints a push to ${to}: ${page.body}`);
      const pushed = await visitor.fetch(src, { headers: scriptLoad(from) });
      assert.equal(pushed.headers['shared-session-reason'], 'ACCEPTED');
      await visitor.navigate(`${to}/plain`);
      assert.deepEqual((await me(visitor, to)).cart, ['pushed'], `${from} → ${to}`);
    }
  });
});
