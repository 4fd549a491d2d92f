import { optionError, warnNoSession } from '../core/adapter.ts';
import {
  PRIVATE_RESPONSE_HEADERS,
  SharedSession,
  type LoaderOptions,
  type Reply,
  type RequestFacts,
  type SharedSessionEvents,
  type SharedSessionOptions,
} from '../index.ts';
import { WebSession, WebSessionConfig, type WebSessionOptions } from './session.ts';

export { WEB_SESSION_OPTION_NAMES, WebSession, type WebSessionOptions, type WebSessionStore, type SessionRecord, type StoredCookie, type SessionSecret } from './session.ts';
export type { LoaderOptions };

/**
 * `shared-session/fetch`: the library on a Web-standard `Request`/`Response`, with our own
 * session layer (./session.ts). Frameworks built on the Fetch API call it from their hook:
 * Hono's middleware (`shared-session/hono`), Next.js middleware or route handlers,
 * SvelteKit's `handle`, Astro's middleware, a bare `Bun.serve`/`Deno.serve` handler.
 */

/** Options of the fetch handler: the core's, the session layer's, and two of its own. */
export interface FetchSharedSessionOptions extends SharedSessionOptions {
  /** The session layer: its store, cookie secret and cookie settings. */
  session: WebSessionOptions;
  /**
   * Take host and scheme from `X-Forwarded-Host` / `X-Forwarded-Proto` (first value).
   * Only behind a proxy that sets both and drops what clients send: otherwise a direct
   * request could claim any host. Default false: the request URL's own.
   */
  trustProxy?: boolean;
  /** The page's CSP nonce, copied onto the loader's script tags. Default: none. */
  nonce?: (request: Request) => string | undefined;
}

/** What `handle` made of a request. */
export type HandleResult = { readonly response: Response } | Pass;

/** The request goes on to the app, with its session. */
export interface Pass {
  readonly response?: undefined;
  /** The request's session: read and change `session.data`; `regenerate()` at login, `destroy()` at logout. */
  readonly session: WebSession;
  /** The loader HTML for this page: one `<script async>` per other site; '' when there is nothing to send. */
  loader(options?: LoaderOptions): Promise<string>;
  /**
   * The app's response with what the library adds: the session saved when it changed (a
   * store failure gives a 503 instead: nothing acknowledged that was not stored), its
   * cookie, the core's cookies, and `Cache-Control: private, no-store` / `Vary: Cookie`
   * where a cookie of ours or a loader goes out. Adds them to the app's Response, or
   * returns a copy with them when its headers are immutable (a fetch() result).
   */
  finish(response: Response): Promise<Response>;
}

/** The handler, with the core's events. */
export interface SharedSessionHandler {
  /** The framework-free core: its events and `sites`; nothing of it seals or opens tokens. */
  readonly core: SharedSession<Request>;
  /** Answer the library's routes (and a hop's first step) with a Response, or pass the request on with its session. */
  handle(request: Request): Promise<HandleResult>;
  on<E extends keyof SharedSessionEvents<Request>>(event: E, listener: (...args: SharedSessionEvents<Request>[E]) => void): this;
  once<E extends keyof SharedSessionEvents<Request>>(event: E, listener: (...args: SharedSessionEvents<Request>[E]) => void): this;
  off<E extends keyof SharedSessionEvents<Request>>(event: E, listener: (...args: SharedSessionEvents<Request>[E]) => void): this;
}

/** Options the fetch handler adds to the core's. */
export const FETCH_OPTION_NAMES: ReadonlySet<string> = new Set(['session', 'trustProxy', 'nonce']);

const STORE_FAILED_BODY = 'the session store is unavailable; try again\n';

function firstValue(header: string | null): string | undefined {
  if (header === null) return undefined;
  const first = header.split(',')[0]?.trim();
  return first === '' ? undefined : first;
}

/** The request as the core sees it. */
export function requestFacts(request: Request, trustProxy: boolean): RequestFacts<Request> {
  const url = new URL(request.url);
  let host: string | undefined = url.host;
  let https = url.protocol === 'https:';
  if (trustProxy) {
    const forwardedHost = firstValue(request.headers.get('x-forwarded-host'));
    const forwardedProto = firstValue(request.headers.get('x-forwarded-proto'));
    if (forwardedHost !== undefined) host = forwardedHost;
    if (forwardedProto !== undefined) https = forwardedProto.toLowerCase() === 'https';
  }
  return {
    raw: request,
    method: request.method,
    path: url.pathname,
    search: url.search,
    host: host === '' ? undefined : host,
    https,
    header: (name) => request.headers.get(name) ?? undefined,
  };
}

/** Add `headers` to `target`: `Vary` merged with the app's, the others replace it. */
function addHeaders(target: Headers, headers: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(headers)) {
    if (name !== 'vary') {
      target.set(name, value);
      continue;
    }
    const list = (target.get('vary') ?? '').split(',').map((item) => item.trim()).filter(Boolean);
    if (!list.some((item) => item === '*' || item.toLowerCase() === value.toLowerCase())) target.set('vary', [...list, value].join(', '));
  }
}

