/**
 * What a store is handed on a save: the session as JSON, what the request loaded, and
 * (computed only when a store needs it) what the request changed, with the merge of a
 * concurrent save. Kept apart from the callback plumbing of `CallbackStore`.
 */

/** The cookie part of a session record, as far as a store reads it (for the expiry). */
export interface StoredCookie {
  expires?: string | Date | null | undefined;
  maxAge?: number | null | undefined;
}

/**
 * A session record as session middleware hands it to a store: JSON-safe data plus a
 * cookie. No index signature, so express-session's `SessionData` interface is assignable.
 */
export interface StoredSession {
  cookie?: StoredCookie | undefined;
}

/**
 * A session record as a store reads it: its JSON text (the base parses it once), and, for
 * a store that versions its records (Redis), the version it read.
 */
export interface StoredRecord {
  readonly json: string;
  readonly version?: string | undefined;
}

/** What one request changed in a session since it loaded (or last saved) it. */
export interface SessionDelta {
  /** Top-level keys changed or added, with their JSON text; always includes `cookie`. */
  readonly changed: ReadonlyMap<string, string>;
  /** Top-level keys removed. */
  readonly removed: readonly string[];
}

/**
 * One save of a session, as a store must apply it. Two requests that overlap must both
 * keep their change (the lost update of whole-record stores), so a store writes `json`
 * only over the record this request loaded, and otherwise merges this request's `delta()`
 * into the record as it is now.
 */
export interface SessionChange {
  /** The whole session now, as JSON. */
  readonly json: string;
  /** When the record expires, ms since the epoch. */
  readonly expires: number;
  /**
   * What this request loaded (or last saved); undefined for a new session, whose `json`
   * simply replaces whatever is there.
   */
  readonly loaded: StoredRecord | undefined;
  /** What this request changed since `loaded` (computed on first use). */
  delta(): SessionDelta;
  /** `current` (a record's JSON) with this request's changes applied: the merge of a concurrent save. */
  mergeInto(current: string): string;
}

/**
 * When a record expires: the cookie's expiry, else its max age, else `fallbackMs` from now.
 * An expiry that is no date (an Invalid Date, a garbled string, NaN) counts as none. One
 * already past is kept as it is: the record is then stored expired, which reads as no session.
 */
export function expiryOf(session: StoredSession, fallbackMs: number, now = Date.now()): number {
  const cookie = session.cookie;
  const expires = cookie?.expires;
  const at = expires instanceof Date ? expires.getTime() : typeof expires === 'string' ? Date.parse(expires) : Number.NaN;
  if (Number.isFinite(at)) return at;
  if (typeof cookie?.maxAge === 'number' && Number.isFinite(cookie.maxAge)) return now + cookie.maxAge;
  return now + fallbackMs;
}

/** The JSON text of each top-level key of an object. */
function keysOf(value: object): Map<string, string> {
  const keys = new Map<string, string>();
  for (const [key, item] of Object.entries(value)) {
    const json = JSON.stringify(item);
    // JSON drops undefined and functions; so does a store.
    if (json !== undefined) keys.set(key, json);
  }
  return keys;
}

/** Set an own property, `__proto__` included (JSON allows that key; plain assignment would change the prototype). */
function put(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** The save of `session` against what the request loaded: the JSON now, the delta when asked for. */
export function changeOf(session: object, loaded: StoredRecord | undefined, expires: number): SessionChange {
  return new Change(session, loaded, expires);
}

class Change implements SessionChange {
  readonly json: string;
  readonly expires: number;
  readonly loaded: StoredRecord | undefined;
  readonly #session: object;
  #delta: SessionDelta | undefined;

  constructor(session: object, loaded: StoredRecord | undefined, expires: number) {
    this.json = JSON.stringify(session);
    this.expires = expires;
    this.loaded = loaded;
    this.#session = session;
  }

  delta(): SessionDelta {
    if (this.#delta) return this.#delta;
    const now = keysOf(this.#session);
    const before = this.loaded ? keysOf(JSON.parse(this.loaded.json) as object) : new Map<string, string>();
    const changed = new Map<string, string>();
    // The cookie always goes: it carries the expiry of the latest save.
    for (const [key, text] of now) if (key === 'cookie' || before.get(key) !== text) changed.set(key, text);
    this.#delta = { changed, removed: [...before.keys()].filter((key) => !now.has(key)) };
    return this.#delta;
  }

  mergeInto(current: string): string {
    const { changed, removed } = this.delta();
    const merged = JSON.parse(current) as Record<string, unknown>;
    for (const [key, text] of changed) put(merged, key, JSON.parse(text));
    for (const key of removed) delete merged[key];
    return JSON.stringify(merged);
  }
}
