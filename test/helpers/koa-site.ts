import Koa, { type Context } from 'koa';
import session from 'koa-session';
import { createServer, type Server } from 'node:http';
import { koaStore, sharedSession, type KoaSharedSessionMiddleware, type KoaSharedSessionOptions } from 'shared-session/koa';
import type { SpecEvent, SpecSiteOptions } from '../spec/site.ts';
import { SESSION_SECRET, SHARED_SECRET } from './sites.ts';

export interface KoaSite {
  readonly origin: string;
  readonly app: Koa;
  readonly shared: KoaSharedSessionMiddleware;
  readonly events: SpecEvent[];
  close(): Promise<void>;
}

export interface KoaSiteOptions extends SpecSiteOptions {
  readonly shared?: Partial<KoaSharedSessionOptions>;
  /** koa-session options over the spec's (`<label>.sid`, SameSite=Lax, HttpOnly, maxAgeMs). */
  readonly session?: Record<string, unknown>;
  /** How koa-session is mounted: with koaStore (default), in the cookie (no store), or not at all. */
  readonly sessionLayer?: 'store' | 'cookie' | 'none';
  /** Koa's `app.proxy`. */
  readonly proxy?: boolean;
  /** Listen on this port instead of the origin's. */
  readonly port?: number;
  /** Mount the view layer (ctx.render) after shared-session instead of before it. */
  readonly viewsAfter?: boolean;
  /** Routes before the spec's catch-all page (return true when handled). */
  readonly routes?: (ctx: Context, shared: KoaSharedSessionMiddleware) => Promise<boolean>;
}

interface Cart {
  cart?: string[];
  user?: string;
}

async function formBody(ctx: Context): Promise<URLSearchParams> {
  let text = '';
  for await (const chunk of ctx.req) text += String(chunk);
  return new URLSearchParams(text);
}

const escape = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * A real Koa app with koa-session (external store through koaStore) and shared-session,
 * serving the routes of the behavioural spec (test/spec/site.ts), plus `/render`: a page
 * through `ctx.render` (as koa-views sets it), which prints `ctx.state.sharedSessionLoader`.
 */
export async function startKoaSite(options: KoaSiteOptions): Promise<KoaSite> {
  const app = new Koa();
  app.keys = [SESSION_SECRET];
  if (options.proxy) app.proxy = true;
  const events: SpecEvent[] = [];
  const shared = sharedSession({ sites: options.sites, secret: SHARED_SECRET, ...options.shared });
  shared.on('rejected', ({ request: _request, ...event }) => events.push({ name: 'rejected', event }));
  shared.on('sessionReplaced', ({ request: _request, ...event }) => events.push({ name: 'sessionReplaced', event }));
  shared.on('warning', (event) => events.push({ name: 'warning', event }));
  const layer = options.sessionLayer ?? 'store';
  if (layer !== 'none') {
    app.use(
      session(
        {
          key: `${new URL(options.origin).hostname.split('.')[0]}.sid`,
          sameSite: 'lax',
          httpOnly: true,
          signed: true,
          maxAge: options.maxAgeMs ?? 3_600_000,
          ...(layer === 'store' ? { store: koaStore(options.store) } : {}),
          ...options.session,
        },
        app,
      ),
    );
  }
  // A view layer as koa-views mounts it: ctx.render set per request, before or after us.
  const views: Koa.Middleware = async (ctx, next) => {
    (ctx as Context & { render?: unknown }).render = (view: string) => {
      const loader = (ctx.state as { sharedSessionLoader?: string }).sharedSessionLoader ?? '';
      ctx.type = 'html';
      ctx.body = `<!doctype html><title>${escape(view)}</title><p>rendered ${escape(view)}</p>${loader}`;
    };
    await next();
  };
  if (options.viewsAfter) app.use(shared).use(views);
  else app.use(views).use(shared);
  app.use(async (ctx) => {
    const data = ctx.session as (Cart & Record<string, unknown>) | null | undefined;
    if (options.routes && (await options.routes(ctx, shared))) return;
    if (ctx.method === 'GET' && ctx.path === '/add') {
      const item = typeof ctx.query.item === 'string' ? ctx.query.item : 'item';
      if (data) data.cart = [...(data.cart ?? []), item];
      ctx.type = 'text';
      ctx.body = 'added\n';
      return;
    }
    if (ctx.method === 'GET' && ctx.path === '/whoami') {
      const held = data && (data.user !== undefined || data.cart !== undefined);
      ctx.body = { id: held ? (ctx.session as unknown as { externalKey?: string }).externalKey : null, user: data?.user ?? null, cart: data?.cart ?? [] };
      return;
    }
    if (ctx.method === 'POST' && ctx.path === '/login') {
      const form = await formBody(ctx);
      const user = form.get('user') ?? '';
      const session = ctx.session as unknown as (Cart & { regenerate(): Promise<void> }) | null;
      if (session) {
        // koa-session's regenerate keeps the data, destroys the old id and saves under a new one.
        session.user = user;
        await session.regenerate();
      }
      ctx.status = 303;
      ctx.redirect('/');
      return;
    }
    if (ctx.method === 'POST' && ctx.path === '/logout') {
      ctx.session = null;
      ctx.status = 303;
      ctx.redirect('/');
      return;
    }
    if (ctx.method === 'GET' && ctx.path === '/loaded') {
      ctx.type = 'html';
      ctx.body = `<p>page</p>${await shared.loader(ctx)}`;
      return;
    }
    if (ctx.method === 'GET' && ctx.path === '/render') {
      await (ctx as Context & { render(view: string): Promise<void> }).render('render');
      return;
    }
    if (ctx.method === 'GET') {
      const loader = await shared.loader(ctx);
      ctx.type = 'html';
      ctx.body = `<!doctype html><title>page</title><p>page ${escape(ctx.path)}</p>${loader}`;
    }
  });
  const handle = app.callback();
  const server: Server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(options.port ?? Number(new URL(options.origin).port), '127.0.0.1', resolve));
  return {
    origin: options.origin,
    app,
    shared,
    events,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
