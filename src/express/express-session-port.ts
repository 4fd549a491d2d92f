import type { Request } from 'express';
import type { Cookie, Session, SessionData, Store } from 'express-session';
import { NOTE_KEY } from '../core/adapter.ts';
import { isSharingStore, type FoundSession, type SessionPort, type SharingStore } from '../index.ts';

/**
 * The {@link SessionPort} over express-session. Three traps of express-session shape it:
 *
 * 1. It keeps each session's cookie attributes inside the shared record and restores them
 *    on load, so a session adopted from site A would be re-sent on B with A's Domain. Every
 *    loaded session gets this site's own attributes back (`useSiteCookie`).
 * 2. Adopting an id works by setting `req.sessionID` and `store.createSession(req, data)`;
 *    `regenerate()` with a custom id generator would wipe the data, and a hand-written
 *    Set-Cookie can be followed by a second one from express-session. So the port only
 *    swaps the session and lets express-session send the one cookie.
 * 3. The site's cookie settings live in express-session's closure. `store.generate` is the
 *    one public door to them: run on a shadow of the request, it yields a fresh Cookie.
 */

type GenerateFn = (req: Request) => void;
type Generating = Store & { generate: GenerateFn };

const originalGenerate = new WeakMap<Store, GenerateFn>();
// Sessions express-session generated (rather than loaded) that are not in the store yet.
const unsaved = new WeakSet<object>();

// On the request under a symbol, not in a WeakMap: see FACTS in index.ts.
const PORT = Symbol('shared-session port');

const COOKIE_ATTRIBUTES = ['domain', 'path', 'httpOnly', 'secure', 'sameSite', 'partitioned', 'priority'] as const;

/** Start noticing which sessions express-session generates; returns whether it already was. */
function watch(store: Generating): boolean {
  if (originalGenerate.has(store)) return true;
  const original = store.generate;
  originalGenerate.set(store, original);
  store.generate = function generate(this: Store, req: Request): void {
    original.call(this, req);
    unsaved.add(req.session);
  };
  return false;
}

/** This site's own cookie for `req`, fresh: express-session's settings, expiry from now. */
function siteCookie(store: Store, req: Request): Cookie {
  const generate = originalGenerate.get(store) as GenerateFn;
  // A shadow inherits everything a custom genid or cookie function may read, and takes the writes.
  const shadow = Object.create(req) as Request;
  generate.call(store, shadow);
  return shadow.session.cookie;
}

/**
 * This site's cookie attributes, learned once per store, host and scheme. express-session
 * 1.19 allows cookie options that depend on the request: per host (a `domain` for each
 * site served by one app) and per scheme (`secure: 'auto'`) are covered; options that
 * depend on anything else of the request must be the same for every request of a host.
 * Probing on every request cost more than the rest of the middleware together.
 */
const siteAttributes = new WeakMap<Store, Map<string, Readonly<Record<string, unknown>>>>();
const MAX_HOSTS_PER_STORE = 64;

function attributesFor(store: Store, req: Request): Readonly<Record<string, unknown>> {
  let byHost = siteAttributes.get(store);
  if (!byHost) siteAttributes.set(store, (byHost = new Map<string, Readonly<Record<string, unknown>>>()));
  // Keyed by what host and scheme are made of, not by Express's getters (see ExpressFacts):
  // TLS, Host, and the forwarded headers only when Express trusts the peer that sent them,
  // so a direct request that copies a proxy's headers cannot fix the proxied site's settings.
  const headers = req.headers;
  let key = `${(req.socket as { encrypted?: boolean }).encrypted ? 's' : 'p'}|${headers.host ?? ''}`;
  if (headers['x-forwarded-host'] !== undefined || headers['x-forwarded-proto'] !== undefined) {
    const trust = req.app.get('trust proxy fn') as ((address: string | undefined, hop: number) => boolean) | undefined;
    key += trust?.(req.socket.remoteAddress, 0) ? `|${String(headers['x-forwarded-host'] ?? '')}|${String(headers['x-forwarded-proto'] ?? '')}` : '|untrusted';
  }
  let attributes = byHost.get(key);
  if (!attributes) {
    const own = siteCookie(store, req) as unknown as Record<string, unknown>;
    attributes = Object.fromEntries(COOKIE_ATTRIBUTES.map((name) => [name, own[name]]));
    // Any request with a session reaches here, spoofed hosts too: the cache must not grow
    // without bound (past the limit, a new shape is worked out on every request).
    if (byHost.size < MAX_HOSTS_PER_STORE) byHost.set(key, attributes);
  }
  return attributes;
}

/**
 * Give a loaded session this site's cookie attributes instead of whichever site saved it
 * last. Its lifetime stays: `maxAge` (remember-me's 30 days) or `expires = false` (a
 * browser-session cookie) is the app's decision for that session, not a site setting.
 */
function useSiteCookie(store: Store, req: Request): void {
  const own = attributesFor(store, req);
  const cookie = req.session.cookie as unknown as Record<string, unknown>;
  for (const attribute of COOKIE_ATTRIBUTES) cookie[attribute] = own[attribute];
}

