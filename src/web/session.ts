import { parse, serialize } from 'cookie';
import { NOTE_KEY, checkSecretStrength, optionError } from '../core/adapter.ts';
import { isSharingStore, type FoundSession, type SessionPort, type SharingStore } from '../index.ts';

/**
 * Our own session layer for the Web-standard world (Hono, Next.js, SvelteKit, Astro, Bun,
 * Deno), which has no session middleware that can adopt a session by id. It keeps the
 * record shape express-session uses (`{ cookie: { originalMaxAge, expires, … }, …data }`),
 * so that one store serves an Express site and a Web site alike: one login, one cart.
 *
 * The cookie is signed (HMAC-SHA256 over the id, with `secret`): the id alone is 256
 * random bits and could not be guessed, but signing means an id that leaks from the store
 * (a dump, a log, a backup) or from another site of the group (whose cookie names the same
 * id) is no credential here, and a forged or garbled cookie is refused before the store is
 * asked. express-session signs for the same reason; secrets rotate like the core's (a
 * list, newest first).
 */

/**
 * The store as this layer uses it: the promise API every store of this package has.
 * Typed here, not imported: the layer needs no particular store.
 */
export interface WebSessionStore {
  get(id: string): Promise<Record<string, unknown> | null | undefined>;
  set(id: string, record: SessionRecord): Promise<void>;
  destroy(id: string): Promise<void>;
  touch?(id: string, record: SessionRecord): Promise<void>;
}

/** A stored session, as express-session stores it. */
export interface SessionRecord {
  cookie: StoredCookie;
  [key: string]: unknown;
}

/** The cookie part of a record, as express-session writes it. */
export interface StoredCookie {
  /** The lifetime in ms, or null for a browser-session cookie. */
  originalMaxAge: number | null;
  /** ISO date, or null for a browser-session cookie. */
  expires: string | null;
  secure?: boolean | undefined;
  httpOnly?: boolean | undefined;
  domain?: string | undefined;
  path?: string | undefined;
  sameSite?: 'lax' | 'strict' | 'none' | undefined;
  partitioned?: boolean | undefined;
  priority?: 'low' | 'medium' | 'high' | undefined;
}

export type SessionSecret = string | Uint8Array;

/** Options of the session layer. */
export interface WebSessionOptions {
  /** A store with the promise API; the stores of this package fit. */
  store: WebSessionStore;
  /**
   * Signs the session cookie; a list rotates (signed with the first, checked with any; a
   * cookie only an older one verifies is signed again). Each at least 32 characters or bytes
   * and 128 bits of entropy as the core judges its `secret` (ERR_SHARED_SESSION_WEAK_SECRET).
   */
  secret: SessionSecret | readonly SessionSecret[];
  /** The cookie's name. Default `sid`. */
  name?: string;
  cookie?: {
    /** Default `/`. */
    path?: string;
    domain?: string;
    /** Default true. */
    httpOnly?: boolean;
    /** `'auto'` (the default): Secure on https requests. */
    secure?: boolean | 'auto';
    /** Default `lax`. */
    sameSite?: 'lax' | 'strict' | 'none';
    partitioned?: boolean;
    priority?: 'low' | 'medium' | 'high';
    /** The lifetime of a new session in ms; null for a browser-session cookie. Default 86_400_000 (one day). Each session may change its own (`session.maxAge`). */
    maxAge?: number | null;
  };
  /** Save (touch) and re-send the cookie on every response, so the lifetime counts from the last request. Default false: only a changed session is written. */
  rolling?: boolean;
}

export const WEB_SESSION_OPTION_NAMES: ReadonlySet<string> = new Set(['store', 'secret', 'name', 'cookie', 'rolling']);

/** An HMAC key of Web Crypto (named through the API: the global `CryptoKey` type is not in every lib setting). */
type HmacKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

