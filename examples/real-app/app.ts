import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { csrfSync } from 'csrf-sync';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import session, { type Store } from 'express-session';
import helmet from 'helmet';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import { sharedSession } from 'shared-session/express';
import { checkPassword, findUser, type AppUser } from './users.ts';

const DAY = 24 * 3600 * 1000;
const REMEMBER_ME = 30 * DAY;

export interface RealAppOptions {
  /** This site's origin, one of `sites`. */
  origin: string;
  /** Every site, in the same order everywhere (the first is the hub). */
  sites: readonly string[];
  /** shared-session's secret, the same on every site. */
  secret: string;
  /** express-session's cookie-signing secret. */
  sessionSecret: string;
  /** The session store every site shares (see server.ts). */
  store: Store;
}

interface Flash {
  kind: 'info' | 'error';
  text: string;
}

declare module 'express-session' {
  interface SessionData {
    flash: Flash[];
    note: string;
  }
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Passport types req.user through this global namespace.
  namespace Express {
    interface User {
      name: string;
    }
  }
}

/** A message for the next page this session shows, on whichever site. */
function flash(req: Request, kind: Flash['kind'], text: string): void {
  req.session.flash = [...(req.session.flash ?? []), { kind, text }];
}

/** The messages waiting, removed from the session. */
function takeFlash(req: Request): Flash[] {
  const messages = req.session.flash ?? [];
  if (messages.length > 0) delete req.session.flash;
  return messages;
}

function formOf(req: Request): Record<string, unknown> {
  const body: unknown = req.body;
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
}

/**
 * One site of an app that runs on several domains: Passport's local strategy with a
 * remember-me box, helmet's Content-Security-Policy with a nonce, csrf-sync's synchronizer
 * token and flash messages, on one session store shared through shared-session.
 */
export function createRealApp(options: RealAppOptions): express.Express {
  const { origin, sites } = options;
  const app = express();
  app.set('view engine', 'ejs');
  app.set('views', fileURLToPath(new URL('./views', import.meta.url)));

  // A nonce per response, before helmet: shared-session copies res.locals.cspNonce onto its loader's scripts.
  app.use((_req, res, next) => {
    res.locals.cspNonce = randomBytes(16).toString('base64');
    next();
  });
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          scriptSrc: ["'self'", (_req, res) => `'nonce-${(res as Response).locals.cspNonce as string}'`],
          // A login on one site may end in a hop through another: a redirect of the form's navigation.
          formAction: ["'self'", ...sites],
          // Plain http only in development (*.localhost): nothing to upgrade to.
          ...(sites.every((site) => site.startsWith('https:')) ? {} : { upgradeInsecureRequests: null }),
        },
      },
    }),
  );

  const shared = sharedSession({ sites, secret: options.secret });
  shared.on('rejected', (event) => console.warn(`[${origin}] shared-session refused a request: ${event.reason}`));
  app.use(
    session({
      name: 'sid',
      secret: options.sessionSecret,
      store: options.store,
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'lax', secure: origin.startsWith('https:'), maxAge: DAY },
    }),
  );
  app.use(shared); // right after express-session

  app.use(express.urlencoded({ extended: false, limit: '4kb' }));

  passport.use(
    new LocalStrategy((username, password, done) => {
      const user = checkPassword(username, password);
      done(null, user ?? false);
    }),
  );
  passport.serializeUser<string>((user, done) => done(null, user.name));
  passport.deserializeUser<string>((name, done) => done(null, findUser(name) ?? false));
  app.use(passport.session());

  // The synchronizer token lives in the session, so a form from one site posts fine to
  // another; a login or logout (a new session) makes every older form stale: 403.
  const { csrfSynchronisedProtection, generateToken } = csrfSync({
    getTokenFromRequest: (req) => {
      const token = formOf(req)._csrf;
      return typeof token === 'string' ? token : undefined;
    },
  });
  app.use(csrfSynchronisedProtection);

  app.get('/favicon.ico', (_req, res) => {
    res.status(204).end();
  });

  app.get('/', (req, res) => {
    res.render('page', {
      site: new URL(origin).hostname,
      otherSites: sites.filter((site) => site !== origin),
      user: req.user,
      note: req.session.note,
      flash: takeFlash(req),
      csrfToken: generateToken(req),
    });
  });

  app.post('/login', (req, res, next) => {
    const remember = formOf(req).remember === 'on';
    const authenticate = passport.authenticate('local', (error: unknown, user: AppUser | false) => {
      if (error) return next(error);
      if (!user) {
        flash(req, 'error', 'Wrong user name or password.');
        return res.redirect(303, '/');
      }
      // Passport 0.6+ regenerates the session here (session fixation).
      req.login(user, (loginError) => {
        if (loginError) return next(loginError);
        if (remember) req.session.cookie.maxAge = REMEMBER_ME;
        // A browser-session cookie: express-session's documented `expires = false` (its types omit false).
        else (req.session.cookie as { expires: unknown }).expires = false;
        flash(req, 'info', `Welcome, ${user.name}.`);
        req.session.save((saveError) => (saveError ? next(saveError) : res.redirect(303, '/')));
      });
    }) as RequestHandler;
    authenticate(req, res, next);
  });

  app.post('/note', (req, res) => {
    const note = formOf(req).note;
    if (!req.user) return res.status(403).render('error', { status: 403, message: 'Log in first.' });
    if (typeof note !== 'string' || note.length > 100) return res.status(400).render('error', { status: 400, message: 'A note is at most 100 characters.' });
    req.session.note = note;
    flash(req, 'info', 'Note saved.');
    res.redirect(303, '/');
  });

  app.post('/logout', (req, res, next) => {
    // Passport 0.6+ regenerates the session here too: the old one is destroyed on every site.
    req.logout((error) => {
      if (error) return next(error);
      flash(req, 'info', 'You are logged out.');
      res.redirect(303, '/');
    });
  });

  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    // A stale form (its session ended by a logout or a login since) is refused by csrf-sync
    // with a 403 http-error; other client errors keep their 4xx. Never the error's text.
    const { status } = error as { status?: unknown };
    const clientStatus = typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
    if (clientStatus === undefined) console.error(`[${origin}]`, error);
    if (res.headersSent) return;
    const message = clientStatus === 403 ? 'This form has expired. Reload the page and try again.' : clientStatus ? 'Bad request.' : 'Something went wrong.';
    res.status(clientStatus ?? 500).render('error', { status: clientStatus ?? 500, message });
  });

  return app;
}
