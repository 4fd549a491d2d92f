import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import type { Store } from 'express-session';
import { after, before, describe, it } from 'node:test';
import { RedisStore } from 'shared-session/redis';
import { SqliteStore } from 'shared-session/sqlite';
import { scriptSources, startExpressSite, type ExpressSite } from '../helpers/express-site.ts';
import { startFastifySite, type FastifySite } from '../helpers/fastify-site.ts';
import { Client, NAVIGATION_HEADERS } from '../helpers/http.ts';
import { freePort } from '../helpers/ports.ts';
import { scriptLoad } from '../helpers/push.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';

/** A store of ours, as both session layers take it. */
type SiteStore = Store & (SqliteStore | RedisStore);

interface Who {
  id: string | null;
  user: string | null;
  cart: string[];
}

/** Who a site says the visitor is, whatever its framework: Fastify's /whoami, the Express site's /me (its helper has a /whoami of its own). */
async function who(visitor: Client, origin: string): Promise<Who> {
  const path = origin.startsWith('http://x.') ? '/me' : '/whoami';
  const { id, user, cart } = JSON.parse((await visitor.fetch(`${origin}${path}`)).body) as Who;
  return { id, user, cart };
}

async function login(visitor: Client, origin: string, user: string): Promise<void> {
  assert.equal((await visitor.post(`${origin}/login`, { user })).status, 303);
}

async function logout(visitor: Client, origin: string): Promise<void> {
  assert.equal((await visitor.post(`${origin}/logout`, {})).status, 303);
}

/** The spec routes on the Express helper's site: /me (the spec's /whoami), login and logout, a page with the loader. */
const expressRoutes: NonNullable<Parameters<typeof startExpressSite>[0]['routes']> = (app, shared) => {
  app.get('/me', (req, res) => {
    const held = req.session?.cart !== undefined || req.session?.user !== undefined;
    res.json({ id: held ? req.sessionID : null, user: req.session?.user ?? null, cart: req.session?.cart ?? [] });
  });
  app.post('/login', express.urlencoded({ extended: false }), (req, res, next) => {
    const cart = req.session.cart;
    req.session.regenerate((error) => {
      if (error) return next(error);
      if (cart) req.session.cart = cart;
      req.session.user = typeof (req.body as { user?: unknown }).user === 'string' ? (req.body as { user: string }).user : 'someone';
      req.session.save((saveError) => (saveError ? next(saveError) : res.redirect(303, '/')));
    });
  });
  app.post('/logout', (req, res, next) => req.session.destroy((error) => (error ? next(error) : res.redirect(303, '/'))));
  app.get('/page', async (req, res) => {
    res.type('html').send(`<!doctype html><title>page</title><p>page /page</p>${await shared.loader(req, res)}`);
  });
};

/**
 * One Express site and one Fastify site on one store: one login, one cart, one logout,
 * whichever framework the visitor meets first, by the hop and by the push.
 */
