import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { SharedSessionError, optionError } from '../core/errors.ts';
import type { SharingStore } from '../core/sharing-store.ts';
import { changeOf, expiryOf, type SessionChange, type StoredCookie, type StoredRecord, type StoredSession } from './change.ts';
import { Deadlines } from './deadlines.ts';

export { changeOf, expiryOf, type SessionChange, type SessionDelta, type StoredCookie, type StoredRecord, type StoredSession } from './change.ts';

export type Callback<T> = (error: unknown, value?: T) => void;

/** A session as `get` answers it: its cookie and the app's own keys. */
export type LoadedSession = StoredSession & Record<string, unknown>;

// Loose on purpose: the stores must be assignable to express-session's and
// @fastify/session's Store types without importing either package's types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type LooseCallback = (error: any, session?: any) => void;

/** Options every store of this package takes. */
export interface StoreOptions {
  /** Lifetime of a session whose cookie has no expiry (a browser-session cookie). Default 86400 (one day). */
  defaultTtlSeconds?: number;
  /** How long a destroyed session id stays refused, so that a slow request cannot bring it back. Default 3600. */
  tombstoneSeconds?: number;
  /** A store operation that takes longer fails with a 503-type error. Default 2000. */
  operationTimeoutMs?: number;
}

type ExpressSessionModule = { Store: { prototype: { createSession(this: unknown, req: unknown, session: unknown): object } } };
let expressSession: ExpressSessionModule | undefined;

/** A positive number option of a store (zero too when `allowZero`). */
export function positiveOption(value: unknown, option: string, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw optionError(option, `must be a ${allowZero ? 'non-negative' : 'positive'} number`, `Use e.g. ${fallback}.`);
  }
  return value;
}

/**
 * The callback-style Store interface that express-session and @fastify/session expect,
 * over a promise-based implementation, with what every store of this package guarantees:
 *
 * - **no lost updates**: a save writes the session whole only over the record the request
 *   loaded; when another save came in between, only the top-level keys this request
 *   changed are merged in (what it loaded is known from `createSession`, which
 *   express-session calls with the record `get` returned), so concurrent requests changing
 *   different keys both win; the same key: the last save wins;
 * - **destroyed stays destroyed**: `destroy` of a stored session leaves a tombstone for
 *   `tombstoneSeconds`, and every later save of that id is dropped: a request that loaded
 *   the session before the logout and finishes after it must not bring it back, and only
 *   express-session marks what it loaded (@fastify/session and code on the Promise API
 *   copy the session into new objects), so a loaded save cannot be told from a new one.
 *   Session middleware never reuses an unknown id, so no new session is lost by this;
 *   express-session's MemoryStore would store it (the one deliberate difference, in
 *   `test/compat/differences.ts`). `destroy` of an id that has no record writes nothing,
 *   so requests without a session cannot fill the store;
 * - **the app's lifetime**: a save that changes only the cookie's lifetime (remember-me's
 *   `maxAge`, `expires = false`) is written, also right after another save and also when
 *   express-session only touches; an expiry already past stores the session expired (no
 *   session), and an expiry that is no date counts as none (`defaultTtlSeconds`);
 * - **bounded failures**: an operation that fails or takes longer than
 *   `operationTimeoutMs` rejects with `SharedSessionError`
 *   `ERR_SHARED_SESSION_STORE_UNAVAILABLE` (`status` 503), which Express answers as 503.
 */
export abstract class CallbackStore extends EventEmitter implements SharingStore {
  protected readonly defaultTtlMs: number;
  protected readonly tombstoneMs: number;
  protected readonly operationTimeoutMs: number;

  /** Sweeps at a tenth of the limit: a late operation fails within 10 % of `operationTimeoutMs`. */
  readonly #deadlines: Deadlines;

  constructor(options: StoreOptions = {}) {
    super();
    this.defaultTtlMs = positiveOption(options.defaultTtlSeconds, 'defaultTtlSeconds', 86_400) * 1000;
    this.tombstoneMs = positiveOption(options.tombstoneSeconds, 'tombstoneSeconds', 3600) * 1000;
    this.operationTimeoutMs = positiveOption(options.operationTimeoutMs, 'operationTimeoutMs', 2000);
    this.#deadlines = new Deadlines(Math.max(10, Math.min(250, this.operationTimeoutMs / 10)));
  }

  /**
   * True for a store whose operations run synchronously (SQLite): no timer can outrun
   * them, as they block the event loop, so none is set; their own busy timeout bounds them.
   */
  protected get synchronous(): boolean {
    return false;
  }

