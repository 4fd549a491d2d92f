import { sharedSessionHandler, type Pass, type SharedSessionHandler } from 'shared-session/fetch';
import { SqliteStore } from 'shared-session/sqlite';

// One handler per process, built on the first request (its options are checked then): Next
// evaluates every route module at build time, when the site's secrets are not there.
let handler: SharedSessionHandler | undefined;
export function shared(): SharedSessionHandler {
  if (handler) return handler;
  handler = sharedSessionHandler({
    sites: (process.env.SITES ?? 'https://example.com,https://example.de').split(','),
    secret: process.env.SHARED_SESSION_SECRET!,
    session: {
      store: new SqliteStore({ path: process.env.SESSION_DB ?? 'sessions.sqlite' }), // one store for every site, Express ones too
      secret: process.env.SESSION_SECRET!, // signs this site's session cookie
      name: process.env.SESSION_COOKIE ?? 'next.sid',
      cookie: { sameSite: 'lax', maxAge: 7 * 24 * 3600 * 1000 },
    },
  });
  handler.on('rejected', (event) => console.warn(`shared-session refused a request: ${event.reason}`));
  return handler;
}

/**
 * The request as this site sees it. Next builds a route's `request.url` from the address it
 * listens on, not from the site's name: `ORIGIN` (this site's own origin, as in `sites`)
 * gives the library and the CSRF check the host and scheme the visitor used.
 */
export async function siteRequest(request: Request): Promise<Request> {
  const origin = process.env.ORIGIN;
  if (origin === undefined) return request;
  const url = new URL(request.url);
  const body = request.method === 'GET' || request.method === 'HEAD' ? null : await request.arrayBuffer();
  return new Request(new URL(`${url.pathname}${url.search}`, origin), { method: request.method, headers: request.headers, body });
}

/**
 * A route handler with the session: Next's middleware cannot hand a route the session
 * object, so each route runs the handler itself. The library's answer (a hop step) goes out
 * as it is; the route's own response goes through `finish()`, which saves the session.
 */
export function withSession(route: (request: Request, pass: Pass) => Promise<Response>): (request: Request) => Promise<Response> {
  return async (incoming) => {
    const request = await siteRequest(incoming);
    const result = await shared().handle(request);
    if (result.response) return result.response;
    return result.finish(await route(request, result));
  };
}

/**
 * Route handlers have no CSRF guard of their own (Server Actions do): a form post must come
 * from this site's own page.
 */
export function withSameOrigin(route: (request: Request) => Promise<Response>): (request: Request) => Promise<Response> {
  return async (incoming) => {
    const request = await siteRequest(incoming);
    if (request.headers.get('origin') !== new URL(request.url).origin) return new Response('cross-site form post refused\n', { status: 403 });
    return route(request);
  };
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** A 303 back to the page, relative so that it never names a host the request claimed. */
export function backHome(): Response {
  return new Response(null, { status: 303, headers: { location: '/' } });
}
