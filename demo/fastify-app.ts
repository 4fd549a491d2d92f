import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import fastifySession, { type FastifySessionOptions } from '@fastify/session';
import Fastify, { type FastifyError, type FastifyReply } from 'fastify';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { sharedSession, type SharedSessionPlugin } from 'shared-session/fastify';
import type { DemoSiteOptions } from './app.ts';
import { CROSS_SITE_TEXT, FORM_LIMIT, STORE_DOWN_TEXT, checkItem, clientErrorText, homeView, renderHome, serverErrorStatus, siteName } from './page.ts';
import { checkLogin } from './users.ts';

declare module 'fastify' {
  interface Session {
    cart?: string[];
    user?: string;
  }
}

/** A form body as @fastify/formbody leaves it: an object for a form, anything else otherwise. */
function formOf(body: unknown): Record<string, unknown> {
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
}

/** True when a form post names a charset other than UTF-8, which the form parser would misread (Express answers 415 too). */
function foreignCharset(contentType: string | undefined): boolean {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')?.[1];
  return charset !== undefined && charset.toLowerCase() !== 'utf-8';
}

/**
 * The demo site of app.ts on Fastify 5: @fastify/cookie, @fastify/formbody, @fastify/session
 * on the demo's store, and shared-session/fastify. Same routes, same page, same answers.
 * Resolves a request listener for node:http (the demo serves it on 127.0.0.1 and ::1).
 */
export async function createFastifyDemo(options: DemoSiteOptions): Promise<{ listener: RequestListener; shared: SharedSessionPlugin; close(): Promise<void> }> {
  const name = siteName(options.origin);
  const log = options.log ?? ((line: string) => console.log(line));
  let listener: RequestListener | undefined;
  const app = Fastify({
    bodyLimit: FORM_LIMIT,
    // server.ts listens itself (two loopback addresses): keep Fastify's handler and give it
    // a server that is never started.
    serverFactory: (handler: (req: IncomingMessage, res: ServerResponse) => void) => {
      listener = handler;
      return { on: () => undefined } as unknown as Server;
    },
    // A malformed percent escape in the path is the client's mistake: 400 and a fixed text.
    frameworkErrors: (_error, _request, reply) => {
      void (reply as FastifyReply).code(400).type('text/plain; charset=utf-8').send(clientErrorText(400));
    },
  });

  const shared = sharedSession({
    sites: options.sites,
    secret: options.secret,
    hop: options.hop ?? true,
    ...(options.sharingStore ? { sharingStore: options.sharingStore } : {}),
  });
  shared.on('sessionReplaced', (event) => log(`[${name}] took over the session from ${event.source} (${event.mechanism})`));
  shared.on('rejected', (event) => log(`[${name}] refused ${event.request.method} ${event.mechanism}: ${event.reason} (${event.status})`));
  shared.on('warning', (event) => log(`[${name}] warning ${event.code}: ${event.message}`));

  await app.register(fastifyCookie);
  await app.register(fastifyFormbody);
  const sessionOptions: FastifySessionOptions = {
    cookieName: `${name}.sid`,
    secret: options.sessionSecret,
    store: options.store as unknown as NonNullable<FastifySessionOptions['store']>,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax', secure: false, path: '/', maxAge: 7 * 24 * 3600 * 1000 },
  };
  await app.register(fastifySession, sessionOptions);
  await app.register(shared);

  // Login CSRF and cross-site posts: every form post must come from this site's own pages.
  app.addHook('preValidation', async (request, reply) => {
    if (request.method !== 'POST') return;
    if (request.headers.origin !== options.origin) return reply.code(403).type('text/plain; charset=utf-8').send(CROSS_SITE_TEXT);
  });
  // The charset is checked before the body is read, as Express's body parser does.
  app.addHook('onRequest', async (request, reply) => {
    if (request.method === 'POST' && foreignCharset(request.headers['content-type'])) return reply.code(415).type('text/plain; charset=utf-8').send(clientErrorText(415));
  });

  app.get('/', async (request, reply) => {
    const session = request.session;
    const view = homeView(options.origin, options.sites, 'fastify', {
      user: session.user,
      sessionId: session.sessionId,
      cart: session.cart ?? [],
      loginQuery: (request.query as Record<string, unknown>).login,
    }, await reply.sharedSessionLoader());
    return reply.type('text/html; charset=utf-8').send(await renderHome(view));
  });

  app.get('/whoami', async (request, reply) => {
    const session = request.session;
    const held = session.user !== undefined || session.cart !== undefined;
    return reply.send({ site: name, user: session.user ?? null, sessionId: held ? session.sessionId : null, cart: session.cart ?? [] });
  });

  app.post('/login', async (request, reply) => {
    const form = formOf(request.body);
    const user = checkLogin(form.username, form.password);
    // The message goes in the URL, not the session (no store write per failed login).
    if (!user) return reply.redirect('/?login=failed', 303);
    // A new session id at login (session fixation); the anonymous cart comes along.
    await request.session.regenerate(['cart']);
    request.session.user = user;
    await request.session.save();
    return reply.redirect('/', 303);
  });

  app.post('/cart', async (request, reply) => {
    const cart = request.session.cart ?? [];
    const checked = checkItem(formOf(request.body).item, cart);
    if ('status' in checked) return reply.code(checked.status).type('text/plain; charset=utf-8').send(checked.text);
    request.session.cart = [...cart, checked.item];
    return reply.redirect('/', 303);
  });

  app.post('/logout', async (request, reply) => {
    await request.session.destroy();
    reply.clearCookie(`${name}.sid`, { path: '/' });
    return reply.redirect('/', 303);
  });

  app.setErrorHandler((error: FastifyError, _request, reply) => {
    // A bad request (body too large, a content type no parser takes, a malformed body) is
    // the client's mistake: its own status and a fixed text, nothing logged.
    const code = error.statusCode;
    if (code !== undefined && code >= 400 && code < 500 && error.code !== undefined && error.code.startsWith('FST_')) {
      return reply.code(code).type('text/plain; charset=utf-8').send(clientErrorText(code));
    }
    const status = serverErrorStatus(error);
    log(`[${name}] ${status === 503 ? 'store unavailable' : 'error'}: ${status === 503 ? error.message : error.stack}`);
    if (status === 503) reply.header('retry-after', '5');
    return reply.code(status).type('text/plain; charset=utf-8').send(status === 503 ? STORE_DOWN_TEXT : 'internal error\n');
  });

  await app.ready();
  if (!listener) throw new Error('Fastify did not hand over its request handler');
  return { listener, shared, close: () => app.close() };
}