  /** The record, or undefined when missing, expired or destroyed. */
  protected abstract read(sid: string): Promise<StoredRecord | undefined>;
  /**
   * Apply one save atomically, and set the expiry: nothing when `sid` has a live
   * tombstone; `change.json` when there is no live record, when the change is a new
   * session (`loaded` undefined), or when the record is still the one the request loaded;
   * otherwise `change.mergeInto(current record)`. Resolve the new record's version when
   * the store versions records and wrote `change.json` itself, else undefined.
   */
  protected abstract write(sid: string, change: SessionChange): Promise<string | undefined>;
  /**
   * Delete the record and leave a tombstone living `tombstoneMs`, atomically; only when
   * there is a record (live, or expired and not yet pruned). An id without one writes
   * nothing: a late save of a destroyed session comes from a request that loaded its
   * record, so only a stored id needs the tombstone, and anonymous requests could
   * otherwise write tombstones without bound.
   */
  protected abstract remove(sid: string): Promise<void>;
  /**
   * Move the expiry of a live record, never creating one. The stored cookie is left as it
   * is (as connect-redis does): its `expires` is never read back, since every save and
   * every Set-Cookie takes the request's own cookie.
   */
  protected abstract refresh(sid: string, expires: number): Promise<void>;
  protected abstract list(): Promise<Record<string, Record<string, unknown>>>;
  protected abstract count(): Promise<number>;
  protected abstract removeAll(): Promise<void>;
  protected abstract claim(key: string, ttlMs: number): Promise<boolean>;
  protected abstract getLink(browserId: string): Promise<string | undefined>;
  protected abstract putLink(browserId: string, value: string, ttlMs: number): Promise<void>;

  /**
   * Run one operation with the time limit, turning every failure into a 503-type
   * `SharedSessionError` that keeps the cause (and never a session's data) for logs.
   */
  protected guard<T>(operation: string, work: () => Promise<T>): Promise<T> {
    const fail = (error: unknown): never => {
      throw error instanceof SharedSessionError ? error : unavailable(`${this.constructor.name} ${operation} failed`, error);
    };
    let running: Promise<T>;
    try {
      running = work();
    } catch (error) {
      running = Promise.reject(error instanceof Error ? error : new Error('store operation failed', { cause: error }));
    }
    if (this.synchronous) return running.catch(fail);
    const late = (): Error => new Error(`${operation} took longer than ${this.operationTimeoutMs} ms`);
    return this.#deadlines.run(running, this.operationTimeoutMs, late).catch(fail);
  }

  /** The session stored under `sid`, or null. Without a callback, a Promise. */
  get(sid: string): Promise<LoadedSession | null>;
  get(sid: string, callback: LooseCallback): void;
  get(sid: string, ...callback: [LooseCallback?]): Promise<LoadedSession | null> | void {
    const loaded = this.guard('get', async () => {
      const record = await this.read(sid);
      if (!record) return null;
      let session: LoadedSession;
      try {
        session = JSON.parse(record.json) as LoadedSession;
      } catch {
        // Without the parser's message: newer V8 quotes the input, a session's data, into logs.
        throw new Error('a stored session is not valid JSON');
      }
      remember(session, record, lifetimeOf(session.cookie));
      return session;
    });
    return settle(loaded, callback);
  }

  /** Store `session` under `sid` (see the class comment for what a save guarantees). Without a callback, a Promise. */
  // Generic: an object literal with the app's own keys is no excess-property error.
  set<T extends StoredSession>(sid: string, session: T): Promise<void>;
  set<T extends StoredSession>(sid: string, session: T, callback: Callback<void> | undefined): void;
  set(sid: string, session: StoredSession, ...callback: [Callback<void>?]): Promise<void> | void {
    return this.#save(sid, session, callback);
  }

