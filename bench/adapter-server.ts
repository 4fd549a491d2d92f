/**
 * The adapters' server process: for each framework, the same little app on the framework's
 * own session middleware alone (the baseline) and with shared-session's adapter (a site and
 * the hub it hops through), every app on its own loopback port, all on one SQLite file
 * (a store instance each). Prints one JSON line `{"ready": {name: port, …}}` when all listen.
 *
 *   express   express-session                     + shared-session/express
 *   fastify   @fastify/cookie + @fastify/session  + shared-session/fastify
 *   koa       koa-session over koaStore()         + shared-session/koa
 *   hono      @hono/session over the same store   + shared-session/hono (its own session layer)
 *
 * Routes: GET /add (puts a cart in the session), GET /page (the cart, with the loader when shared).
 */
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import { getRequestListener } from '@hono/node-server';
import { useSession, useSessionStorage, type SessionEnv } from '@hono/session';
import express from 'express';
import expressSession from 'express-session';
import Fastify from 'fastify';
import { Hono } from 'hono';
import Koa from 'koa';
import koaSession from 'koa-session';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { sharedSession as expressShared } from 'shared-session/express';
import { sharedSession as fastifyShared } from 'shared-session/fastify';
import { sharedSession as honoShared } from 'shared-session/hono';
import { koaStore, sharedSession as koaShared } from 'shared-session/koa';
import { SqliteStore } from 'shared-session/sqlite';
import { ADAPTERS, adapterSites, type Adapter } from './adapters.ts';
import { SESSION_SECRET } from './apps.ts';

const { values } = parseArgs({ options: { store: { type: 'string' }, secret: { type: 'string' } } });
const SECRET = values.secret!;
const MAX_AGE = 3_600_000;
// @hono/session wants 32 bytes, hex-encoded.
const HONO_SESSION_SECRET = '5f2b8c0e9d41a7736e0f5c2d19ab84e07c3d6f1a2b4e8c9d0f1e2a3b4c5d6e7f';
const stores: SqliteStore[] = [];

function store(): SqliteStore {
  const opened = new SqliteStore({ path: values.store! });
  stores.push(opened);
  return opened;
}

const page = (cart: readonly string[], loader: string): string => `<!doctype html><title>shop</title><h1>Cart</h1><ul>${cart.map((item) => `<li>${item}</li>`).join('')}</ul>${loader}`;
// No health checks: the origins' ports are not where the apps listen (the load generator maps them).
const sharedOptions = (adapter: Adapter) => ({ sites: adapterSites(adapter), secret: SECRET, hubProbe: false });

type Cart = { cart?: string[] };

function expressApp(shared: boolean, adapter: Adapter = 'express'): RequestListener {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use(expressSession({ secret: SESSION_SECRET, store: store(), resave: false, saveUninitialized: false, name: 'bench.sid', cookie: { maxAge: MAX_AGE, sameSite: 'lax' } }));
  const middleware = shared ? expressShared(sharedOptions(adapter)) : undefined;
  if (middleware) app.use(middleware);
  app.get('/add', (req, res) => {
    (req.session as unknown as Cart).cart = ['tea', 'milk'];
    res.send('added\n');
  });
  app.get('/page', async (req, res) => {
    const loader = middleware ? await middleware.loader(req, res) : '';
    res.type('html').send(page((req.session as unknown as Cart).cart ?? [], loader));
  });
  return app;
}

