/**
 * The benchmark's app: express-session on a store, shared-session right after it when
 * given, and the routes the cases load. The server process (bench/server.ts) times it; the
 * row counts (bench/rows.ts) run the same app on every store.
 *
 *   GET  /page        a little HTML around session data, with the loader when shared-session is on
 *                     (`?loader=0`: without it; `?first=1`: as a session's first linked page, see below)
 *   GET  /setup       a session with a cart (`?held=all|self|none`), or only a link cookie (`?held=link`); answers its id
 *   POST /login       express-session's regenerate() with a user in the new session, then 303 to /page
 *   GET  /whoami      the session id (when the session has data) and user
 */
import express, { type Express, type Request } from 'express';
import session, { type Store } from 'express-session';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sharedSession, type ExpressSharedSessionOptions, type SharedSessionMiddleware } from 'shared-session/express';
import { linkCookie, linkState, newLinkKey } from '../src/core/link-cookie.ts';
import { resolveOptions, type Config } from '../src/core/options.ts';
import { EMPTY_NOTE, NOTE_KEY, withHolder, writeNote, type Note } from '../src/core/note.ts';

// Random: the fetch handler's session layer refuses a guessable secret.
export const SESSION_SECRET = 'VXmDie9sLY0dGaq-NtaWDl_HJsOWw7MDGTw_X2Tfv3Iu';
/** The two sites of the hop, the row counts and the store calls: the hub first. */
export const HUB = 'http://hub.localhost:1';
export const SITE = 'http://site.localhost:2';
/** express-session's cookie name in every bench app. */
export const SESSION_COOKIE = 'bench.sid';

type Data = Record<string, unknown>;

/** A linked note (a new link key) naming each of `origins` as holder, by the note ids of `config` (node:crypto: known at once). */
function heldBy(config: Config, origins: readonly string[]): string {
  const linked: Note = { ...EMPTY_NOTE, key: newLinkKey() };
  return writeNote(origins.reduce((note, origin) => withHolder(note, config.sites.forOrigin(origin)!.noteId, 'held'), linked));
}

/** shared-session on one bench site, and the bench's own config of the same options. */
export interface BenchShared {
  readonly middleware: SharedSessionMiddleware;
  readonly origin: string;
  /**
   * The options validated as the core validates them: the same sites and keys. The core
   * keeps its own config private (nothing reachable from it seals), so the bench, which
   * mints link cookies and tokens as a site would, derives its own from the options.
   */
  readonly config: Config;
}

/** shared-session for `origin` with `options`. */
export function benchShared(options: ExpressSharedSessionOptions, origin: string): BenchShared {
  return { middleware: sharedSession(options), origin, config: resolveOptions(options) };
}

/** The bench app of `origin` on `store`; `shared` is mounted right after express-session. */
export function benchApp(store: Store, shared?: BenchShared): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use(session({ secret: SESSION_SECRET, store, resave: false, saveUninitialized: false, name: SESSION_COOKIE, cookie: { maxAge: 3_600_000, sameSite: 'lax' } }));
  if (shared) app.use(shared.middleware);

  app.get('/page', async (req, res) => {
    const data = req.session as unknown as Data;
    // A session's first linked page on a Chromium browser: linked, held here only, so the
    // loader mints a token per other site and records them in the note, which is then
    // saved. Reset on every request (under a new key, so that the record really changes
    // and is saved, as that first page's is), or only the first request would mint.
    if (shared && req.query.first === '1') data[NOTE_KEY] = heldBy(shared.config, [shared.origin]);
    const loader = shared && req.query.loader !== '0' ? await shared.middleware.loader(req, res) : '';
    const cart = (data.cart as string[] | undefined) ?? [];
    res.type('html').send(`<!doctype html><title>shop</title><h1>Cart</h1><ul>${cart.map((item) => `<li>${item}</li>`).join('')}</ul>${loader}`);
  });

  // `held=all`: linked, every site holds it (the steady state); `held=self`: linked, held by
  // this site alone (this site knows the browser, the others do not yet); else no note.
  // `held=link`: no session, only this site's link cookie for an epoch without one.
  app.get('/setup', async (req: Request, res) => {
    if (shared && req.query.held === 'link') {
      const { config } = shared;
      res.append('set-cookie', await linkCookie(config, config.sites.forOrigin(shared.origin)!, linkState(newLinkKey(), '')));
      return void res.json({ id: null });
    }
    const data = req.session as unknown as Data;
    data.cart = ['tea', 'milk'];
    if (shared && req.query.held === 'all') data[NOTE_KEY] = heldBy(shared.config, shared.middleware.core.sites);
    if (shared && req.query.held === 'self') data[NOTE_KEY] = heldBy(shared.config, [shared.origin]);
    res.json({ id: req.sessionID });
  });

  app.post('/login', (req, res, next) => {
    // As an app logs in: a new session id (session fixation), the cart comes along.
    const cart = (req.session as unknown as Data).cart;
    req.session.regenerate((error) => {
      if (error) return next(error);
      const data = req.session as unknown as Data;
      data.user = 'bench';
      if (cart) data.cart = cart;
      req.session.save((saveError) => (saveError ? next(saveError) : res.redirect(303, '/page')));
    });
  });

  app.get('/whoami', (req, res) => {
    const data = req.session as unknown as Data;
    res.json({ id: data.cart || data.user ? req.sessionID : null, user: data.user ?? null });
  });
  return app;
}

/** Apps served in this process on loopback ports: `balance` maps each origin's host to its port (test/helpers/http.ts `Client`). */
export interface Served {
  readonly balance: Record<string, readonly number[]>;
  readonly stop: () => Promise<void>;
}

function listen(app: Express): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer(app).listen(0, '127.0.0.1', () => resolve(server));
  });
}

/** Serve each app (by origin) on a free loopback port of this process. */
export async function serve(apps: Readonly<Record<string, Express>>): Promise<Served> {
  const entries = Object.entries(apps);
  const servers = await Promise.all(entries.map(([, app]) => listen(app)));
  return {
    balance: Object.fromEntries(entries.map(([origin], i) => [new URL(origin).host, [(servers[i]!.address() as AddressInfo).port]])),
    stop: async () => {
      for (const server of servers) server.closeAllConnections();
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    },
  };
}