const ID_BYTES = 32;
// Ids of other session middleware (express-session's uid-safe: 32 characters) arrive
// through adoption, so any base64url id of a sane length is accepted from a signed cookie.
const ID_SHAPE = /^[A-Za-z0-9_-]{16,128}$/;
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function base64url(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

function fromBase64url(text: string): Uint8Array | undefined {
  try {
    const binary = atob(text.replaceAll('-', '+').replaceAll('_', '/'));
    return Uint8Array.from(binary, (char) => char.charCodeAt(0));
  } catch {
    return undefined;
  }
}

function newId(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(ID_BYTES)));
}

/** The resolved configuration of one session layer. */
export class WebSessionConfig {
  readonly store: WebSessionStore;
  readonly name: string;
  readonly path: string;
  readonly domain: string | undefined;
  readonly httpOnly: boolean;
  readonly secure: boolean | 'auto';
  readonly sameSite: 'lax' | 'strict' | 'none';
  readonly partitioned: boolean | undefined;
  readonly priority: 'low' | 'medium' | 'high' | undefined;
  readonly maxAge: number | null;
  readonly rolling: boolean;
  readonly #keys: Promise<HmacKey[]>;

  constructor(options: WebSessionOptions) {
    if (options === null || typeof options !== 'object') throw optionError('session', 'is missing', 'Pass `session: { store, secret }`.');
    for (const key of Object.keys(options)) {
      if (!WEB_SESSION_OPTION_NAMES.has(key)) throw optionError(`session.${key}`, 'is not an option', `Use one of ${[...WEB_SESSION_OPTION_NAMES].join(', ')}.`);
    }
    const store = options.store as Partial<WebSessionStore> | undefined;
    if (!store || typeof store.get !== 'function' || typeof store.set !== 'function' || typeof store.destroy !== 'function') {
      throw optionError('session.store', 'must have get(id), set(id, record) and destroy(id) returning promises', 'Pass a store of shared-session, e.g. `new SqliteStore({ path })`.');
    }
    this.store = options.store;
    const secrets: readonly SessionSecret[] = Array.isArray(options.secret) ? (options.secret as readonly SessionSecret[]) : [options.secret as SessionSecret];
    if (secrets.length === 0 || secrets.some((secret) => !(typeof secret === 'string' || secret instanceof Uint8Array) || secret.length < 32)) {
      throw optionError('session.secret', 'must be a string or bytes of at least 32 characters, or a list of them', 'Use e.g. `openssl rand -base64 48`; keep it apart from the core’s `secret`.');
    }
    // Anyone can get a cookie of their own (an id and its HMAC): a guessable secret falls to
    // an offline search, and then every id a log or a store dump shows is a cookie. Older
    // entries of the list count as much as the newest: each one still verifies.
    secrets.forEach((secret, index) => checkSecretStrength(secret, Array.isArray(options.secret) ? `session.secret[${index}]` : 'session.secret'));
    const encoded = secrets.map((secret) => (typeof secret === 'string' ? new TextEncoder().encode(secret) : secret));
    encoded.forEach((bytes, index) => {
      if (encoded.slice(0, index).some((earlier) => earlier.length === bytes.length && earlier.every((byte, at) => byte === bytes[at]))) {
        throw optionError(`session.secret[${index}]`, 'repeats an earlier secret', 'List each secret once, newest first.');
      }
    });
    const name = options.name ?? 'sid';
    if (typeof name !== 'string' || !COOKIE_NAME.test(name)) throw optionError('session.name', 'must be a cookie name (a token)', 'Use e.g. `sid`.');
    this.name = name;
    const cookie = options.cookie ?? {};
    if (cookie === null || typeof cookie !== 'object') throw optionError('session.cookie', 'must be an object', 'Pass e.g. `{ maxAge: 86_400_000 }`.');
    this.path = cookie.path ?? '/';
    if (typeof this.path !== 'string' || !this.path.startsWith('/')) throw optionError('session.cookie.path', 'must start with /', 'Use e.g. `/`.');
    if (cookie.domain !== undefined && (typeof cookie.domain !== 'string' || cookie.domain === '')) throw optionError('session.cookie.domain', 'must be a domain', 'Leave it out for a host-only cookie.');
    this.domain = cookie.domain;
    this.httpOnly = cookie.httpOnly ?? true;
    if (typeof this.httpOnly !== 'boolean') throw optionError('session.cookie.httpOnly', 'must be a boolean', 'Leave it out (true).');
    this.secure = cookie.secure ?? 'auto';
    if (this.secure !== 'auto' && typeof this.secure !== 'boolean') throw optionError('session.cookie.secure', "must be true, false or 'auto'", "Leave it out ('auto').");
    this.sameSite = cookie.sameSite ?? 'lax';
    if (!['lax', 'strict', 'none'].includes(this.sameSite)) throw optionError('session.cookie.sameSite', "must be 'lax', 'strict' or 'none'", "Leave it out ('lax').");
    this.partitioned = cookie.partitioned;
    this.priority = cookie.priority;
    const maxAge = cookie.maxAge === undefined ? 86_400_000 : cookie.maxAge;
    if (maxAge !== null && (typeof maxAge !== 'number' || !Number.isFinite(maxAge) || maxAge <= 0)) {
      throw optionError('session.cookie.maxAge', 'must be a positive number of milliseconds or null', 'Use e.g. 86_400_000 (one day).');
    }
    this.maxAge = maxAge;
    this.rolling = options.rolling ?? false;
    if (typeof this.rolling !== 'boolean') throw optionError('session.rolling', 'must be a boolean', 'Leave it out (false).');
    const encoder = new TextEncoder();
    this.#keys = Promise.all(
      secrets.map((secret) =>
        crypto.subtle.importKey('raw', typeof secret === 'string' ? encoder.encode(secret) : new Uint8Array(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']),
      ),
    );
  }

  /** The cookie value for `id`: `<id>.<signature>`. */
  async sign(id: string): Promise<string> {
    const [key] = await this.#keys;
    const signature = await crypto.subtle.sign('HMAC', key as HmacKey, new TextEncoder().encode(id));
    return `${id}.${base64url(new Uint8Array(signature))}`;
  }

  /**
   * The id a cookie value names, when its signature is one of ours; undefined for anything
   * else. `current` is false when only an older secret of the list signed it: the cookie
   * must then be signed again, or dropping that secret would log the visitor out.
   */
  async unsign(value: string): Promise<{ id: string; current: boolean } | undefined> {
    const dot = value.lastIndexOf('.');
    if (dot === -1) return undefined;
    const id = value.slice(0, dot);
    if (!ID_SHAPE.test(id)) return undefined;
    const signature = fromBase64url(value.slice(dot + 1));
    if (!signature || signature.length !== 32) return undefined;
    const data = new TextEncoder().encode(id);
    const keys = await this.#keys;
    // verify compares in constant time.
    for (const [index, key] of keys.entries()) if (await crypto.subtle.verify('HMAC', key, signature as Uint8Array<ArrayBuffer>, data)) return { id, current: index === 0 };
    return undefined;
  }
}

/** What the request says about itself, as far as the session cookie cares. */
export interface CookieRequest {
  readonly cookieHeader: string | undefined;
  readonly https: boolean;
}

function jsonOfData(data: Record<string, unknown>): string {
  return JSON.stringify(data);
}

function isEmptyData(data: Record<string, unknown>): boolean {
  for (const key in data) if (key !== NOTE_KEY) return false;
  return true;
}

/** The lifetime a stored cookie gives its session: ms, null for a browser-session cookie, undefined when it says nothing usable. */
function storedLifetime(cookie: unknown): number | null | undefined {
  const originalMaxAge = (cookie as { originalMaxAge?: unknown } | null | undefined)?.originalMaxAge;
  if (typeof originalMaxAge === 'number' && Number.isFinite(originalMaxAge) && originalMaxAge > 0) return originalMaxAge;
  if (originalMaxAge === null || originalMaxAge === false) return null;
  return undefined;
}

/** The expiry a stored cookie names: null for a browser-session cookie (or none readable). */
function storedExpiry(cookie: unknown): Date | null {
  const expires = (cookie as { expires?: unknown } | null | undefined)?.expires;
  const at = expires instanceof Date ? expires.getTime() : typeof expires === 'string' ? Date.parse(expires) : Number.NaN;
  return Number.isFinite(at) ? new Date(at) : null;
}

/** A record whose stored expiry is past counts as gone, whatever the store kept. */
function expired(cookie: unknown, now: number): boolean {
  const expires = (cookie as { expires?: unknown } | null | undefined)?.expires;
  if (typeof expires !== 'string') return false;
  const at = Date.parse(expires);
  return Number.isFinite(at) && at <= now;
}

/**
 * One request's session. `data` is the app's (JSON-safe values); the session is written
 * at the end of the request only when it changed (or with `rolling`), and a new session
 * only once it holds data: requests without a cookie never write to the store.
 */
export class WebSession implements SessionPort {
  readonly #config: WebSessionConfig;
  readonly #https: boolean;
  #id: string;
  /** The app's data, without the cookie. */
  #data: Record<string, unknown>;
  /** The object the store returned (it carries what the store loaded, for its merge); a fresh one for a new session. */
  #record: Record<string, unknown>;
  #maxAge: number | null;
  /** What was stored under `#id` (data JSON and lifetime) as this request knows it; undefined while not stored. */
  #stored: { json: string; maxAge: number | null } | undefined;
  /** The id the request's cookie named and the store held, for the Set-Cookie that clears it. */
  readonly #cookieId: string | undefined;
  #cookieNamed: boolean;
  /** Set by adoption: save and send the cookie whatever else changed. */
  #forced = false;
  #destroyed = false;
  /** Set by every save of this request: the browser must get the cookie (a new id, a new expiry). */
  #cookieDue = false;
  /** The request's cookie was signed by an older secret of the list: send it again, signed by the newest. */
  #resign = false;

