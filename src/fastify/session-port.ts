import type { FastifyRequest } from 'fastify';
import { NOTE_KEY } from '../core/adapter.ts';
import { SharedSessionError, isSharingStore, type FoundSession, type SessionPort, type SharingStore } from '../index.ts';

/**
 * The {@link SessionPort} over @fastify/session (v11). Its traps shape this file:
 *
 * 1. Stored cookie attributes win over the configured ones on load (`{...cookieOpts,
 *    ...previousCookie}` in its Session constructor): a session saved by site A comes back
 *    on B with A's Domain and SameSite. Every loaded session gets this site's attributes
 *    back (`useSiteCookie`); its lifetime stays.
 * 2. The site's cookie settings, the id generator and the cookie signer live in the
 *    plugin's closure and on each Session under private symbols. `decryptSession` with a
 *    value that cannot be unsigned is the one public door to a fresh Session of this site
 *    (`probe`); the signer and id generator are then read off that Session by symbol
 *    description (checked, with a clear error when a future version renames them).
 * 3. With `saveUninitialized: false`, a session that is not modified is neither saved nor
 *    sent a cookie at onSend unless it `isSaved()`: an adopted session is saved here first
 *    (`flush`), so that its cookie goes out.
 * 4. A stored browser-session cookie (`expires: null`, `originalMaxAge: null`) is loaded with
 *    the site's `maxAge` (its Cookie takes `originalMaxAge || maxAge`): the app's decision
 *    for that session is lost. The stored `expires: null` survives only in the Session's
 *    private cookie options, where a dated or cookie-less record leaves a date or nothing;
 *    from it, `keepBrowserSession` makes the cookie a browser-session one again.
 */

/** The parts of @fastify/session's Session this port uses. */
export interface FastifySessionLike {
  readonly sessionId: string;
  readonly encryptedSessionId: string;
  cookie: Record<string, unknown>;
  save(): Promise<void>;
  isSaved(): boolean;
  [key: string]: unknown;
}

/** @fastify/session's callback Store. */
interface CallbackStoreLike {
  get(id: string, callback: (error: unknown, session?: unknown) => void): void;
  set(id: string, session: unknown, callback: (error?: unknown) => void): void;
  destroy(id: string, callback: (error?: unknown) => void): void;
}

type SessionConstructor = new (
  store: CallbackStoreLike,
  request: FastifyRequest,
  idGenerator: unknown,
  cookieOpts: Record<string, unknown>,
  signer: unknown,
  previous?: Record<string, unknown>,
  id?: string,
) => FastifySessionLike;

interface SessionRequest {
  session?: unknown;
  sessionStore?: CallbackStoreLike;
  cookies?: Record<string, string | undefined>;
  server: { decryptSession?: (id: string, request: FastifyRequest, callback: (error?: unknown) => void) => void };
}

const COOKIE_ATTRIBUTES = ['domain', 'path', 'httpOnly', 'secure', 'sameSite', 'partitioned'] as const;

/** What a probe of this site learns: its cookie attributes and @fastify/session's private parts. */
interface SiteShape {
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly cookieOpts: Readonly<Record<string, unknown>>;
  readonly signer: unknown;
  readonly idGenerator: unknown;
}

const PORT = Symbol('shared-session fastify port');
const MAX_SHAPES = 64;
// Per @fastify/session instance (its decryptSession), per scheme and host: `secure: 'auto'`
// depends on the scheme; nothing else of the request changes the cookie settings.
const shapes = new WeakMap<object, Map<string, SiteShape>>();

/** A Session of @fastify/session: the object it puts on the request (not `{}` outside the cookie path, not null). */
export function isFastifySession(value: unknown): value is FastifySessionLike {
  return typeof value === 'object' && value !== null && typeof (value as { sessionId?: unknown }).sessionId === 'string' && typeof (value as { save?: unknown }).save === 'function';
}

function symbolNamed(object: object, description: string): symbol {
  const found = Object.getOwnPropertySymbols(object).find((symbol) => symbol.description === description);
  if (!found) throw new SharedSessionError('ERR_SHARED_SESSION_SETUP', `shared-session/fastify: @fastify/session's Session has no ${description}; this version of @fastify/session is not supported (^11 is)`);
  return found;
}

