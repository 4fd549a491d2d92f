/**
 * The Hono site the runtime tests serve on Bun, Deno and workerd: a real Hono app with
 * `shared-session/hono`, written for any runtime (no `node:` module: it is bundled into a
 * Worker too). The store comes from the caller: a RedisStore on Bun and Deno, the
 * in-memory store of ./memory-store.ts inside the Worker.
 *
 * Routes: /add?item= (the cart), /me (who and what, as JSON), POST /login (regenerate,
 * keep the cart), POST /logout, /events (the `rejected` events this site emitted, so that
 * the test tells a replay from an expiry: the response says TOKEN_REFUSED for both), and
 * any other path a page with the loader.
 */
import { Hono } from 'hono';
import { sharedSession, type WebSessionStore } from 'shared-session/hono';
import type { SharingStore } from 'shared-session';

import { SESSION_SECRET, SHARED_SECRET } from '../helpers/secrets.ts';

export { SESSION_SECRET, SHARED_SECRET };

export interface RuntimeSiteOptions {
  readonly origin: string;
  readonly sites: readonly string[];
  readonly store: WebSessionStore;
  /** Only for a store that is not a SharingStore itself (the in-memory one). */
  readonly sharingStore?: SharingStore;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

export function runtimeSite(options: RuntimeSiteOptions): Hono {
  const label = new URL(options.origin).hostname.split('.')[0] as string;
  const shared = sharedSession({
    sites: options.sites,
    secret: SHARED_SECRET,
    ...(options.sharingStore ? { sharingStore: options.sharingStore } : {}),
    session: { store: options.store, secret: SESSION_SECRET, name: `${label}.sid`, cookie: { sameSite: 'lax', maxAge: 3_600_000 } },
  });
  const rejected: string[] = [];
  shared.on('rejected', (event) => rejected.push(event.reason));

  const app = new Hono();
  app.use(shared);
  app.get('/add', (c) => {
    const session = c.get('session');
    session.data.cart = [...((session.data.cart as string[] | undefined) ?? []), c.req.query('item') ?? 'item'];
    return c.text('added\n');
  });
  app.get('/me', (c) => {
    const { data } = c.get('session');
    return c.json({ user: typeof data.user === 'string' ? data.user : null, cart: Array.isArray(data.cart) ? data.cart : [] });
  });
  app.post('/login', async (c) => {
    const form = await c.req.parseBody();
    const session = c.get('session');
    const cart = session.data.cart;
    await session.regenerate();
    if (cart !== undefined) session.data.cart = cart;
    session.data.user = typeof form.user === 'string' ? form.user : 'anonymous';
    return c.redirect('/', 303);
  });
  app.post('/logout', async (c) => {
    await c.get('session').destroy();
    return c.redirect('/', 303);
  });
  app.get('/events', (c) => c.json({ rejected }));
  app.get('*', async (c) => c.html(`<!doctype html><title>page</title><p>page ${escapeHtml(c.req.path)}</p>${await shared.loader(c)}`));
  return app;
}

/** The app for a request's host, among sites served by one server (the Worker serves both). */
export function byHost(apps: ReadonlyMap<string, Hono>): (request: Request) => Response | Promise<Response> {
  return (request) => {
    const app = apps.get(new URL(request.url).host);
    return app ? app.fetch(request) : new Response('unknown host\n', { status: 421 });
  };
}
