import type { NextFunction, Request, RequestHandler, Response } from 'express';
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
import { ExpressSessionPort } from './express-session-port.ts';
import { keepHeaders } from './kept-headers.ts';
import { saveBeforeResponding } from './save-first.ts';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express types are extended through this global namespace.
  namespace Express {
    interface Locals {
      /** The loader HTML for this page, filled in just before `res.render` runs. Render it unescaped. */
      sharedSessionLoader?: string;
    }
  }
}

/** Options of the Express adapter: the core's, plus how to find the page's CSP nonce. */
export interface ExpressSharedSessionOptions extends SharedSessionOptions {
  /** The page's CSP nonce, copied onto the loader's script tags. Default: `res.locals.cspNonce` when it is a string. */
  nonce?: (req: Request, res: Response) => string | undefined;
}

/** The middleware, with the core's events and the loader function attached. */
export interface SharedSessionMiddleware extends RequestHandler {
  /** The framework-free core: its events and `sites` (the configured origins); nothing of it seals or opens tokens. */
  readonly core: SharedSession<Request>;
  /** Listen to the core's events (`sessionReplaced`, `rejected`, `warning`). A listener that throws becomes a `LISTENER_FAILED` warning; the request goes on. */
  on<E extends keyof SharedSessionEvents<Request>>(event: E, listener: (...args: SharedSessionEvents<Request>[E]) => void): this;
  /** Listen to the next `event` only. */
  once<E extends keyof SharedSessionEvents<Request>>(event: E, listener: (...args: SharedSessionEvents<Request>[E]) => void): this;
  /** Stop listening: removes the latest registration of `listener` for `event`. */
  off<E extends keyof SharedSessionEvents<Request>>(event: E, listener: (...args: SharedSessionEvents<Request>[E]) => void): this;
  /**
   * The loader HTML for a page you send without `res.render`: one `<script async>` per
   * other site. Resolves to '' when the session is empty.
   */
  loader(req: Request, res: Response, options?: LoaderOptions): Promise<string>;
}

/** Options the Express adapter adds to the core's. */
export const EXPRESS_OPTION_NAMES: ReadonlySet<string> = new Set(['nonce']);

