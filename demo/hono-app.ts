import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { RequestListener } from 'node:http';
import { sharedSession, type HonoSharedSession, type WebSessionStore } from 'shared-session/hono';
import type { DemoSiteOptions } from './app.ts';
import { CROSS_SITE_TEXT, FORM_LIMIT, STORE_DOWN_TEXT, checkItem, clientErrorText, homeView, renderHome, serverErrorStatus, siteName } from './page.ts';
import { checkLogin } from './users.ts';

const text = (body: string, status: number, headers: Record<string, string> = {}): Response =>
  new Response(body, { status, headers: { 'content-type': 'text/plain; charset=utf-8', ...headers } });

/** True when a form post names a charset other than UTF-8, which the form parser would misread (Express answers 415 too). */
function foreignCharset(contentType: string | undefined): boolean {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')?.[1];
  return charset !== undefined && charset.toLowerCase() !== 'utf-8';
}

/** The form fields of a post, or none when it is no form (Hono's parseBody answers {} then too). */
async function formOf(request: Request): Promise<Record<string, unknown>> {
  const type = request.headers.get('content-type') ?? '';
  if (!/^application\/x-www-form-urlencoded\b/i.test(type)) return {};
  return Object.fromEntries(new URLSearchParams(await request.text()));
}

const asCart = (value: unknown): string[] => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);

/**
 * The demo site of app.ts on Hono 4: shared-session/hono's own session layer on the demo's
 * store (the record format is express-session's, so the Express and Fastify sites read what
 * it writes), served by @hono/node-server. Same routes, same page, same answers.
 */
export function createHonoDemo(options: DemoSiteOptions): { listener: RequestListener; shared: HonoSharedSession } {
  const name = siteName(options.origin);
  const log = options.log ?? ((line: string) => console.log(line));
  const shared = sharedSession({
    sites: options.sites,
    secret: options.secret,
    hop: options.hop ?? true,
    ...(options.sharingStore ? { sharingStore: options.sharingStore } : {}),
    session: {
      store: options.store as unknown as WebSessionStore,
      secret: options.sessionSecret,
      name: `${name}.sid`,
      cookie: { httpOnly: true, sameSite: 'lax', secure: false, maxAge: 7 * 24 * 3600 * 1000 },
    },
  });
  shared.on('sessionReplaced', (event) => log(`[${name}] took over the session from ${event.source} (${event.mechanism})`));
  shared.on('rejected', (event) => log(`[${name}] refused ${event.request.method} ${event.mechanism}: ${event.reason} (${event.status})`));
  shared.on('warning', (event) => log(`[${name}] warning ${event.code}: ${event.message}`));

  const app = new Hono();
  // A malformed percent escape in the path: Hono would route it undecoded (a 404); Express
  // and Fastify answer 400, and so does this site.
  app.use(async (c, next) => {
    try {
      decodeURIComponent(new URL(c.req.url).pathname);
    } catch {
      return text(clientErrorText(400), 400);
    }
    await next();
  });
  // The session layer answers a store failure itself (503, before the route runs, or
  // instead of a response it could not save). The demo's other sites send Retry-After and
  // their own text with theirs: so does this one. No other 503 comes from this app.
  app.use(async (c, next) => {
    await next();
    if (c.res.status === 503 && !c.res.headers.has('retry-after')) {
      c.res = undefined;
      c.res = text(STORE_DOWN_TEXT, 503, { 'retry-after': '5', 'cache-control': 'no-store' });
    }
  });
  app.use(shared);
  app.post('*', async (c, next) => {
    // Login CSRF and cross-site posts: every form post must come from this site's own pages.
    if (c.req.header('origin') !== options.origin) return text(CROSS_SITE_TEXT, 403);
    if (foreignCharset(c.req.header('content-type'))) return text(clientErrorText(415), 415);
    await next();
  });
  app.post('*', bodyLimit({ maxSize: FORM_LIMIT, onError: () => text(clientErrorText(413), 413) }));

  app.get('/', async (c) => {
    const session = c.get('session');
    const user = typeof session.data.user === 'string' ? session.data.user : undefined;
    const view = homeView(options.origin, options.sites, 'hono', { user, sessionId: session.id, cart: asCart(session.data.cart), loginQuery: c.req.query('login') }, await shared.loader(c));
    return c.html(await renderHome(view));
  });

  app.get('/whoami', (c) => {
    const { data, id } = c.get('session');
    const user = typeof data.user === 'string' ? data.user : null;
    return c.json({ site: name, user, sessionId: user !== null || data.cart !== undefined ? id : null, cart: asCart(data.cart) });
  });

  app.post('/login', async (c) => {
    const form = await formOf(c.req.raw);
    const user = checkLogin(form.username, form.password);
    // The message goes in the URL, not the session (no store write per failed login).
    if (!user) return c.redirect('/?login=failed', 303);
    // A new session id at login (session fixation); the anonymous cart comes along.
    const session = c.get('session');
    const cart = session.data.cart;
    await session.regenerate();
    if (cart !== undefined) session.data.cart = cart;
    session.data.user = user;
    await session.save();
    return c.redirect('/', 303);
  });

  app.post('/cart', async (c) => {
    const session = c.get('session');
    const cart = asCart(session.data.cart);
    const checked = checkItem((await formOf(c.req.raw)).item, cart);
    if ('status' in checked) return text(checked.text, checked.status);
    session.data.cart = [...cart, checked.item];
    return c.redirect('/', 303);
  });

  app.post('/logout', async (c) => {
    // The session layer clears its cookie with the session.
    await c.get('session').destroy();
    return c.redirect('/', 303);
  });

  app.onError((error) => {
    const status = serverErrorStatus(error);
    log(`[${name}] ${status === 503 ? 'store unavailable' : 'error'}: ${status === 503 ? error.message : error.stack}`);
    return status === 503 ? text(STORE_DOWN_TEXT, 503, { 'retry-after': '5' }) : text('internal error\n', 500);
  });

  const handle = getRequestListener(app.fetch);
  // @hono/node-server answers its own errors (a 500) and resolves: nothing to await here.
  return { listener: (req, res) => void handle(req, res), shared };
}