function replyResponse(reply: Reply, cookies: readonly string[]): Response {
  const headers = new Headers(reply.headers);
  for (const cookie of [...reply.cookies, ...cookies]) headers.append('set-cookie', cookie);
  if (cookies.length > 0) addHeaders(headers, PRIVATE_RESPONSE_HEADERS);
  // 204/304 and HEAD answers carry no body.
  return new Response(reply.status === 204 || reply.status === 304 || reply.body === '' ? null : reply.body, { status: reply.status, headers });
}

function storeFailed(): Response {
  return new Response(STORE_FAILED_BODY, { status: 503, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' } });
}

/**
 * Share one session across unrelated domains on any Fetch-API server.
 *
 * @example
 * ```ts
 * const shared = sharedSessionHandler({
 *   sites: ['https://example.com', 'https://example.de'],
 *   secret: process.env.SHARED_SESSION_SECRET!,
 *   session: { store: new SqliteStore({ path: 'sessions.db' }), secret: process.env.SESSION_SECRET! },
 * });
 * export default { async fetch(request: Request) {
 *   const result = await shared.handle(request);
 *   if (result.response) return result.response;
 *   result.session.data.visits = Number(result.session.data.visits ?? 0) + 1;
 *   const page = `<!doctype html><p>hello</p>${await result.loader()}`;
 *   return result.finish(new Response(page, { headers: { 'content-type': 'text/html' } }));
 * } };
 * ```
 */
export function sharedSessionHandler(options: FetchSharedSessionOptions, extraOptionKeys: ReadonlySet<string> = new Set()): SharedSessionHandler {
  const core = new SharedSession<Request>(options, new Set([...FETCH_OPTION_NAMES, ...extraOptionKeys]));
  const sessionConfig = new WebSessionConfig(options.session);
  const trustProxy = options.trustProxy ?? false;
  if (typeof trustProxy !== 'boolean') throw optionError('trustProxy', 'must be a boolean', 'Set it true only behind a proxy that sets X-Forwarded-Host and X-Forwarded-Proto.');
  if (options.nonce !== undefined && typeof options.nonce !== 'function') throw optionError('nonce', 'must be a function (request) => string | undefined', 'Pass e.g. `(request) => nonceOf(request)`.');
  const nonceOf = options.nonce ?? (() => undefined);

  async function handle(request: Request): Promise<HandleResult> {
    const facts = requestFacts(request, trustProxy);
    let session: WebSession | undefined;
    try {
      session = await WebSession.load(sessionConfig, { cookieHeader: request.headers.get('cookie') ?? undefined, https: facts.https });
    } catch {
      // The store is down: the core refuses its routes (STORE_UNAVAILABLE) and pages go on without a session.
      session = undefined;
      warnNoSession(core, 'the session store failed to load a session; requests go on without one until it answers');
    }
    const handled = await core.handle(facts, session);
    if (handled.kind === 'reply') {
      // The library's routes change the session only by adopting one (or noting who holds
      // it); anything else leaves no trace: no store write, no cookie.
      if (!session?.changed) return { response: replyResponse(handled.reply, []) };
      try {
        return { response: replyResponse(handled.reply, await session.commit()) };
      } catch {
        return { response: storeFailed() };
      }
    }
    if (!session) {
      // No session to hand over: the app's own routes need one, so answer as Express would with its store down.
      return { response: storeFailed() };
    }
    const live = session;
    let loaderSent = false;
    return {
      session: live,
      async loader(loaderOptions?: LoaderOptions): Promise<string> {
        const html = await core.loader(facts, live, { nonce: nonceOf(request), ...loaderOptions });
        if (html !== '') loaderSent = true;
        return html;
      },
      async finish(response: Response): Promise<Response> {
        let cookies: string[];
        try {
          cookies = await live.commit();
        } catch {
          return storeFailed();
        }
        const all = [...handled.cookies, ...cookies];
        if (all.length === 0 && !handled.headers && !loaderSent) return response;
        const add = (headers: Headers): void => {
          for (const cookie of all) headers.append('set-cookie', cookie);
          if (handled.headers) addHeaders(headers, handled.headers);
          if (all.length > 0 || loaderSent) addHeaders(headers, PRIVATE_RESPONSE_HEADERS);
        };
        // Onto the app's own headers where they are mutable: a copy loses what the runtime
        // adds implicitly (Bun keeps the text/plain of `new Response('text')` out of
        // `headers` until it sends, so a copy went out as application/octet-stream; found by
        // test/runtimes). Immutable headers (a fetch() result, Response.redirect()) throw on
        // the first change, before any lands: those are copied.
        try {
          add(response.headers);
          return response;
        } catch {
          const headers = new Headers(response.headers);
          add(headers);
          return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
        }
      },
    };
  }

  const handler: SharedSessionHandler = {
    core,
    handle,
    on(event, listener) {
      core.on(event, listener);
      return this;
    },
    once(event, listener) {
      core.once(event, listener);
      return this;
    },
    off(event, listener) {
      core.off(event, listener);
      return this;
    },
  };
  return handler;
}
