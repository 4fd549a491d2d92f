import type { Context, Middleware, Next } from 'koa';
import { exposeCore, optionError, warnNoSession as warnNoSessionOnce } from '../core/adapter.ts';
import {
  PRIVATE_RESPONSE_HEADERS,
  SharedSession,
  type LoaderOptions,
  type Reply,
  type RequestFacts,
  type SharedSessionEvents,
  type SharedSessionOptions,
} from '../index.ts';
import { KoaSessionPort } from './koa-session-port.ts';

export { koaStore, type ExpressShapedStore, type KoaExternalStore } from './koa-store.ts';

/** Options of the Koa adapter: the core's, plus how to find the page's CSP nonce. */
export interface KoaSharedSessionOptions extends SharedSessionOptions {
  /** The page's CSP nonce, copied onto the loader's script tags. Default: `ctx.state.cspNonce` when it is a string. */
  nonce?: (ctx: Context) => string | undefined;
}

/** The middleware, with the core's events and the loader function attached. */
export interface KoaSharedSessionMiddleware extends Middleware {
  /** The framework-free core: its events and `sites`; nothing of it seals or opens tokens. */
  readonly core: SharedSession<Context>;
  /** Listen to the core's events (`sessionReplaced`, `rejected`, `warning`). */
  on<E extends keyof SharedSessionEvents<Context>>(event: E, listener: (...args: SharedSessionEvents<Context>[E]) => void): this;
  /** Listen to the next `event` only. */
  once<E extends keyof SharedSessionEvents<Context>>(event: E, listener: (...args: SharedSessionEvents<Context>[E]) => void): this;
  /** Stop listening: removes the latest registration of `listener` for `event`. */
  off<E extends keyof SharedSessionEvents<Context>>(event: E, listener: (...args: SharedSessionEvents<Context>[E]) => void): this;
  /** The loader HTML for this page (one `<script async>` per other site); '' when the session is empty. */
  loader(ctx: Context, options?: LoaderOptions): Promise<string>;
}

/** Options the Koa adapter adds to the core's. */
export const KOA_OPTION_NAMES: ReadonlySet<string> = new Set(['nonce']);

// Per-request state on the context under symbols (see the Express adapter's FACTS).
const FACTS = Symbol('shared-session facts');
const SEEN = Symbol('shared-session seen');
const KEPT = Symbol('shared-session kept headers');

type Holder = Context & { [FACTS]?: RequestFacts<Context>; [SEEN]?: true; [KEPT]?: Record<string, string>; [LOADER]?: Loader };

/**
 * The request as the core sees it. Host and scheme come from Koa (`ctx.host`,
 * `ctx.protocol`), which read `X-Forwarded-Host` / `X-Forwarded-Proto` only when
 * `app.proxy` is set: the app's trust decision, as with Express's `trust proxy`.
 */
function factsOf(ctx: Context): RequestFacts<Context> {
  const holder = ctx as Holder;
  return (holder[FACTS] ??= {
    raw: ctx,
    method: ctx.method,
    path: ctx.path,
    search: ctx.search,
    get host() {
      const host = ctx.host;
      return host === '' ? undefined : host;
    },
    get https() {
      return ctx.protocol === 'https';
    },
    header(name: string) {
      const value = ctx.req.headers[name];
      return Array.isArray(value) ? value[0] : value;
    },
  });
}

/** Set `headers` now; `keep` sets them again once the app is done, so that it cannot loosen them. */
function keepHeaders(ctx: Context, headers: Readonly<Record<string, string>>): void {
  const holder = ctx as Holder;
  holder[KEPT] = { ...holder[KEPT], ...headers };
  applyKept(ctx);
}

function applyKept(ctx: Context): void {
  const kept = (ctx as Holder)[KEPT];
  if (!kept) return;
  for (const [name, value] of Object.entries(kept)) {
    // Vary is added to, never replaced.
    if (name === 'vary') ctx.vary(value);
    else ctx.set(name, value);
  }
}

function send(ctx: Context, reply: Reply): void {
  ctx.status = reply.status;
  for (const [name, value] of Object.entries(reply.headers)) ctx.set(name, value);
  if (reply.cookies.length > 0) ctx.append('Set-Cookie', [...reply.cookies]);
  ctx.body = reply.body;
}

function defaultNonce(ctx: Context): string | undefined {
  const nonce: unknown = (ctx.state as { cspNonce?: unknown }).cspNonce;
  return typeof nonce === 'string' ? nonce : undefined;
}

type Render = (...args: unknown[]) => unknown;
type Loader = (ctx: Context) => Promise<string>;

const LOADER = Symbol('shared-session loader');
const RENDER = Symbol('shared-session render');
const rendering = new WeakSet<object>();

interface RenderHolder {
  [LOADER]?: Loader;
  [RENDER]?: unknown;
  state: Record<string, unknown>;
}

/**
 * Make `ctx.render` (koa-views and the like assign it on each request, before or after this
 * middleware) fill in `ctx.state.sharedSessionLoader` first. An accessor on the app's
 * context prototype, installed once per app: defining a property on every request's
 * context cost more than the rest of the middleware.
 */