  private constructor(config: WebSessionConfig, https: boolean, id: string, record: Record<string, unknown> | undefined, cookieNamed: boolean) {
    this.#config = config;
    this.#https = https;
    this.#id = id;
    this.#cookieNamed = cookieNamed;
    if (record) {
      this.#record = record;
      const { cookie, ...data } = record;
      this.#data = data;
      const lifetime = storedLifetime(cookie);
      this.#maxAge = lifetime === undefined ? config.maxAge : lifetime;
      this.#stored = { json: jsonOfData(data), maxAge: this.#maxAge };
      this.#cookieId = id;
    } else {
      this.#record = {};
      this.#data = {};
      this.#maxAge = config.maxAge;
      this.#stored = undefined;
      this.#cookieId = undefined;
    }
  }

  /**
   * The session of a request: the one its signed cookie names when the store holds it,
   * otherwise a new one (in memory only). Throws when the store fails.
   */
  static async load(config: WebSessionConfig, request: CookieRequest): Promise<WebSession> {
    const value = request.cookieHeader ? parse(request.cookieHeader)[config.name] : undefined;
    const signed = value ? await config.unsign(value) : undefined;
    if (signed !== undefined) {
      const record = await config.store.get(signed.id);
      if (record && typeof record === 'object' && !expired(record.cookie, Date.now())) {
        const session = new WebSession(config, request.https, signed.id, record, true);
        session.#resign = !signed.current;
        return session;
      }
    }
    // A cookie that names nothing (forged, garbled, expired, destroyed): a fresh session,
    // which reaches the store only when the app puts something in it.
    return new WebSession(config, request.https, newId(), undefined, value !== undefined);
  }