async function fastifyApp(shared: boolean): Promise<Server> {
  const app = Fastify();
  await app.register(fastifyCookie);
  await app.register(fastifySession, { secret: SESSION_SECRET, store: store(), saveUninitialized: false, cookieName: 'bench.sid', cookie: { secure: 'auto', sameSite: 'lax', httpOnly: true, maxAge: MAX_AGE } });
  if (shared) await app.register(fastifyShared(sharedOptions('fastify')));
  app.get('/add', (request, reply) => {
    (request.session as unknown as Cart).cart = ['tea', 'milk'];
    return reply.send('added\n');
  });
  app.get('/page', async (request, reply) => {
    const loader = shared ? await reply.sharedSessionLoader() : '';
    return reply.type('text/html').send(page((request.session as unknown as Cart).cart ?? [], loader));
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return app.server;
}

function koaApp(shared: boolean): RequestListener {
  const app = new Koa();
  app.keys = [SESSION_SECRET];
  app.use(koaSession({ key: 'bench.sid', store: koaStore(store()), sameSite: 'lax', maxAge: MAX_AGE }, app));
  const middleware = shared ? koaShared(sharedOptions('koa')) : undefined;
  if (middleware) app.use(middleware);
  app.use(async (ctx) => {
    const session = ctx.session as unknown as Cart;
    if (ctx.path === '/add') {
      session.cart = ['tea', 'milk'];
      ctx.body = 'added\n';
      return;
    }
    const loader = middleware ? await middleware.loader(ctx) : '';
    ctx.type = 'html';
    ctx.body = page(session.cart ?? [], loader);
  });
  const handle = app.callback();
  return (req, res) => void handle(req, res);
}

function honoPlain(): RequestListener {
  // @hono/session (honojs/middleware) keeping its session data in one of our stores, by id.
  const sessions = store();
  const app = new Hono<SessionEnv<Cart>>();
  app.use(
    useSessionStorage({
      get: async (sid) => ((await sessions.get(sid)) as Cart | null) ?? null,
      // @hono/session does not wait for its storage's writes (its `set` returns void).
      set: (sid, data) => {
        sessions.set(sid, { ...data, cookie: { originalMaxAge: MAX_AGE, expires: new Date(Date.now() + MAX_AGE) } }).catch((error: unknown) => console.error(error));
      },
      delete: (sid) => {
        sessions.destroy(sid).catch((error: unknown) => console.error(error));
      },
    }),
    useSession({ secret: HONO_SESSION_SECRET, duration: { absolute: MAX_AGE / 1000 } }),
  );
  app.get('/add', async (c) => {
    await c.var.session.update({ cart: ['tea', 'milk'] });
    return c.text('added\n');
  });
  app.get('/page', async (c) => c.html(page((await c.var.session.get())?.cart ?? [], '')));
  const handle = getRequestListener(app.fetch);
  return (req, res) => void handle(req, res);
}

function honoWithShared(): RequestListener {
  const shared = honoShared({ ...sharedOptions('hono'), session: { store: store(), secret: SESSION_SECRET, name: 'bench.sid', cookie: { maxAge: MAX_AGE } } });
  const app = new Hono();
  app.use(shared);
  app.get('/add', (c) => {
    c.get('session').data.cart = ['tea', 'milk'];
    return c.text('added\n');
  });
  app.get('/page', async (c) => c.html(page((c.get('session').data.cart as string[] | undefined) ?? [], await shared.loader(c))));
  const handle = getRequestListener(app.fetch);
  return (req, res) => void handle(req, res);
}

function listen(listener: RequestListener): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer(listener).listen(0, '127.0.0.1', () => resolve(server));
  });
}

// Per framework: `<name>` the baseline, `<name>+shared` the site measured, `<name>+hub` the hub it hops through once.
const servers: Record<string, Server> = {};
for (const adapter of ADAPTERS) {
  if (adapter === 'express') {
    servers.express = await listen(expressApp(false));
    servers['express+shared'] = await listen(expressApp(true));
    servers['express+hub'] = await listen(expressApp(true));
  } else if (adapter === 'fastify') {
    servers.fastify = await fastifyApp(false);
    servers['fastify+shared'] = await fastifyApp(true);
    servers['fastify+hub'] = await fastifyApp(true);
  } else if (adapter === 'koa') {
    servers.koa = await listen(koaApp(false));
    servers['koa+shared'] = await listen(koaApp(true));
    servers['koa+hub'] = await listen(koaApp(true));
  } else {
    servers.hono = await listen(honoPlain());
    servers['hono+shared'] = await listen(honoWithShared());
    servers['hono+hub'] = await listen(honoWithShared());
  }
}
const ports: Record<string, number> = Object.fromEntries(Object.entries(servers).map(([name, server]) => [name, (server.address() as AddressInfo).port]));
// The control port: this process's CPU time, read around each measurement (bench/load.ts).
const control = createServer((_req, res) => {
  const { user, system } = process.cpuUsage();
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ cpuMicros: user + system }));
});
await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
ports.control = (control.address() as AddressInfo).port;
console.log(JSON.stringify({ ready: ports }));
process.on('SIGTERM', () => {
  for (const opened of stores) opened.close();
  setImmediate(() => process.exit(0));
});