/** This site's fresh Session for `request`, through decryptSession's public door; request.session is left as it was. */
function probe(request: FastifyRequest): SiteShape {
  const holder = request as unknown as SessionRequest;
  const decrypt = holder.server.decryptSession;
  const key = `${request.protocol}|${request.host}`;
  let byHost = shapes.get(decrypt as object);
  if (!byHost) shapes.set(decrypt as object, (byHost = new Map<string, SiteShape>()));
  const known = byHost.get(key);
  if (known) return known;
  const current = holder.session;
  let fresh: unknown;
  // '' has no signature: decryptSession makes a new Session of this site, synchronously.
  decrypt?.call(holder.server, '', request, () => undefined);
  fresh = holder.session;
  holder.session = current;
  if (!isFastifySession(fresh)) throw new SharedSessionError('ERR_SHARED_SESSION_SETUP', 'shared-session/fastify: @fastify/session’s decryptSession made no session; register @fastify/session (^11) before shared-session');
  const cookie = fresh.cookie;
  const shape: SiteShape = {
    attributes: Object.fromEntries(COOKIE_ATTRIBUTES.map((name) => [name, cookie[name]])),
    cookieOpts: { ...(fresh[symbolNamed(fresh, 'cookieOpts') as unknown as string] as Record<string, unknown>) },
    signer: fresh[symbolNamed(fresh, 'cookieSignerKey') as unknown as string],
    idGenerator: fresh[symbolNamed(fresh, 'generateId') as unknown as string],
  };
  // Spoofed hosts reach here too: the cache must not grow without bound.
  if (byHost.size < MAX_SHAPES) byHost.set(key, shape);
  fresh = undefined;
  return shape;
}

/** Give a session this site's cookie attributes, keeping its lifetime. */
function useSiteCookie(session: FastifySessionLike, shape: SiteShape): void {
  for (const name of COOKIE_ATTRIBUTES) session.cookie[name] = shape.attributes[name];
  // regenerate() (a login) builds the next session from these options: this site's too.
  const optsKey = symbolNamed(session, 'cookieOpts') as unknown as string;
  const opts = session[optsKey] as Record<string, unknown> | undefined;
  if (opts) for (const name of COOKIE_ATTRIBUTES) opts[name] = shape.cookieOpts[name];
}

/**
 * Make a loaded session's cookie a browser-session cookie again when its stored cookie was
 * one (trap 4): @fastify/session copies the stored cookie over the site's options, so an own
 * `expires` of null there is the stored one (unless the site itself configures it).
 */
function keepBrowserSession(session: FastifySessionLike, shape: SiteShape): void {
  const opts = session[symbolNamed(session, 'cookieOpts') as unknown as string] as Record<string, unknown> | undefined;
  if (!opts || !Object.hasOwn(opts, 'expires') || opts.expires !== null || Object.hasOwn(shape.cookieOpts, 'expires')) return;
  session.cookie.expires = null;
  session.cookie.originalMaxAge = null;
}

function isEmptyRecord(record: Record<string, unknown>): boolean {
  for (const key in record) if (key !== 'cookie' && key !== NOTE_KEY) return false;
  return true;
}

function call<T>(run: (callback: (error: unknown, value?: T) => void) => void): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    run((error, value) => (error ? reject(error instanceof Error ? error : new Error('the session store failed', { cause: error })) : resolve(value)));
  });
}

/** One request's session, as the core sees it. */
export class FastifySessionPort implements SessionPort {
  readonly #request: FastifyRequest;
  readonly #store: CallbackStoreLike;
  /** Sessions known to be in the store: loaded through the request's cookie, saved, or adopted. */
  readonly #stored = new WeakSet<object>();
  /** Set once the core adopted a session or wrote its note: then the session must be saved and sent. */
  changed = false;

  /** The port of `request`, made once; undefined when @fastify/session left no Session on it. */
  static of(request: FastifyRequest): FastifySessionPort | undefined {
    const holder = request as unknown as SessionRequest & { [PORT]?: FastifySessionPort };
    const known = holder[PORT];
    if (known) return known;
    const store = holder.sessionStore;
    if (!store || !isFastifySession(holder.session)) return undefined;
    return (holder[PORT] = new FastifySessionPort(request, store, holder.session));
  }