function mixedSuite(name: string, makeStore: () => Promise<{ store: () => SiteStore; close(): Promise<void> }>): void {
  describe(`an Express site and a Fastify site on one ${name} store`, () => {
    let x: ExpressSite;
    let f: FastifySite;
    let handle: { store: () => SiteStore; close(): Promise<void> };
    before(async () => {
      handle = await makeStore();
      const origins = [`http://x.localhost:${await freePort()}`, `http://f.localhost:${await freePort()}`];
      x = await startExpressSite({ origin: origins[0]!, sites: origins, store: handle.store(), routes: expressRoutes });
      f = await startFastifySite({ origin: origins[1]!, sites: origins, store: handle.store() });
    });
    after(async () => {
      await x.close();
      await f.close();
      await handle.close();
    });

    it('hop: a login and cart on Express are Fastify’s after a navigation, its cart additions Express’s, a logout on Fastify ends both', async () => {
      const visitor = new Client();
      await visitor.navigate(`${x.origin}/`);
      await visitor.fetch(`${x.origin}/add?item=tea`);
      await login(visitor, x.origin, 'ada');
      await visitor.navigate(`${x.origin}/`);
      const onX = await who(visitor, x.origin);
      assert.deepEqual([onX.user, onX.cart], ['ada', ['tea']]);
      await visitor.navigate(`${f.origin}/shop`);
      assert.deepEqual(await who(visitor, f.origin), onX, 'Fastify holds Express’s session');
      await visitor.fetch(`${f.origin}/add?item=milk`);
      await visitor.navigate(`${x.origin}/`);
      assert.deepEqual(await who(visitor, x.origin), { ...onX, cart: ['tea', 'milk'] }, 'Express reads the record Fastify saved');
      await logout(visitor, f.origin);
      await visitor.navigate(`${f.origin}/`);
      await visitor.navigate(`${x.origin}/`);
      assert.deepEqual(await who(visitor, x.origin), { id: null, user: null, cart: [] }, 'logged out on Express too');
      assert.deepEqual(await who(visitor, f.origin), { id: null, user: null, cart: [] });
    });

    it('hop: a login on Fastify is Express’s after a navigation, and a logout on Express ends both', async () => {
      const visitor = new Client();
      await visitor.navigate(`${f.origin}/`);
      await visitor.fetch(`${f.origin}/add?item=bread`);
      await login(visitor, f.origin, 'bo');
      await visitor.navigate(`${f.origin}/whoami`);
      const onF = await who(visitor, f.origin);
      assert.deepEqual([onF.user, onF.cart], ['bo', ['bread']]);
      await visitor.navigate(`${x.origin}/elsewhere`);
      assert.deepEqual(await who(visitor, x.origin), onF, 'Express holds Fastify’s session');
      await visitor.fetch(`${x.origin}/add?item=jam`);
      await visitor.navigate(`${f.origin}/whoami`);
      assert.deepEqual(await who(visitor, f.origin), { ...onF, cart: ['bread', 'jam'] }, 'Fastify reads the record Express saved');
      await logout(visitor, x.origin);
      await visitor.navigate(`${x.origin}/`);
      await visitor.navigate(`${f.origin}/whoami`);
      assert.deepEqual(await who(visitor, f.origin), { id: null, user: null, cart: [] }, 'logged out on Fastify too');
    });

    it('push: Fastify’s loader hands its login to Express by a script; a cart added on Express is Fastify’s; a logout on Express ends both', async () => {
      const visitor = new Client();
      // The browser knows both sites (a first page each): a voucher saves the hop of a known browser.
      await visitor.navigate(`${x.origin}/whoami`);
      await visitor.navigate(`${f.origin}/whoami`);
      await login(visitor, f.origin, 'cy');
      await visitor.navigate(`${f.origin}/whoami`);
      const onF = await who(visitor, f.origin);
      const page = (await visitor.navigate(`${f.origin}/page`)).at(-1)!;
      const toX = scriptSources(page.body).find((src) => src.startsWith(x.origin));
      assert.ok(toX, 'Fastify’s page pushes to Express');
      const pushed = await visitor.fetch(toX, { headers: scriptLoad(f.origin) });
      assert.equal(pushed.headers['shared-session-reason'], 'ACCEPTED');
      // One page load on Express takes the voucher: no hop.
      const visit = await visitor.fetch(`${x.origin}/whoami`, { headers: NAVIGATION_HEADERS });
      assert.equal(visit.status, 200);
      assert.deepEqual(await who(visitor, x.origin), onF);
      // And back: a cart added on Express, pushed to Fastify. Both hold one record: Fastify sees it at once.
      await visitor.fetch(`${x.origin}/add?item=figs`);
      assert.deepEqual((await who(visitor, f.origin)).cart, ['figs']);
      await logout(visitor, x.origin);
      await visitor.navigate(`${x.origin}/whoami`);
      await visitor.navigate(`${f.origin}/whoami`);
      assert.deepEqual(await who(visitor, f.origin), { id: null, user: null, cart: [] });
    });

    it('push: Express’s loader hands its login to Fastify by a script; Fastify adopts it with its own cookie; a logout on Fastify ends both', async () => {
      const visitor = new Client();
      await visitor.navigate(`${f.origin}/whoami`);
      await visitor.navigate(`${x.origin}/me`);
      await visitor.fetch(`${x.origin}/add?item=salt`);
      await login(visitor, x.origin, 'di');
      await visitor.navigate(`${x.origin}/me`);
      const onX = await who(visitor, x.origin);
      assert.deepEqual([onX.user, onX.cart], ['di', ['salt']]);
      const page = (await visitor.navigate(`${x.origin}/page`)).at(-1)!;
      const toF = scriptSources(page.body).find((src) => src.startsWith(f.origin));
      assert.ok(toF, 'Express’s page pushes to Fastify');
      assert.equal((await visitor.fetch(toF, { headers: scriptLoad(x.origin) })).headers['shared-session-reason'], 'ACCEPTED');
      const visit = await visitor.fetch(`${f.origin}/whoami`, { headers: NAVIGATION_HEADERS });
      assert.equal(visit.status, 200, 'no hop: the voucher is taken');
      const cookie = visit.setCookies.find((c) => c.name === 'f.sid');
      assert.ok(cookie, 'Fastify sends its own session cookie');
      assert.equal(cookie.sameSite, 'lax');
      assert.equal(cookie.domain, undefined);
      // The two signed cookies differ in format (express-session's `s:` prefix, none without
      // cookiePrefix in @fastify/session): each site reads only its own, so sharing needs neither.
      assert.ok(!decodeURIComponent(cookie.value ?? '').startsWith('s:'));
      assert.ok(decodeURIComponent(visitor.cookies(x.origin).get('x.sid') ?? '').startsWith('s:'));
      assert.deepEqual(await who(visitor, f.origin), onX);
      await logout(visitor, f.origin);
      await visitor.navigate(`${f.origin}/whoami`);
      await visitor.navigate(`${x.origin}/me`);
      assert.deepEqual(await who(visitor, x.origin), { id: null, user: null, cart: [] });
    });
  });
}

mixedSuite('SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shared-session-fastify-mixed-'));
  const instances: SqliteStore[] = [];
  return Promise.resolve({
    store: () => {
      const instance = new SqliteStore({ path: join(dir, 'sessions.sqlite') });
      instances.push(instance);
      return instance;
    },
    close: () => {
      for (const instance of instances) instance.close();
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  });
});

// Redis too, on a throwaway server of its own (test/helpers/redis-server.ts): one store instance per site, as with one process per site.
mixedSuite('Redis', async () => {
  const server: RedisServer = await startRedis();
  const instances: RedisStore[] = [];
  return {
    store: () => {
      const instance = new RedisStore({ url: server.url });
      instances.push(instance);
      return instance;
    },
    close: async () => {
      for (const instance of instances) await instance.close();
      await server.stop();
    },
  };
});
