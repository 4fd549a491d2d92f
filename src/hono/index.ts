import type { Context, MiddlewareHandler } from 'hono';
import { exposeCore, optionError } from '../core/adapter.ts';
import type { LoaderOptions, SharedSession, SharedSessionEvents } from '../index.ts';
import { sharedSessionHandler, type FetchSharedSessionOptions, type Pass, type WebSession } from '../web/index.ts';

export { WebSession, type WebSessionOptions, type WebSessionStore, type SessionRecord } from '../web/index.ts';
export type { LoaderOptions };

declare module 'hono' {
  interface ContextVariableMap {
    /** The visitor's session (shared-session/hono): `data` to read and change, `regenerate()` at login, `destroy()` at logout. */
    session: WebSession;
  }
}

/** Options of the Hono middleware: the fetch handler's, with the nonce read from Hono's context. */
export interface HonoSharedSessionOptions extends Omit<FetchSharedSessionOptions, 'nonce'> {
  /** The page's CSP nonce for the loader's script tags. Default: `c.get('secureHeadersNonce')` (hono/secure-headers with NONCE). */
  nonce?: (c: Context) => string | undefined;
}

/** The middleware, with the core's events and the loader. */
export interface HonoSharedSession extends MiddlewareHandler {
  readonly core: SharedSession<Request>;
  /** The loader HTML for the page this context answers: '' when there is nothing to send. Put it in the page unescaped. */
  loader(c: Context, options?: LoaderOptions): Promise<string>;
  on<E extends keyof SharedSessionEvents<Request>>(event: E, listener: (...args: SharedSessionEvents<Request>[E]) => void): this;
  once<E extends keyof SharedSessionEvents<Request>>(event: E, listener: (...args: SharedSessionEvents<Request>[E]) => void): this;
  off<E extends keyof SharedSessionEvents<Request>>(event: E, listener: (...args: SharedSessionEvents<Request>[E]) => void): this;
}

/** Options the Hono adapter adds to the fetch handler's. */
export const HONO_OPTION_NAMES: ReadonlySet<string> = new Set(['nonce']);

// The pass of the request, on the context under a symbol of ours (not a variable an app may overwrite).
const PASS = Symbol('shared-session pass');
type Holding = Context & { [PASS]?: Pass };

function defaultNonce(c: Context): string | undefined {
  const nonce: unknown = c.get('secureHeadersNonce' as never);
  return typeof nonce === 'string' ? nonce : undefined;
}

/**
 * Share one session across unrelated domains in a Hono app: mount it first
 * (`app.use(shared)`); routes read `c.get('session')`, pages add `await shared.loader(c)`.
 *
 * @example
 * ```ts
 * const shared = sharedSession({
 *   sites: ['https://example.com', 'https://example.de'],
 *   secret: process.env.SHARED_SESSION_SECRET!,
 *   session: { store: new SqliteStore({ path: 'sessions.db' }), secret: process.env.SESSION_SECRET! },
 * });
 * app.use(shared);
 * app.get('/', async (c) => c.html(`<p>hello ${c.get('session').data.user ?? ''}</p>${await shared.loader(c)}`));
 * ```
 */
export function sharedSession(options: HonoSharedSessionOptions): HonoSharedSession {
  if (options.nonce !== undefined && typeof options.nonce !== 'function') {
    throw optionError('nonce', 'must be a function (c) => string | undefined', "Pass e.g. `(c) => c.get('secureHeadersNonce')`.");
  }
  const { nonce, ...rest } = options;
  const nonceOf = nonce ?? defaultNonce;
  // `nonce` is this adapter's option, not one the core refuses as unknown.
  const handler = sharedSessionHandler(rest, HONO_OPTION_NAMES);

  const middleware = (async (c, next) => {
    const holding = c as Holding;
    // Mounted twice (app and sub-app): once is all.
    if (holding[PASS]) return next();
    const result = await handler.handle(c.req.raw);
    if (result.response) return result.response;
    holding[PASS] = result;
    c.set('session', result.session);
    await next();
    const finished = await result.finish(c.res);
    if (finished !== c.res) {
      // Hono's `c.res =` copies the old response's headers over the new one, Set-Cookie
      // included: clear it first, as `finished` already holds every header of the app's.
      c.res = undefined;
      c.res = finished;
    }
  }) as HonoSharedSession;
  exposeCore(middleware, handler.core, handler);
  middleware.loader = async (c, loaderOptions) => {
    const pass = (c as Holding)[PASS];
    if (!pass) return '';
    return pass.loader({ nonce: nonceOf(c), ...loaderOptions });
  };
  return middleware;
}
