import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Express } from 'express';
import type { Context } from 'koa';
import { RedisStore } from 'shared-session/redis';
import { SqliteStore } from 'shared-session/sqlite';
import type { CallbackStore } from '../../src/stores/callback-store.ts';
import type { SharedSessionMiddleware } from 'shared-session/express';
import { scriptSources, startExpressSite, type ExpressSite } from '../helpers/express-site.ts';
import { Client } from '../helpers/http.ts';
import { startKoaSite, type KoaSite } from '../helpers/koa-site.ts';
import { freePort } from '../helpers/ports.ts';
import { scriptLoad } from '../helpers/push.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';

const WEEK = 7 * 24 * 3_600_000;

interface Who {
  id: string | null;
  user: string | null;
  cart: string[];
}

/** The spec's routes on the Express helper site: login (regenerate, keep the cart), logout, whoami with the user, remember-me. */
function expressRoutes(app: Express, shared: SharedSessionMiddleware): void {
  app.get('/loaded', async (req, res) => {
    res.type('html').send(`<p>page</p>${await shared.loader(req, res)}`);
  });
  app.post('/login', (req, res, next) => {
    const cart = req.session.cart;
    req.session.regenerate((error) => {
      if (error) return next(error);
      if (cart) req.session.cart = cart;
      req.session.user = 'ada';
      req.session.save((saveError) => (saveError ? next(saveError) : res.redirect(303, '/')));
    });
  });
  app.post('/logout', (req, res, next) => req.session.destroy((error) => (error ? next(error) : res.redirect(303, '/'))));
  app.get('/me', (req, res) => {
    const held = req.session.user !== undefined || req.session.cart !== undefined;
    res.json({ id: held ? req.sessionID : null, user: req.session.user ?? null, cart: req.session.cart ?? [] });
  });
  app.get('/remember', (req, res) => {
    req.session.cookie.maxAge = WEEK;
    req.session.remembered = true;
    res.type('text').send('remembered\n');
  });
}

/** Koa requests parked at /slow until the test lets them go: to make saves overlap. */
const parked: (() => void)[] = [];

async function koaRoutes(ctx: Context): Promise<boolean> {
  if (ctx.path === '/slow') {
    const data = ctx.session as Record<string, unknown> | null;
    // Loaded now; changed and saved only after the other request saved.
    await new Promise<void>((resolve) => parked.push(resolve));
    if (data) data.note = typeof ctx.query.text === 'string' ? ctx.query.text : 'x';
    ctx.body = 'noted\n';
    return true;
  }
  if (ctx.path === '/me') {
    const data = ctx.session as { user?: string; cart?: string[]; externalKey?: string } | null;
    const held = data?.user !== undefined || data?.cart !== undefined;
    ctx.body = { id: held ? data?.externalKey : null, user: data?.user ?? null, cart: data?.cart ?? [] };
    return Promise.resolve(true);
  }
  const session = ctx.session as { maxAge?: number; remembered?: boolean } | null;
  if (ctx.path === '/remember' && session) {
    // koa-session's maxAge setter: this session's own lifetime, saved with it.
    session.maxAge = WEEK;
    session.remembered = true;
    ctx.body = 'remembered\n';
    return Promise.resolve(true);
  }
  return Promise.resolve(false);
}

declare module 'express-session' {
  interface SessionData {
    remembered: boolean;
  }
}

async function who(visitor: Client, origin: string): Promise<Who> {
  return JSON.parse((await visitor.fetch(`${origin}/me`)).body) as Who;
}

/** Expiry of the session cookie a response sets, in ms from now. */
function lifetimeOf(cookies: { name: string; expires?: Date; maxAge?: number }[], name: string): number | undefined {
  const cookie = cookies.find((item) => item.name === name);
  if (!cookie) return undefined;
  if (cookie.maxAge !== undefined) return cookie.maxAge * 1000;
  return cookie.expires ? cookie.expires.getTime() - Date.now() : Number.POSITIVE_INFINITY;
}

