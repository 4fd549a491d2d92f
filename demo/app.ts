import express, { type NextFunction, type Request, type Response } from 'express';
import session, { type Store } from 'express-session';
import type { SharingStore } from 'shared-session';
import { sharedSession, type SharedSessionMiddleware } from 'shared-session/express';
import { CROSS_SITE_TEXT, FORM_LIMIT, STORE_DOWN_TEXT, VIEWS, checkItem, clientErrorText, homeView, serverErrorStatus, siteName } from './page.ts';
import { checkLogin } from './users.ts';

export { siteName };

declare module 'express-session' {
  interface SessionData {
    user: string;
    cart: string[];
  }
}

export interface DemoSiteOptions {
  /** This site's origin, one of `sites`. */
  origin: string;
  /** Every site of the demo. */
  sites: readonly string[];
  /** shared-session's secret, the same on every site. */
  secret: string;
  /** express-session's cookie-signing secret (may differ per site). */
  sessionSecret: string;
  /** The session store every site shares. */
  store: Store;
  /** Where the demo logs shared-session's events. */
  log?: (line: string) => void;
  /** The top-level hop (default on); off leaves only the script push, to show what it does alone. */
  hop?: boolean;
  /** Where token ids and browser links go when `store` is a foreign one (connect-redis). */
  sharingStore?: SharingStore | undefined;
}

/** The parsed form body; express.urlencoded leaves `req.body` undefined for other content types. */
function formOf(req: Request): Record<string, unknown> {
  const body: unknown = req.body;
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
}

/**
 * The status of an error that Express or body-parser raised for a bad request: http-errors
 * sets `status` and `statusCode` (400 for a bad percent escape, 413, 415); undefined otherwise.
 */
function clientErrorStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { status, statusCode } = error as { status?: unknown; statusCode?: unknown };
  const value = status ?? statusCode;
  return typeof value === 'number' && Number.isInteger(value) && value >= 400 && value < 500 ? value : undefined;
}

/**
 * One site of the demo: express-session on the shared store, shared-session right after
 * it, a home page showing who you are on which site, a login, a cart and a logout.
 */
export function createDemoApp(options: DemoSiteOptions): { app: express.Express; shared: SharedSessionMiddleware } {
  const name = siteName(options.origin);
  const log = options.log ?? ((line: string) => console.log(line));
  const app = express();
  app.disable('x-powered-by');
  app.set('view engine', 'ejs');
  app.set('views', VIEWS);

  const shared = sharedSession({
    sites: options.sites,
    secret: options.secret,
    hop: options.hop ?? true,
    ...(options.sharingStore ? { sharingStore: options.sharingStore } : {}),
  });
  shared.on('sessionReplaced', (event) => log(`[${name}] took over the session from ${event.source} (${event.mechanism})`));
  shared.on('rejected', (event) => log(`[${name}] refused ${event.request.method} ${event.mechanism}: ${event.reason} (${event.status})`));
  shared.on('warning', (event) => log(`[${name}] warning ${event.code}: ${event.message}`));

  app.use(
    session({
      name: `${name}.sid`,
      secret: options.sessionSecret,
      store: options.store,
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'lax', secure: false, maxAge: 7 * 24 * 3600 * 1000 },
    }),
  );
  app.use(shared);
  app.use(express.urlencoded({ extended: false, limit: FORM_LIMIT }));

  // Login CSRF and cross-site posts: every form post must come from this site's own pages.
  // Browsers always send Origin on POST; SameSite=Lax alone does not stop a forged login.
  app.post('/{*any}', (req: Request, res: Response, next: NextFunction) => {
    if (req.get('origin') === options.origin) return next();
    res.status(403).type('text').send(CROSS_SITE_TEXT);
  });

  app.get('/', (req, res) => {
    // The loader goes in through res.locals.sharedSessionLoader, which the adapter fills.
    res.render(
      'home',
      homeView(options.origin, options.sites, 'express', {
        user: req.session.user,
        sessionId: req.sessionID,
        cart: req.session.cart ?? [],
        loginQuery: req.query.login,
      }),
    );
  });

  app.get('/whoami', (req, res) => {
    res.json({ site: name, user: req.session.user ?? null, sessionId: req.session.user || req.session.cart ? req.sessionID : null, cart: req.session.cart ?? [] });
  });

  app.post('/login', (req, res, next) => {
    const form = formOf(req);
    const user = checkLogin(form.username, form.password);
    // The message goes in the URL, not the session: a session per failed login would let
    // anyone write a 7-day row to the store with each post.
    if (!user) return res.redirect(303, '/?login=failed');
    // A new session id at login (session fixation); the anonymous cart comes along.
    const cart = req.session.cart;
    req.session.regenerate((error) => {
      if (error) return next(error);
      req.session.user = user;
      if (cart) req.session.cart = cart;
      req.session.save((saveError) => (saveError ? next(saveError) : res.redirect(303, '/')));
    });
  });

  app.post('/cart', (req, res) => {
    const cart = req.session.cart ?? [];
    const checked = checkItem(formOf(req).item, cart);
    if ('status' in checked) return res.status(checked.status).type('text').send(checked.text);
    req.session.cart = [...cart, checked.item];
    res.redirect(303, '/');
  });

  app.post('/logout', (req, res, next) => {
    req.session.destroy((error) => {
      if (error) return next(error);
      res.clearCookie(`${name}.sid`);
      res.redirect(303, '/');
    });
  });

  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    // A bad request (a malformed percent escape in the path, a body too large, an unknown
    // charset) is the client's mistake: its own status and a fixed text, never the error's
    // message (it quotes the request). Nothing is logged: anyone could fill the log for free.
    const clientStatus = clientErrorStatus(error);
    if (clientStatus !== undefined) {
      if (!res.headersSent) res.status(clientStatus).type('text').send(clientErrorText(clientStatus));
      return;
    }
    // A store that cannot be reached answers 503 (its errors carry `status`), anything else 500.
    const status = serverErrorStatus(error);
    log(`[${name}] ${status === 503 ? 'store unavailable' : 'error'}: ${error instanceof Error ? (status === 503 ? error.message : error.stack) : 'unknown error'}`);
    if (!res.headersSent) {
      if (status === 503) res.setHeader('retry-after', '5');
      res.status(status).type('text').send(status === 503 ? STORE_DOWN_TEXT : 'internal error\n');
    }
  });

  return { app, shared };
}
