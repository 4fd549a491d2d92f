import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import Fastify from 'fastify';
import { sharedSession } from 'shared-session/fastify';
import { SqliteStore } from 'shared-session/sqlite';

// Every site runs this same app with its own PORT; all of them list all the sites.
const sites = (process.env.SITES ?? 'https://example.com,https://example.de').split(',');

const shared = sharedSession({
  sites,
  secret: process.env.SHARED_SESSION_SECRET!, // the same on every site: `openssl rand -base64 48`
});
shared.on('rejected', (event) => console.warn(`shared-session refused a request: ${event.reason}`));

const app = Fastify();
await app.register(fastifyCookie);
await app.register(fastifySession, {
  secret: process.env.SESSION_SECRET!,
  store: new SqliteStore({ path: process.env.SESSION_DB ?? 'sessions.sqlite' }), // one store for every site, Express sites too
  saveUninitialized: false,
  // secure: 'auto' (or true behind https only): @fastify/session's default `true` drops the session on plain http.
  cookie: { secure: 'auto', sameSite: 'lax', maxAge: 7 * 24 * 3600 * 1000 },
});
await app.register(shared); // after @fastify/session

app.post('/cart', async (request, reply) => {
  request.session.cart = [...(request.session.cart ?? []), 'tea'];
  return reply.redirect('/', 303);
});

app.get('/', async (request, reply) => {
  // With @fastify/view: reply.view('page', { sharedSessionLoader: await reply.sharedSessionLoader() }), printed unescaped.
  const loader = await reply.sharedSessionLoader();
  return reply.type('text/html').send(`<!doctype html><p>cart: ${(request.session.cart ?? []).length} items</p>${loader}`);
});

declare module 'fastify' {
  interface Session {
    cart?: string[];
  }
}

await app.listen({ port: Number(process.env.PORT ?? 3000) });
