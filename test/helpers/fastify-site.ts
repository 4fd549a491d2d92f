import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import fastifySession, { type FastifySessionOptions } from '@fastify/session';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { sharedSession, type FastifySharedSessionOptions, type SharedSessionPlugin } from 'shared-session/fastify';
import { SESSION_SECRET, SHARED_SECRET } from './sites.ts';

declare module 'fastify' {
  interface Session {
    cart?: string[];
    user?: string;
  }
}

export interface FastifySite {
  readonly origin: string;
  readonly app: FastifyInstance;
  readonly shared: SharedSessionPlugin;
  close(): Promise<void>;
}

export interface FastifySiteOptions {
  origin: string;
  sites: readonly string[];
  /** A store of ours (or any callback store @fastify/session takes). */
  store: NonNullable<FastifySessionOptions['store']>;
  /** @fastify/session's options over the defaults below. */
  session?: Partial<FastifySessionOptions>;
  shared?: Partial<FastifySharedSessionOptions>;
  /** Leave shared-session out: @fastify/session alone, the status quo (as bench/adapters.ts measures it). */
  withoutShared?: boolean;
  /** Leave @fastify/session out (a setup mistake, for tests of it). */
  noSession?: boolean;
  /** Fastify's `trustProxy`. */
  trustProxy?: FastifyServerOptions['trustProxy'];
  /** Listen on this port instead of the origin's. */
  port?: number;
  /** Routes added after the plugins. */
  routes?: (app: FastifyInstance, shared: SharedSessionPlugin) => void;
}

/**
 * A real Fastify app with @fastify/cookie, @fastify/session and shared-session, listening on
 * the origin's port on 127.0.0.1, with the routes of the behavioural spec (test/spec/site.ts):
 * /add, /whoami, POST /login, POST /logout, and a page with the loader for any other GET.
 */
export async function startFastifySite(options: FastifySiteOptions): Promise<FastifySite> {
  const app = Fastify(options.trustProxy === undefined ? {} : { trustProxy: options.trustProxy });
  const shared = sharedSession({ sites: options.sites, secret: SHARED_SECRET, ...options.shared });
  await app.register(fastifyCookie);
  await app.register(fastifyFormbody);
  if (!options.noSession) {
    const sessionOptions: FastifySessionOptions = {
      cookieName: `${new URL(options.origin).hostname.split('.')[0]}.sid`,
      secret: SESSION_SECRET,
      store: options.store,
      saveUninitialized: false,
      // @fastify/session's default is Secure, which it silently skips on plain http.
      cookie: { secure: 'auto', sameSite: 'lax', httpOnly: true, maxAge: 3_600_000 },
      ...options.session,
    };
    await app.register(fastifySession, sessionOptions);
  }
  if (options.withoutShared) app.decorateReply('sharedSessionLoader', () => Promise.resolve(''));
  else await app.register(shared);
  app.get('/add', async (request, reply) => {
    const item = (request.query as { item?: unknown }).item;
    request.session.cart = [...(request.session.cart ?? []), typeof item === 'string' ? item : 'item'];
    return reply.type('text/plain').send('added\n');
  });
  app.get('/whoami', (request, reply) => {
    const session = request.session as typeof request.session | null | undefined;
    const held = session?.cart !== undefined || session?.user !== undefined;
    return reply.send({ id: held ? session.sessionId : null, user: session?.user ?? null, cart: session?.cart ?? [] });
  });
  app.post('/login', async (request, reply) => {
    const user = (request.body as { user?: unknown } | undefined)?.user;
    await request.session.regenerate(['cart']);
    request.session.user = typeof user === 'string' ? user : 'someone';
    await request.session.save();
    return reply.redirect('/', 303);
  });
  app.post('/logout', async (request, reply) => {
    await request.session.destroy();
    return reply.redirect('/', 303);
  });
  options.routes?.(app, shared);
  app.get('/*', async (request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    return reply.type('text/html; charset=utf-8').send(`<!doctype html><title>page</title><p>page ${path}</p>${await reply.sharedSessionLoader()}`);
  });
  await app.listen({ port: options.port ?? Number(new URL(options.origin).port), host: '127.0.0.1' });
  return { origin: options.origin, app, shared, close: () => app.close() };
}