  #save(sid: string, session: StoredSession, callback: [Callback<void>?]): Promise<void> | void {
    const lifetime = lifetimeOf(session.cookie);
    const change = changeOf(session, loadedOf(session), expiryOf(session, this.defaultTtlMs));
    if (justSaved(session, sid) && onlyTimePassed(change, lifetime, lifetimeMarkOf(session))) {
      // The same request saving again what it just saved: save-first (Express) saves before
      // responding, and express-session saves again after an id change. Nothing stored
      // would differ but the cookie's expiry, moved on by the time passed: nothing to write.
      // A changed lifetime (remember-me's maxAge right after Passport's login save) is written.
      return settle(Promise.resolve(), callback);
    }
    const saved = this.guard('set', () => this.write(sid, change)).then((version) => {
      // A second save in the same request is compared against this one: what this request
      // sent (not a merged record, which holds other requests' changes it never saw).
      remember(session, { json: change.json, version }, lifetime);
      markSaved(session, sid);
    });
    return settle(saved, callback);
  }

  /** Delete the session `sid`. Without a callback, a Promise. */
  destroy(sid: string): Promise<void>;
  destroy(sid: string, callback: Callback<void> | undefined): void;
  destroy(sid: string, ...callback: [Callback<void>?]): Promise<void> | void {
    return settle(this.guard('destroy', () => this.remove(sid)), callback);
  }

  /** Move the expiry of the stored session `sid` to the one `session`'s cookie gives. Without a callback, a Promise. */
  touch<T extends StoredSession>(sid: string, session: T): Promise<void>;
  touch<T extends StoredSession>(sid: string, session: T, callback: Callback<void> | undefined): void;
  touch(sid: string, session: StoredSession, ...callback: [Callback<void>?]): Promise<void> | void {
    const mark = lifetimeMarkOf(session);
    // express-session touches rather than saves when only the cookie changed (its
    // "modified" test leaves the cookie out): a new lifetime (remember-me's maxAge, or
    // `expires = false`) must reach the stored cookie, which the next request's cookie is
    // built from, so that touch is a save.
    if (mark !== undefined && !sameLifetime(lifetimeOf(session.cookie), mark)) return this.#save(sid, session, callback);
    // express-session touches a session it did not save itself, also one this request has
    // just saved (save-first): that save set the expiry a moment ago.
    if (justSaved(session, sid)) return settle(Promise.resolve(), callback);
    return settle(this.guard('touch', () => this.refresh(sid, expiryOf(session, this.defaultTtlMs))), callback);
  }

  /** Every live session, by id. Without a callback, a Promise. */
  all(): Promise<Record<string, Record<string, unknown>>>;
  all(callback: LooseCallback): void;
  all(...callback: [LooseCallback?]): Promise<Record<string, Record<string, unknown>>> | void {
    return settle(this.guard('all', () => this.list()), callback);
  }

  /** How many live sessions there are. Without a callback, a Promise. */
  length(): Promise<number>;
  length(callback: Callback<number>): void;
  length(...callback: [Callback<number>?]): Promise<number> | void {
    return settle(this.guard('length', () => this.count()), callback);
  }

  /** Delete every session (tombstones and claims stay). Without a callback, a Promise. */
  clear(): Promise<void>;
  clear(callback: Callback<void> | undefined): void;
  clear(...callback: [Callback<void>?]): Promise<void> | void {
    return settle(this.guard('clear', () => this.removeAll()), callback);
  }

  claimOnce(key: string, ttlMs: number): Promise<boolean> {
    return this.guard('claimOnce', () => this.claim(key, ttlMs));
  }

  readLink(browserId: string): Promise<string | undefined> {
    return this.guard('readLink', () => this.getLink(browserId));
  }

  writeLink(browserId: string, value: string, ttlMs: number): Promise<void> {
    return this.guard('writeLink', () => this.putLink(browserId, value, ttlMs));
  }

  /**
   * express-session builds its Session and Cookie objects through the store. Its own
   * Store base class does that; reaching it lazily keeps this store free of an
   * express-session import, so @fastify/session users need not install it. The store
   * notes which record the session came from, so that its save can tell what changed.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- express-session types the result as its own Session
  createSession(req: unknown, session: StoredSession): any {
    expressSession ??= createRequire(import.meta.url)('express-session') as ExpressSessionModule;
    // The record `get` returned, before express-session replaces its cookie.
    const loaded = loadedOf(session);
    const lifetime = lifetimeMarkOf(session);
    const built = expressSession.Store.prototype.createSession.call(this, req, session);
    if (loaded) remember(built, loaded, lifetime ?? NO_COOKIE);
    return built;
  }

  /** express-session's `Store#load`: a session object for `sid`, or nothing. */
  load(sid: string, callback: LooseCallback): void {
    this.get(sid, (error: unknown, session?: StoredSession | null) => {
      if (error) return callback(error);
      if (!session) return callback(null);
      callback(null, this.createSession({ sessionID: sid, sessionStore: this }, session));
    });
  }

  /** express-session's `Store#regenerate`: destroy, then a fresh session from express-session's `generate`. */
  regenerate(req: { sessionID: string }, callback: Callback<void>): void {
    this.destroy(req.sessionID, (error) => {
      (this as unknown as { generate(req: unknown): void }).generate(req);
      callback(error);
    });
  }
}