  private constructor(request: FastifyRequest, store: CallbackStoreLike, session: FastifySessionLike) {
    this.#request = request;
    this.#store = store;
    // A session @fastify/session loaded keeps the signed id the browser sent in one of its cookies.
    const cookies = (request as unknown as SessionRequest).cookies ?? {};
    for (const name in cookies) {
      if (cookies[name]?.endsWith(session.encryptedSessionId)) {
        this.#stored.add(session);
        // Loaded: it may carry another site's cookie attributes (trap 1), and lost a
        // browser-session lifetime to the site's maxAge (trap 4).
        const shape = probe(request);
        useSiteCookie(session, shape);
        keepBrowserSession(session, shape);
        break;
      }
    }
  }

  get #session(): FastifySessionLike | undefined {
    const session = (this.#request as unknown as SessionRequest).session;
    return isFastifySession(session) ? session : undefined;
  }

  get id(): string | undefined {
    return this.#session?.sessionId;
  }

  get sharingStore(): SharingStore | undefined {
    return isSharingStore(this.#store) ? this.#store : undefined;
  }

  isEmpty(): boolean {
    const session = this.#session;
    return !session || isEmptyRecord(session);
  }

  async persist(): Promise<string> {
    const session = this.#session;
    if (!session) throw new SharedSessionError('ERR_SHARED_SESSION_SETUP', 'shared-session/fastify: the request has no session');
    // A brand-new session must be in the store before its id goes into a token.
    if (!this.#stored.has(session) && !session.isSaved()) {
      await session.save();
      this.#stored.add(session);
    }
    return session.sessionId;
  }

  async find(id: string): Promise<FoundSession | undefined> {
    const store = this.#store;
    const data = await call<unknown>((done) => store.get(id, done));
    if (!data || typeof data !== 'object') return undefined;
    const record = data as Record<string, unknown>;
    return {
      id,
      isEmpty: () => isEmptyRecord(record),
      readNote: () => record[NOTE_KEY],
      writeNote: async (note) => {
        // The record as loaded, only the note replaced: our stores merge it (see the Express port).
        record[NOTE_KEY] = note;
        await call<void>((done) => store.set(id, record, done));
      },
      adopt: () => this.#adopt(id, record),
    };
  }

  async destroy(id: string): Promise<void> {
    await call<void>((done) => this.#store.destroy(id, done));
  }

  readNote(): unknown {
    return this.#session?.[NOTE_KEY];
  }

  writeNote(note: unknown): void {
    const session = this.#session;
    if (!session) return;
    session[NOTE_KEY] = note;
    this.changed = true;
  }

  /**
   * Save an adopted or noted session now: @fastify/session sends a cookie at onSend only
   * for a session it saves there or that `isSaved()` (trap 3).
   */
  async flush(): Promise<void> {
    const session = this.#session;
    if (!this.changed || !session || session.isSaved()) return;
    await session.save();
    this.#stored.add(session);
  }

  /** Keep @fastify/session from saving or sending a cookie for this request. */
  detach(): void {
    (this.#request as unknown as SessionRequest).session = null;
  }

  #adopt(id: string, record: Record<string, unknown>): void {
    const request = this.#request;
    const current = this.#session;
    if (!current) return;
    const shape = probe(request);
    const { cookie: stored, ...data } = record;
    const Session = current.constructor as SessionConstructor;
    // Built without the stored cookie, so this site's options make it (trap 1).
    const adopted = new Session(this.#store, request, shape.idGenerator, { ...shape.cookieOpts }, shape.signer, data, id);
    keepLifetime(adopted.cookie, stored);
    (request as unknown as SessionRequest).session = adopted;
    this.#stored.add(adopted);
    this.changed = true;
  }
}

/**
 * Give `cookie` (a fresh one of this site's) the lifetime the session's stored cookie had:
 * remember-me's 30 days, or a browser-session cookie, is the app's decision for that session.
 */
function keepLifetime(cookie: Record<string, unknown>, stored: unknown): void {
  const { originalMaxAge, expires } = (stored ?? {}) as { originalMaxAge?: unknown; expires?: unknown };
  if (typeof originalMaxAge === 'number' && Number.isFinite(originalMaxAge) && originalMaxAge > 0) cookie.maxAge = originalMaxAge;
  else if (originalMaxAge === null && (expires === null || expires === undefined || expires === false)) {
    cookie.expires = null;
    cookie.originalMaxAge = null;
  }
}
