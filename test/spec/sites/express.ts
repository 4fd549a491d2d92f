/**
 * The spec site (test/spec/site.ts) on Express 5 with express-session and our middleware,
 * written as an Express app would be: nothing in it knows about the spec's cases.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import session from 'express-session';
import { createServer } from 'node:http';
import { sharedSession } from 'shared-session/express';
import { SESSION_SECRET, SHARED_SECRET } from '../../helpers/sites.ts';
import type { SpecAdapter, SpecEvent, SpecSite, SpecSiteOptions } from '../site.ts';

declare module 'express-session' {
  interface SessionData {
    cart: string[];
    user: string;
  }
}

/** `<p>` content is the path: escaped, since a case may navigate anywhere. */
const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

/** Express 5 hands rejections of async handlers to the error handler; express-session's callbacks need wrapping. */
const done =
  (next: NextFunction, then: () => void) =>
  (error?: unknown): void => {
    if (error) next(error);
    else then();
  };

async function start(options: SpecSiteOptions): Promise<SpecSite> {
  const events: SpecEvent[] = [];
  const shared = sharedSession({ sites: options.sites, secret: SHARED_SECRET, ...options.shared });
  // The raw request stays out of the record: a case asserts on what the core decided, not on Express objects.
  shared.on('rejected', ({ request: _, ...event }) => events.push({ name: 'rejected', event }));
  shared.on('sessionReplaced', ({ request: _, ...event }) => events.push({ name: 'sessionReplaced', event }));
  shared.on('warning', (event) => events.push({ name: 'warning', event }));

  const app = express();
  app.use(
    session({
      name: `${new URL(options.origin).hostname.split('.')[0]}.sid`,
      secret: SESSION_SECRET,
      // The spec shares one store instance between its sites. express-session installs its
      // `generate` on the instance, so the last site started makes the new sessions of both;
      // harmless here, as every spec site has the same cookie options (the cookie name is
      // not part of the session), and our adapter gives each loaded session its site's own.
      store: options.store as unknown as session.Store,
      resave: false,
      saveUninitialized: false,
      cookie: { sameSite: 'lax', httpOnly: true, maxAge: options.maxAgeMs ?? 3_600_000 },
    }),
    shared,
  );
  app.get('/add', (req, res) => {
    req.session.cart = [...(req.session.cart ?? []), typeof req.query.item === 'string' ? req.query.item : ''];
    res.type('text').send('added\n');
  });
  app.get('/whoami', (req, res) => {
    const { user, cart } = req.session;
    res.json({ id: user !== undefined || cart !== undefined ? req.sessionID : null, user: user ?? null, cart: cart ?? [] });
  });
  app.post('/login', express.urlencoded({ extended: false }), (req: Request, res: Response, next: NextFunction) => {
    const cart = req.session.cart;
    const user = typeof (req.body as Record<string, unknown> | undefined)?.user === 'string' ? ((req.body as Record<string, string>).user as string) : '';
    req.session.regenerate(
      done(next, () => {
        if (cart !== undefined) req.session.cart = cart;
        req.session.user = user;
        req.session.save(done(next, () => res.redirect(303, '/')));
      }),
    );
  });
  app.post('/logout', (req, res, next) => {
    req.session.destroy(done(next, () => res.redirect(303, '/')));
  });
  app.get('/{*any}', async (req, res) => {
    const loader = await shared.loader(req, res);
    res.type('html').send(`<!doctype html><title>page</title><p>page ${escapeHtml(req.path)}</p>${loader}`);
  });

  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(Number(new URL(options.origin).port), '127.0.0.1', resolve));
  return {
    origin: options.origin,
    events,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const expressAdapter: SpecAdapter = { name: 'express', start };