/**
 * What a session object was loaded (or last saved) as, kept on the object under a symbol:
 * for...in, JSON.stringify and Object.keys skip it, so express-session never copies it
 * into the session data or saves it. (A WeakMap did the same, but its entries cost the
 * garbage collector more than the store's own GET, measured in the store benchmark.)
 */
const LOADED = Symbol('shared-session loaded record');
/** The lifetime (`lifetimeOf`) of the cookie that record holds. */
const LIFETIME = Symbol('shared-session stored lifetime');

function remember(session: object, record: StoredRecord, lifetime: Lifetime): void {
  Object.defineProperty(session, LOADED, { value: record, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(session, LIFETIME, { value: lifetime, writable: true, configurable: true, enumerable: false });
}

function lifetimeMarkOf(session: object): Lifetime | undefined {
  return (session as { [LIFETIME]?: Lifetime })[LIFETIME];
}

function loadedOf(session: object): StoredRecord | undefined {
  return (session as { [LOADED]?: StoredRecord })[LOADED];
}

/**
 * The lifetime a cookie gives its session, the app's decision for that session: its
 * `originalMaxAge`, and whether it expires at all (`expires = false` is a browser-session
 * cookie). Two cookies with the same lifetime differ only by the time that passed between
 * them. Attributes (domain, sameSite…) are left out: every site loads a session with its
 * own, whatever another site stored.
 */
function lifetimeOf(cookie: StoredCookie | undefined): Lifetime {
  if (!cookie) return NO_COOKIE;
  const { expires, originalMaxAge } = cookie as StoredCookie & { originalMaxAge?: unknown };
  return { dated: !(expires === null || expires === undefined || (expires as unknown) === false), maxAge: typeof originalMaxAge === 'number' ? originalMaxAge : null };
}

interface Lifetime {
  readonly dated: boolean;
  readonly maxAge: number | null;
}

const NO_COOKIE: Lifetime = { dated: false, maxAge: null };

/**
 * True for the same lifetime. express-session recomputes `originalMaxAge` on every request
 * (from an expiry it has just set, a millisecond may pass between), so a second's slack.
 */
function sameLifetime(a: Lifetime, b: Lifetime | undefined): boolean {
  if (b === undefined || a.dated !== b.dated) return false;
  if (a.maxAge === null || b.maxAge === null) return a.maxAge === b.maxAge;
  return Math.abs(a.maxAge - b.maxAge) < 1000;
}

/** When and under which id this session object (one request's) was last saved. */
const SAVED = Symbol('shared-session saved');
/** A repeated save or a touch this soon after a save of the same session object writes nothing. */
const REPEAT_MS = 1000;

function markSaved(session: object, sid: string): void {
  Object.defineProperty(session, SAVED, { value: { sid, at: Date.now() }, writable: true, configurable: true, enumerable: false });
}

function justSaved(session: object, sid: string): boolean {
  const mark = (session as { [SAVED]?: { sid: string; at: number } })[SAVED];
  return mark !== undefined && mark.sid === sid && Date.now() - mark.at < REPEAT_MS;
}

/**
 * True when a save would store nothing new since what this request last saved: no key but
 * the cookie changed, and the cookie only by the time passed (`lifetime` as before).
 */
function onlyTimePassed(change: SessionChange, lifetime: Lifetime, before: Lifetime | undefined): boolean {
  if (!sameLifetime(lifetime, before)) return false;
  const delta = change.delta();
  if (delta.removed.length > 0) return false;
  for (const key of delta.changed.keys()) if (key !== 'cookie') return false;
  return true;
}

/** The 503-type error of a store that cannot serve a request. */
export function unavailable(message: string, cause: unknown): SharedSessionError {
  // Express's error handling answers with `status`; express-session passes store errors on.
  return new SharedSessionError('ERR_SHARED_SESSION_STORE_UNAVAILABLE', `shared-session: ${message}`, { cause, status: 503 });
}

/**
 * The promise itself when no callback was passed; when one was (in its place in the call,
 * even `undefined`: express-session's `req.session.destroy()` passes its own missing one),
 * the callback gets the outcome once, and outside the promise: an exception it throws is
 * an uncaught exception (as from any callback API), not a rejection nobody handles, and
 * cannot make it run a second time. A failure with no callback to take it is dropped, as
 * express-session's own stores drop it, rather than left to crash the process.
 */
function settle<T>(promise: Promise<T>, callback: [Callback<T>?]): Promise<T> | void {
  if (callback.length === 0) return promise;
  const [done] = callback;
  promise.then(
    (value) => done && queueMicrotask(() => done(null, value)),
    (error: unknown) => done && queueMicrotask(() => done(error)),
  );
}