function renderWithLoader(ctx: Context): void {
  const proto = Object.getPrototypeOf(ctx) as object;
  if (!rendering.has(proto)) {
    rendering.add(proto);
    const existing = Object.getOwnPropertyDescriptor(proto, 'render');
    // Another library's accessor: leave it alone (`loader(ctx)` still works).
    if (existing && !('value' in existing)) return;
    Object.defineProperty(proto, 'render', {
      configurable: true,
      get(this: RenderHolder): unknown {
        const render = RENDER in this ? this[RENDER] : (existing?.value as unknown);
        const loader = this[LOADER];
        if (typeof render !== 'function' || !loader) return render;
        const ctx = this as unknown as Context;
        return async function renderWithLoader(this: unknown, ...args: unknown[]): Promise<unknown> {
          ctx.state.sharedSessionLoader = await loader(ctx);
          return (render as Render).apply(this, args);
        };
      },
      set(this: RenderHolder, render: unknown) {
        this[RENDER] = render;
      },
    });
  }
  // A view layer mounted before this middleware, on the very first request: its own property.
  const own = Object.getOwnPropertyDescriptor(ctx, 'render');
  if (own && 'value' in own) {
    delete (ctx as { render?: unknown }).render;
    (ctx as unknown as RenderHolder)[RENDER] = own.value;
  }
}

/**
 * Share koa-session's session across unrelated domains. koa-session must use an external
 * store wrapped by {@link koaStore}; mount this right after it. It answers the library's
 * routes under `basePath` before the app's, keeps the browser's session in step on page
 * loads, and fills `ctx.state.sharedSessionLoader` before each `ctx.render` (koa-views and
 * the like), or gives the loader HTML through `loader(ctx)`.
 *
 * @example
 * ```ts
 * import Koa from 'koa';
 * import session from 'koa-session';
 * import { sharedSession, koaStore } from 'shared-session/koa';
 * import { SqliteStore } from 'shared-session/sqlite';
 *
 * const app = new Koa();
 * app.keys = [process.env.SESSION_SECRET!];
 * app.use(session({ key: 'shop.sid', store: koaStore(new SqliteStore({ path: 'sessions.db' })), sameSite: 'lax' }, app));
 * app.use(sharedSession({ sites: ['https://example.com', 'https://example.de'], secret: process.env.SHARED_SESSION_SECRET! }));
 * ```
 */
export function sharedSession(options: KoaSharedSessionOptions): KoaSharedSessionMiddleware {
  const core = new SharedSession<Context>(options, KOA_OPTION_NAMES);
  if (options.nonce !== undefined && typeof options.nonce !== 'function') {
    throw optionError('nonce', 'must be a function (ctx) => string | undefined', 'Pass e.g. `(ctx) => ctx.state.cspNonce`.');
  }
  const nonceOf = options.nonce ?? defaultNonce;

  function portOf(ctx: Context): KoaSessionPort | undefined {
    const port = KoaSessionPort.of(ctx);
    if (port === 'no-session') {
      warnNoSessionOnce(core, 'a request reached shared-session without ctx.session: mount koa-session (with `store: koaStore(store)`) before it');
      return undefined;
    }
    if (port === 'no-store') {
      warnNoSessionOnce(core, 'koa-session has no store of koaStore(): sessions kept in the cookie, or in another store, cannot be shared; pass `store: koaStore(store)`');
      return undefined;
    }
    return port;
  }

  async function loader(ctx: Context, loaderOptions?: LoaderOptions): Promise<string> {
    const html = await core.loader(factsOf(ctx), portOf(ctx), { nonce: nonceOf(ctx), ...loaderOptions });
    if (html !== '') keepHeaders(ctx, PRIVATE_RESPONSE_HEADERS);
    return html;
  }

  const middleware = (async (ctx: Context, next: Next): Promise<void> => {
    const holder = ctx as Holder;
    // Mounted twice on one request (app and router): once is all.
    if (holder[SEEN]) {
      await next();
      return;
    }
    holder[SEEN] = true;
    const facts = factsOf(ctx);
    const port = portOf(ctx);
    holder[LOADER] = loader;
    renderWithLoader(ctx);
    // Most requests concern neither the library's routes nor a page load that needs anything.
    if (core.concerns(facts, port)) {
      const handled = await core.handle(facts, port);
      if (handled.kind === 'reply') {
        // The library's own routes change the session only by adopting one (or noting who
        // holds it); anything else leaves no trace: no save, no cookie, whatever `rolling` says.
        if (port && !port.changed) port.leaveNoTrace();
        send(ctx, handled.reply);
        return;
      }
      if (handled.cookies.length > 0) ctx.append('Set-Cookie', [...handled.cookies]);
      if (handled.headers) keepHeaders(ctx, handled.headers);
    }
    await next();
    // The app may have set its own Cache-Control: the core's headers win.
    applyKept(ctx);
  }) as KoaSharedSessionMiddleware;
  exposeCore(middleware, core);
  middleware.loader = loader;
  return middleware;
}

export type { LoaderOptions };