for (const kind of ['SQLite', 'Redis'] as const) {
  describe(`one Express site and one Koa site on one ${kind} store`, () => {
    let dir: string;
    let redis: RedisServer | undefined;
    const stores: CallbackStore[] = [];
    let express: ExpressSite;
    let koa: KoaSite;

    const storeFor = (): CallbackStore => {
      const store = kind === 'SQLite' ? new SqliteStore({ path: join(dir, 'sessions.sqlite') }) : new RedisStore({ url: redis!.url });
      stores.push(store);
      return store;
    };

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'shared-session-koa-mixed-'));
      if (kind === 'Redis') redis = await startRedis();
      const origins = [`http://ex.localhost:${await freePort()}`, `http://ko.localhost:${await freePort()}`];
      // One store instance for both sites: what the task of koaStore() is.
      const store = storeFor();
      express = await startExpressSite({ origin: origins[0]!, sites: origins, store, routes: expressRoutes });
      koa = await startKoaSite({ origin: origins[1]!, sites: origins, store, routes: koaRoutes });
    });

    after(async () => {
      await Promise.all([express?.close(), koa?.close()]);
      for (const store of stores) await (store as unknown as { close(): Promise<void> | void }).close();
      await redis?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('carries a login and a cart from Express to Koa, the cart back, and a logout on Koa back to Express', async () => {
      const visitor = new Client();
      await visitor.navigate(`${express.origin}/`);
      await visitor.navigate(`${koa.origin}/`);
      await visitor.fetch(`${express.origin}/add?item=tea`);
      assert.equal((await visitor.post(`${express.origin}/login`, {})).status, 303);
      await visitor.navigate(`${express.origin}/`);
      const onExpress = await who(visitor, express.origin);
      assert.deepEqual([onExpress.user, onExpress.cart], ['ada', ['tea']]);
      await visitor.navigate(`${koa.origin}/`);
      assert.deepEqual(await who(visitor, koa.origin), onExpress, 'Koa holds the Express login');
      // One record: what Koa adds, Express sees without a hop.
      await visitor.fetch(`${koa.origin}/add?item=milk`);
      assert.deepEqual((await who(visitor, express.origin)).cart, ['tea', 'milk']);
      assert.equal((await visitor.post(`${koa.origin}/logout`, {})).status, 303);
      await visitor.navigate(`${koa.origin}/`);
      assert.equal(await stores[0]!.get(onExpress.id!), null, 'Koa’s logout destroyed the shared record');
      await visitor.navigate(`${express.origin}/`);
      assert.deepEqual(await who(visitor, express.origin), { id: null, user: null, cart: [] });
    });

    it('carries a login and a cart from Koa to Express, and a logout on Express back to Koa', async () => {
      const visitor = new Client();
      await visitor.navigate(`${koa.origin}/`);
      await visitor.navigate(`${express.origin}/`);
      await visitor.fetch(`${koa.origin}/add?item=bread`);
      assert.equal((await visitor.post(`${koa.origin}/login`, { user: 'bob' })).status, 303);
      await visitor.navigate(`${koa.origin}/`);
      const onKoa = await who(visitor, koa.origin);
      assert.deepEqual([onKoa.user, onKoa.cart], ['bob', ['bread']]);
      await visitor.navigate(`${express.origin}/`);
      assert.deepEqual(await who(visitor, express.origin), onKoa, 'Express holds the Koa login');
      await visitor.fetch(`${express.origin}/add?item=jam`);
      assert.deepEqual((await who(visitor, koa.origin)).cart, ['bread', 'jam']);
      assert.equal((await visitor.post(`${express.origin}/logout`, {})).status, 303);
      await visitor.navigate(`${express.origin}/`);
      await visitor.navigate(`${koa.origin}/`);
      assert.deepEqual(await who(visitor, koa.origin), { id: null, user: null, cart: [] });
    });

    it('pushes both ways: a page of one framework loads the other’s script, whose next page load adopts without a hop', async () => {
      for (const [from, to] of [
        [express.origin, koa.origin],
        [koa.origin, express.origin],
      ] as const) {
        const visitor = new Client();
        // The receiver knows the browser (a voucher only saves the hop of a known browser).
        await visitor.navigate(`${to}/`);
        await visitor.fetch(`${from}/add?item=pushed`);
        // The page load links the session (an epoch to join), then the page mints.
        const sources = scriptSources((await visitor.navigate(`${from}/loaded`)).at(-1)!.body);
        assert.equal(sources.length, 1, `${from} mints one script for ${to}`);
        const pushed = await visitor.fetch(sources[0]!, { headers: scriptLoad(from) });
        assert.equal(pushed.headers['shared-session-reason'], 'ACCEPTED');
        const steps = await visitor.navigate(`${to}/`);
        assert.equal(steps.length, 1, 'no hop: the voucher settled the page');
        assert.deepEqual((await who(visitor, to)).cart, ['pushed']);
      }
    });

    it('merges overlapping saves of the two frameworks: a slow Koa request does not undo the cart Express saved meanwhile', async () => {
      const visitor = new Client();
      await visitor.navigate(`${express.origin}/`);
      await visitor.navigate(`${koa.origin}/`);
      await visitor.fetch(`${express.origin}/add?item=first`);
      await visitor.navigate(`${express.origin}/`);
      await visitor.navigate(`${koa.origin}/`);
      const slow = visitor.fetch(`${koa.origin}/slow?text=hello`);
      while (parked.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      await visitor.fetch(`${express.origin}/add?item=second`);
      parked.shift()!();
      assert.equal((await slow).body, 'noted\n');
      const record = (await stores[0]!.get((await who(visitor, express.origin)).id!)) as Record<string, unknown>;
      assert.deepEqual(record.cart, ['first', 'second'], 'Express’s save is kept');
      assert.equal(record.note, 'hello', 'and Koa’s');
    });

    it('keeps each session’s lifetime both ways: remember-me set on one framework is the other’s cookie lifetime', async () => {
      for (const [from, to, cookie] of [
        [express.origin, koa.origin, 'ko.sid'],
        [koa.origin, express.origin, 'ex.sid'],
      ] as const) {
        const visitor = new Client();
        await visitor.navigate(`${from}/`);
        await visitor.navigate(`${to}/`);
        await visitor.fetch(`${from}/add?item=x`);
        assert.equal((await visitor.fetch(`${from}/remember`)).body, 'remembered\n');
        await visitor.navigate(`${from}/`);
        const steps = await visitor.navigate(`${to}/`);
        const lifetime = lifetimeOf(steps.flatMap((step) => step.setCookies), cookie);
        assert.ok(lifetime !== undefined, `${to} sends its session cookie on adoption`);
        assert.ok(Math.abs(lifetime - WEEK) < 60_000, `${to} keeps the week (${lifetime} ms), not its own hour`);
        assert.deepEqual((await who(visitor, to)).cart, ['x']);
      }
    });
  });
}
