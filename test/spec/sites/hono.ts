import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { sharedSession, type HonoSharedSession, type HonoSharedSessionOptions } from 'shared-session/hono';
import { SESSION_SECRET, SHARED_SECRET } from '../../helpers/sites.ts';
import type { SpecAdapter, SpecEvent, SpecSite, SpecSiteOptions } from '../site.ts';

/** What a Hono site of the tests takes besides the spec's options. */
export interface HonoSiteOptions extends SpecSiteOptions {
  /** The session layer's options besides the store and secret (cookie, rolling…). */
  readonly session?: Partial<HonoSharedSessionOptions['session']>;
  /** Trust X-Forwarded-Host/-Proto. */
  readonly trustProxy?: boolean;
  /** Listen on this port instead of the origin's (the site sits behind a proxy). */
  readonly port?: number;
  /** Routes added after the middleware, before the spec's own. */
  readonly routes?: (app: Hono, shared: HonoSharedSession) => void;
}

export interface HonoSite extends SpecSite {
  readonly app: Hono;
  readonly shared: HonoSharedSession;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** A real Hono app on @hono/node-server, serving the routes of test/spec/site.ts on our session layer. */
export async function startHonoSite(options: HonoSiteOptions): Promise<HonoSite> {
  const events: SpecEvent[] = [];
  const label = new URL(options.origin).hostname.split('.')[0] as string;
  const shared = sharedSession({
    sites: options.sites,
    secret: SHARED_SECRET,
    ...options.shared,
    ...(options.trustProxy === undefined ? {} : { trustProxy: options.trustProxy }),
    session: {
      store: options.store,
      secret: SESSION_SECRET,
      name: `${label}.sid`,
      ...options.session,
      cookie: { sameSite: 'lax', maxAge: options.maxAgeMs ?? 3_600_000, ...options.session?.cookie },
    },
  });
  shared.on('rejected', ({ request: _request, ...event }) => events.push({ name: 'rejected', event }));
  shared.on('sessionReplaced', ({ request: _request, ...event }) => events.push({ name: 'sessionReplaced', event }));
  shared.on('warning', (event) => events.push({ name: 'warning', event }));

  const app = new Hono();
  app.use(shared);
  app.get('/add', (c) => {
    const session = c.get('session');
    const item = c.req.query('item') ?? 'item';
    session.data.cart = [...((session.data.cart as string[] | undefined) ?? []), item];
    return c.text('added\n');
  });
  app.get('/whoami', (c) => {
    const { data, id } = c.get('session');
    const user = typeof data.user === 'string' ? data.user : null;
    const cart = Array.isArray(data.cart) ? (data.cart as string[]) : [];
    return c.json({ id: user !== null || data.cart !== undefined ? id : null, user, cart });
  });
  app.post('/login', async (c) => {
    const form = await c.req.parseBody();
    const session = c.get('session');
    const cart = session.data.cart;
    await session.regenerate();
    if (cart !== undefined) session.data.cart = cart;
    session.data.user = typeof form.user === 'string' ? form.user : 'anonymous';
    await session.save();
    return c.redirect('/', 303);
  });
  app.post('/logout', async (c) => {
    await c.get('session').destroy();
    return c.redirect('/', 303);
  });
  options.routes?.(app, shared);
  app.get('*', async (c) => c.html(`<!doctype html><title>page</title><p>page ${escapeHtml(c.req.path)}</p>${await shared.loader(c)}`));

  const server: ServerType = await new Promise((resolve) => {
    const started = serve({ fetch: app.fetch, port: options.port ?? Number(new URL(options.origin).port), hostname: '127.0.0.1' }, () => resolve(started));
  });
  return {
    origin: options.origin,
    events,
    app,
    shared,
    close: () =>
      new Promise<void>((resolve) => {
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/** The spec's Hono adapter. */
export const hono: SpecAdapter = {
  name: 'hono',
  start: (options) => startHonoSite(options),
};