  /** The session's id. A new session has one too; it is stored once it holds data. */
  get id(): string {
    return this.#id;
  }

  /** True until the session is in the store. */
  get isNew(): boolean {
    return this.#stored === undefined;
  }

  /** The app's data: read and change it directly (JSON-safe values). */
  get data(): Record<string, unknown> {
    return this.#data;
  }

  get<T = unknown>(key: string): T | undefined {
    return this.#data[key] as T | undefined;
  }

  set(key: string, value: unknown): void {
    this.#data[key] = value;
  }

  delete(key: string): void {
    delete this.#data[key];
  }

  /** This session's cookie lifetime in ms (null: a browser-session cookie). Set it for this session only, e.g. remember-me's 30 days. */
  get maxAge(): number | null {
    return this.#maxAge;
  }

  set maxAge(value: number | null) {
    if (value !== null && (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)) {
      throw optionError('session.maxAge', 'must be a positive number of milliseconds or null', 'Use e.g. 30 * 86_400_000.');
    }
    this.#maxAge = value;
  }

  /**
   * A new id for the session, the old one destroyed, the data emptied: do it at login, so
   * an id planted in the browser before cannot ride into the logged-in session. Copy what
   * should survive (a cart) before, and set it again after.
   */
  async regenerate(): Promise<void> {
    const old = this.#stored ? this.#id : undefined;
    if (old !== undefined) await this.#config.store.destroy(old);
    this.#fresh();
  }

