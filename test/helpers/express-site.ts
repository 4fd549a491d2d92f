import express, { type Express, type RequestHandler } from 'express';
import session, { type SessionOptions, type Store } from 'express-session';
import { createServer, type Server } from 'node:http';
import { sharedSession, type ExpressSharedSessionOptions, type SharedSessionMiddleware } from 'shared-session/express';
import { Client, type Response } from './http.ts';
import { SHARED_SECRET, SESSION_SECRET } from './sites.ts';

declare module 'express-session' {
  interface SessionData {
    cart: string[];
    user: string;
  }
}

export interface ExpressSite {
  readonly origin: string;
  readonly app: Express;
  readonly shared: SharedSessionMiddleware;
  close(): Promise<void>;
}

export interface ExpressSiteOptions {
  origin: string;
  sites: readonly string[];
  store: Store;
  session?: Partial<SessionOptions>;
  shared?: Partial<ExpressSharedSessionOptions>;
  /** Mount shared-session before express-session (a setup mistake, for tests of it). */
  wrongOrder?: boolean;
  /** Express's `trust proxy` setting. */
  trustProxy?: string | boolean | ((address: string | undefined, hop: number) => boolean);
  /** Listen on this port instead of the origin's (the site sits behind a proxy). */
  port?: number;
  /** Routes added after the middleware. */
  routes?: (app: Express, shared: SharedSessionMiddleware) => void;
}

/** Pull the `<script src>` URLs of a loader out of a page. */
export function scriptSources(html: string): string[] {
  return [...html.matchAll(/<script src="([^"]+)"/g)].map((match) => (match[1] as string).replaceAll('&amp;', '&'));
}

/**
 * A visitor with a cart on `origin` whose session is linked: the loader mints only for a
 * session in an epoch, which a top-level page load after the session exists gives it (the
 * first page load of an unknown browser hops along the chain and back first). `knownBy`
 * sites get a first page of the browser before: a voucher only saves the hop of a browser
 * the receiving site knows, in the epoch the change ended.
 */
export async function linkedVisitor(origin: string, item = 'tea', knownBy: readonly string[] = []): Promise<Client> {
  const visitor = new Client();
  // Sites that knew the browser before the change (a first page each): a push voucher saves their hop.
  for (const site of knownBy) await visitor.navigate(`${site}/`);
  await visitor.fetch(`${origin}/add?item=${item}`);
  await visitor.navigate(`${origin}/`);
  return visitor;
}

/** The page a top-level navigation ends on, after any hop. */
export async function pageOf(visitor: Client, url: string): Promise<Response> {
  return (await visitor.navigate(url)).at(-1)!;
}

/** A real Express app with express-session and shared-session, listening on the origin's port on 127.0.0.1. */
export async function startExpressSite(options: ExpressSiteOptions): Promise<ExpressSite> {
  const app = express();
  if (options.trustProxy !== undefined) app.set('trust proxy', options.trustProxy);
  const shared = sharedSession({ sites: options.sites, secret: SHARED_SECRET, ...options.shared });
  const sessionMiddleware: RequestHandler = session({
    name: `${new URL(options.origin).hostname.split('.')[0]}.sid`,
    secret: SESSION_SECRET,
    store: options.store,
    resave: false,
    saveUninitialized: false,
    cookie: { sameSite: 'lax', maxAge: 3_600_000 },
    ...options.session,
  });
  if (options.wrongOrder) app.use(shared, sessionMiddleware);
  else app.use(sessionMiddleware, shared);
  app.get('/add', (req, res) => {
    req.session.cart = [...(req.session.cart ?? []), typeof req.query.item === 'string' ? req.query.item : 'item'];
    res.type('text').send('added\n');
  });
  app.get('/whoami', (req, res) => {
    res.json({ id: req.session?.cart ? req.sessionID : null, cart: req.session?.cart ?? [] });
  });
  options.routes?.(app, shared);
  // Any other path is a page, so that navigations anywhere can be tested.
  app.get('/{*any}', (req, res) => {
    res.type('text').send(`page ${req.path}\n`);
  });
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(options.port ?? Number(new URL(options.origin).port), '127.0.0.1', resolve));
  return {
    origin: options.origin,
    app,
    shared,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