function firstHeader(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

// Per-request state lives on the request under a symbol: a WeakMap entry per request
// cost the garbage collector more than the lookups it saved (instructions per request).
const FACTS = Symbol('shared-session facts');

/**
 * The request as the core sees it, made once per request (the loader asks again).
 * Host and scheme come from Express, so `trust proxy` is honoured.
 */
function factsOf(req: Request): RequestFacts<Request> {
  const holder = req as Request & { [FACTS]?: RequestFacts<Request> };
  return (holder[FACTS] ??= readFacts(req));
}

function readFacts(req: Request): RequestFacts<Request> {
  return new ExpressFacts(req);
}

/**
 * Facts read only when the core asks: Express's `req.host` and `req.secure` run the
 * trust-proxy check each time, and most requests (a page of a browser every site knows)
 * never need them.
 */
class ExpressFacts implements RequestFacts<Request> {
  readonly raw: Request;
  readonly method: string;
  readonly path: string;
  readonly search: string;
  #host: string | undefined | null = null;
  #https: boolean | undefined;

  constructor(req: Request) {
    this.raw = req;
    this.method = req.method;
    // originalUrl: the routes live at the site root even when the middleware is mounted on a sub-path.
    const url = req.originalUrl;
    const query = url.indexOf('?');
    this.path = query === -1 ? url : url.slice(0, query);
    this.search = query === -1 ? '' : url.slice(query);
  }

  get host(): string | undefined {
    if (this.#host === null) this.#host = this.raw.host;
    return this.#host;
  }

  get https(): boolean {
    return (this.#https ??= this.raw.secure);
  }

  header(name: string): string | undefined {
    return firstHeader(this.raw, name);
  }
}

const ORIGINAL_RENDER = Symbol('shared-session render');

interface RenderingResponse extends Response {
  [ORIGINAL_RENDER]: Response['render'];
}

function send(res: Response, reply: Reply): void {
  res.status(reply.status);
  for (const [name, value] of Object.entries(reply.headers)) res.setHeader(name, value);
  if (reply.cookies.length > 0) res.append('Set-Cookie', [...reply.cookies]);
  res.end(reply.body);
}

function defaultNonce(_req: Request, res: Response): string | undefined {
  const nonce: unknown = res.locals.cspNonce;
  return typeof nonce === 'string' ? nonce : undefined;
}

/**
 * Share express-session's session across unrelated domains. Mount it right after
 * `session(...)`: it answers the library's routes under `basePath`, gives every loaded
 * session this site's own cookie settings, and fills `res.locals.sharedSessionLoader`
 * before each `res.render`.
 *
 * @example
 * ```ts
 * import session from 'express-session';
 * import { sharedSession } from 'shared-session/express';
 * import { SqliteStore } from 'shared-session/sqlite';
 *
 * const shared = sharedSession({
 *   sites: ['https://example.com', 'https://example.de'],
 *   secret: process.env.SHARED_SESSION_SECRET!,
 * });
 * app.use(session({ secret: process.env.SESSION_SECRET!, store: new SqliteStore({ path: 'sessions.db' }),
 *   resave: false, saveUninitialized: false }));
 * app.use(shared);
 * // in a view: <%- sharedSessionLoader %>
 * ```
 */
export function sharedSession(options: ExpressSharedSessionOptions): SharedSessionMiddleware {
  const core = new SharedSession<Request>(options, EXPRESS_OPTION_NAMES);
  if (options.nonce !== undefined && typeof options.nonce !== 'function') {
    throw optionError('nonce', 'must be a function (req, res) => string | undefined', 'Pass e.g. `(req, res) => res.locals.cspNonce`.');
  }
  const nonceOf = options.nonce ?? defaultNonce;

  function warnNoSession(): void {
    warnNoSessionOnce(core, 'a request reached shared-session without req.session: mount express-session before it, and check that its store is connected');
  }

  async function run(req: Request, res: Response, next: NextFunction): Promise<void> {
    const facts = factsOf(req);
    const port = ExpressSessionPort.of(req);
    if (port) saveBeforeResponding(req, res);
    else warnNoSession();
    const handled = await core.handle(facts, port);
    if (handled.kind === 'reply') {
      // The library's own routes change the session only by adopting one (or noting who
      // holds it); anything else must leave no trace: no store write, no touch, no cookie,
      // whatever saveUninitialized or resave say.
      if (port && !port.changed) port.detach();
      send(res, handled.reply);
      return;
    }
    if (handled.cookies.length > 0) res.append('Set-Cookie', [...handled.cookies]);
    if (handled.headers) keepHeaders(res, handled.headers);
    passOn(res, next);
  }

  /** Hand the request to the app, with res.render filling in the loader first. */
  function passOn(res: Response, next: NextFunction): void {
    // Kept to be called later with this response as `this`.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    (res as RenderingResponse)[ORIGINAL_RENDER] = res.render;
    res.render = renderWithLoader;
    next();
  }

  // One function for every request (the request is `this.req`): no closure per request.
  function renderWithLoader(this: RenderingResponse, ...args: Parameters<Response['render']>): void {
    const req = this.req;
    const render = this[ORIGINAL_RENDER];
    core
      .loader(factsOf(req), ExpressSessionPort.of(req), { nonce: nonceOf(req, this) })
      .then((html) => {
        if (html !== '') keepHeaders(this, PRIVATE_RESPONSE_HEADERS);
        this.locals.sharedSessionLoader = html;
        // Express throws from res.render itself (no view engine, a missing engine): caught below.
        render.apply(this, args);
      })
      // Where Express would have caught it: to its error handling, never an unhandled
      // rejection (which ends the process).
      .catch((error: unknown) => (req.next ? req.next(error) : this.destroy(error instanceof Error ? error : new Error('render failed'))));
  }

  const middleware = ((req: Request, res: Response, next: NextFunction): void => {
    // Mounted twice on one request (app and router): once is all. Wrapping res.render or
    // res.end again would make a wrapper its own original and loop forever.
    if ((res as Partial<RenderingResponse>)[ORIGINAL_RENDER]) return next();
    // Most requests (assets, APIs, pages of a browser every site knows) concern neither
    // the library's routes nor a page load that needs anything: they pass on without a promise.
    const port = ExpressSessionPort.of(req);
    if (core.concerns(factsOf(req), port)) {
      run(req, res, next).catch(next);
      return;
    }
    if (port) saveBeforeResponding(req, res);
    else warnNoSession();
    passOn(res, next);
  }) as SharedSessionMiddleware;
  exposeCore(middleware, core);
  middleware.loader = async (req, res, loaderOptions) => {
    const html = await core.loader(factsOf(req), ExpressSessionPort.of(req), { nonce: nonceOf(req, res), ...loaderOptions });
    if (html !== '') keepHeaders(res, PRIVATE_RESPONSE_HEADERS);
    return html;
  };
  return middleware;
}

export type { LoaderOptions };