  /** Destroy the session (logout): gone from the store, its cookie cleared; the request goes on with an empty new one. */
  async destroy(id?: string): Promise<void> {
    // SessionPort.destroy(id): another session by id, which the core leaves behind.
    if (id !== undefined && id !== this.#id) {
      await this.#config.store.destroy(id);
      return;
    }
    if (this.#stored) await this.#config.store.destroy(this.#id);
    this.#destroyed = true;
    this.#fresh();
  }

  /** Write the session now (the end of the request does it when it changed). */
  async save(): Promise<void> {
    const record = this.#record;
    for (const key of Object.keys(record)) delete record[key];
    Object.assign(record, this.#data);
    record.cookie = this.#storedCookie();
    await this.#config.store.set(this.#id, record as SessionRecord);
    this.#stored = { json: jsonOfData(this.#data), maxAge: this.#maxAge };
    this.#cookieDue = true;
  }

  #fresh(): void {
    this.#id = newId();
    this.#record = {};
    this.#data = {};
    this.#maxAge = this.#config.maxAge;
    this.#stored = undefined;
    this.#forced = false;
    this.#cookieDue = false;
  }

  #storedCookie(now = Date.now()): StoredCookie {
    const config = this.#config;
    return {
      originalMaxAge: this.#maxAge,
      expires: this.#maxAge === null ? null : new Date(now + this.#maxAge).toISOString(),
      secure: config.secure === 'auto' ? this.#https : config.secure,
      httpOnly: config.httpOnly,
      domain: config.domain,
      path: config.path,
      sameSite: config.sameSite,
      ...(config.partitioned === undefined ? {} : { partitioned: config.partitioned }),
      ...(config.priority === undefined ? {} : { priority: config.priority }),
    };
  }