/** Give `cookie` (a fresh one of this site's) the lifetime the session's stored cookie had. */
function keepLifetime(cookie: Cookie, stored: unknown): void {
  const originalMaxAge = (stored as { originalMaxAge?: unknown } | null | undefined)?.originalMaxAge;
  if (typeof originalMaxAge === 'number' && Number.isFinite(originalMaxAge)) cookie.maxAge = originalMaxAge;
  // A browser-session cookie (the app set `expires = false`, or null): stored as it was, so
  // that the next save sees the same lifetime.
  else if (originalMaxAge === null || originalMaxAge === false) cookie.expires = originalMaxAge as unknown as Date;
}

function isEmptySession(session: Session & Partial<SessionData>): boolean {
  for (const key in session) if (key !== 'cookie' && key !== NOTE_KEY) return false;
  return true;
}

function call<T>(run: (callback: (error: unknown, value?: T) => void) => void): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    run((error, value) => (error ? reject(error instanceof Error ? error : new Error('the session store failed', { cause: error })) : resolve(value)));
  });
}

/** One request's session, as the core sees it. */
export class ExpressSessionPort implements SessionPort {
  readonly #req: Request;
  readonly #store: Store;
  #unknownSession: object | undefined;
  /** Set once the core adopted a session or wrote its note: then the session must be saved. */
  changed = false;

  /**
   * The port of `req`, made once per request. Undefined when express-session left no
   * session on the request (not mounted, or its store is disconnected).
   */
  static of(req: Request): ExpressSessionPort | undefined {
    const holder = req as Request & { [PORT]?: ExpressSessionPort };
    const known = holder[PORT];
    if (known) return known;
    const store = req.sessionStore as Generating | undefined;
    if (!store || !req.session || typeof store.generate !== 'function') return undefined;
    const port = new ExpressSessionPort(req, store, watch(store));
    holder[PORT] = port;
    return port;
  }

  private constructor(req: Request, store: Generating, watched: boolean) {
    this.#req = req;
    this.#store = store;
    // Before the first request was seen nobody watched generate(): the session may be new
    // or loaded. Save it when a token needs it (harmless if stored), and give it this
    // site's cookie settings (a no-op for a new one, the fix for one another site saved).
    this.#unknownSession = watched ? undefined : req.session;
    if (!unsaved.has(req.session)) useSiteCookie(store, req);
  }

  get id(): string | undefined {
    return this.#req.session ? this.#req.sessionID : undefined;
  }

  get sharingStore(): SharingStore | undefined {
    return isSharingStore(this.#store) ? this.#store : undefined;
  }

  isEmpty(): boolean {
    const session = this.#req.session as (Session & Partial<SessionData>) | undefined;
    return !session || isEmptySession(session);
  }

  async persist(): Promise<string> {
    const session = this.#req.session;
    if (this.#isUnsaved()) {
      // The page's scripts are fetched while express-session is still saving at res.end,
      // so a brand-new session must reach the store before its id goes into a token.
      await call<void>((done) => session.save(done));
      unsaved.delete(session);
      if (session === this.#unknownSession) this.#unknownSession = undefined;
    }
    return this.#req.sessionID;
  }

  async find(id: string): Promise<FoundSession | undefined> {
    const store = this.#store;
    const data = await call<SessionData | null>((done) => store.get(id, done));
    if (!data || typeof data !== 'object') return undefined;
    const record = data as unknown as Record<string, unknown>;
    return {
      id,
      isEmpty: () => isEmptySession(data as Session & SessionData),
      readNote: () => record[NOTE_KEY],
      writeNote: async (note) => {
        // The record as loaded, with only the note replaced: the stores of this package
        // merge it into a record another request changed meanwhile (they know what `get`
        // returned), and drop it when the session was destroyed.
        record[NOTE_KEY] = note;
        await call<void>((done) => store.set(id, data, done));
      },
      adopt: () => this.#adopt(id, data),
    };
  }

  async destroy(id: string): Promise<void> {
    await call<void>((done) => this.#store.destroy(id, done));
  }

  readNote(): unknown {
    return (this.#req.session as unknown as Record<string, unknown> | undefined)?.[NOTE_KEY];
  }

  writeNote(note: unknown): void {
    const session = this.#req.session as unknown as Record<string, unknown> | undefined;
    if (!session) return;
    session[NOTE_KEY] = note;
    this.changed = true;
  }

  /** Keep express-session from saving, touching or setting a cookie for this request. */
  detach(): void {
    const req = this.#req as { session?: unknown; sessionID?: unknown };
    req.session = undefined;
    req.sessionID = undefined;
  }

  #isUnsaved(): boolean {
    const session = this.#req.session;
    return unsaved.has(session) || (session !== undefined && session === this.#unknownSession);
  }

  #adopt(id: string, data: SessionData): void {
    const req = this.#req;
    // A session express-session generated in this request already holds a fresh copy of
    // this site's cookie: reuse it rather than generate another (a session id and all).
    const cookie = unsaved.has(req.session) ? req.session.cookie : siteCookie(this.#store, req);
    keepLifetime(cookie, (data as { cookie?: unknown }).cookie);
    req.sessionID = id;
    this.#store.createSession(req, data);
    req.session.cookie = cookie;
    this.changed = true;
  }
}