  /** Whether the end of the request must write the session. */
  get changed(): boolean {
    if (this.#forced) return true;
    const stored = this.#stored;
    if (!stored) return !isEmptyData(this.#data);
    return stored.maxAge !== this.#maxAge || stored.json !== jsonOfData(this.#data);
  }

  /**
   * The end of the request: write the session when it changed (or touch it with
   * `rolling`), and return the Set-Cookie values for the session cookie ([] when none is
   * due). Throws when the store fails: then no cookie may go out.
   */
  async commit(): Promise<string[]> {
    if (this.changed) {
      await this.save();
      this.#forced = false;
    }
    if (this.#cookieDue) return [await this.#cookie()];
    if (this.#stored && this.#config.rolling) {
      this.#record.cookie = this.#storedCookie();
      await (this.#config.store.touch ?? this.#config.store.set).call(this.#config.store, this.#id, this.#record as SessionRecord);
      return [await this.#cookie()];
    }
    if (this.#resign && this.#stored && this.#id === this.#cookieId) {
      // Only the signature changes: the stored expiry stays the cookie's, so re-signing
      // stretches no session and writes nothing to the store.
      this.#resign = false;
      return [await this.#cookie(storedExpiry(this.#record.cookie))];
    }
    // Logged out (or the cookie named nothing) and nothing new stored: clear the browser's cookie.
    if (!this.#stored && (this.#destroyed || (this.#cookieNamed && this.#cookieId === undefined))) return [this.#clearCookie()];
    return [];
  }

  /** The session cookie; `expires` given: that expiry (null: a browser-session cookie), otherwise one from now by the session's lifetime. */
  async #cookie(expires?: Date | null): Promise<string> {
    const config = this.#config;
    const at = expires === undefined ? (this.#maxAge === null ? null : new Date(Date.now() + this.#maxAge)) : expires;
    return serialize(config.name, await config.sign(this.#id), {
      ...this.#attributes(),
      ...(config.partitioned === undefined ? {} : { partitioned: config.partitioned }),
      ...(config.priority === undefined ? {} : { priority: config.priority }),
      ...(at === null ? {} : { expires: at }),
    });
  }

  #attributes(): { path: string; domain?: string; httpOnly: boolean; secure: boolean; sameSite: 'lax' | 'strict' | 'none' } {
    const config = this.#config;
    return {
      path: config.path,
      ...(config.domain === undefined ? {} : { domain: config.domain }),
      httpOnly: config.httpOnly,
      secure: config.secure === 'auto' ? this.#https : config.secure,
      sameSite: config.sameSite,
    };
  }

  #clearCookie(): string {
    const config = this.#config;
    this.#cookieNamed = false;
    return serialize(config.name, '', { ...this.#attributes(), expires: new Date(0) });
  }

  // SessionPort, for the core.

  get sharingStore(): SharingStore | undefined {
    return isSharingStore(this.#config.store) ? this.#config.store : undefined;
  }

  isEmpty(): boolean {
    return isEmptyData(this.#data);
  }

  async persist(): Promise<string> {
    // The page's scripts are fetched as soon as the page arrives: a new session must be
    // in the store before its id goes into a token.
    if (!this.#stored) await this.save();
    return this.#id;
  }

  async find(id: string): Promise<FoundSession | undefined> {
    const store = this.#config.store;
    const record = await store.get(id);
    if (!record || typeof record !== 'object' || expired(record.cookie, Date.now())) return undefined;
    return {
      id,
      isEmpty: () => isEmptyData(Object.fromEntries(Object.entries(record).filter(([key]) => key !== 'cookie'))),
      readNote: () => record[NOTE_KEY],
      writeNote: async (note) => {
        // The record as loaded, only the note replaced: the stores of this package merge it
        // into a record another request changed meanwhile.
        record[NOTE_KEY] = note;
        await store.set(id, record as SessionRecord);
      },
      adopt: () => this.#adopt(id, record),
    };
  }

  #adopt(id: string, record: Record<string, unknown>): void {
    // This site's cookie settings (the record's cookie attributes are the last saving
    // site's), the session's own lifetime (remember-me's is that session's, not a site's).
    const { cookie, ...data } = record;
    const lifetime = storedLifetime(cookie);
    this.#id = id;
    this.#record = record;
    this.#data = data;
    this.#maxAge = lifetime === undefined ? this.#config.maxAge : lifetime;
    this.#stored = { json: jsonOfData(data), maxAge: this.#maxAge };
    this.#forced = true;
  }

  readNote(): unknown {
    return this.#data[NOTE_KEY];
  }

  writeNote(note: unknown): void {
    this.#data[NOTE_KEY] = note;
  }
}
