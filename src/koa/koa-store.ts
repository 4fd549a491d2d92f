import { NOTE_KEY, optionError } from '../core/adapter.ts';
import { SharedSessionError, isSharingStore, type SharingStore } from '../index.ts';

/**
 * koa-session's external store over a store of express-session's shape (the stores of this
 * package), so that one store instance serves an Express site and a Koa site alike: both
 * see one login and one cart, and each keeps the session's lifetime.
 *
 * The two record shapes:
 *
 * - express-session: `{ cookie: { originalMaxAge, expires, ... }, ...data }`;
 * - koa-session: `{ ...data, _expire, _maxAge }`, or `{ ...data, _session: true }` for a
 *   browser-session cookie (koa-session restores `maxAge` from them on load).
 *
 * `originalMaxAge` ⇄ `_maxAge`, `expires` ⇄ `_expire`, and a cookie without an expiry ⇄
 * `_session`. The stored cookie's other attributes stay as they were: neither adapter reads
 * them (each site sends its own cookie settings).
 *
 * The store merges concurrent saves by what the request loaded, which it marks on the
 * object its `get` returned. koa-session hands `set` a fresh copy (`toJSON()`), so this
 * adapter keeps the loaded object per request (`ctx`) and writes the save into it.
 */

/** The store this adapter needs: express-session's shape, on promises (the stores of this package). */
export interface ExpressShapedStore {
  get(sid: string): Promise<Record<string, unknown> | null | undefined>;
  set(sid: string, session: { cookie?: Record<string, unknown> }): Promise<void>;
  destroy(sid: string): Promise<void>;
}

/** koa-session's external store interface. */
export interface KoaExternalStore {
  get(key: string, maxAge: number | 'session' | undefined, options: { rolling?: boolean; ctx?: unknown }): Promise<Record<string, unknown> | undefined>;
  set(key: string, session: Record<string, unknown>, maxAge: number | 'session' | undefined, options: { rolling?: boolean; changed?: boolean; ctx?: unknown }): Promise<void>;
  destroy(key: string, options: { ctx?: unknown }): Promise<void>;
}

/**
 * What one request (Koa's `ctx`) knows about its session beyond koa-session: the records it
 * loaded, and the adoption. koa-session keeps the key it saves under private, so adopting a
 * session found by id cannot change it: instead, saves and destroys of that key (`from`)
 * go to the adopted id (`to`), and the cookie names `to` (see KoaSessionPort).
 */
export interface RequestSessionState {
  readonly loaded: Map<string, Record<string, unknown>>;
  from?: string | undefined;
  to?: string | undefined;
  /** The id the session data on `ctx.session` belongs to, once it differs from `ctx.session.externalKey` (regenerate). */
  own?: string | undefined;
}

const STATE = Symbol('shared-session koa state');

/** The state of one request, made on first use. */
export function stateOf(ctx: object): RequestSessionState {
  const holder = ctx as { [STATE]?: RequestSessionState };
  return (holder[STATE] ??= { loaded: new Map() });
}

/** The id a save or destroy of `key` on this request really concerns. */
export function redirected(ctx: unknown, key: string): string {
  if (typeof ctx !== 'object' || ctx === null) return key;
  const state = (ctx as { [STATE]?: RequestSessionState })[STATE];
  return state?.from === key && state.to !== undefined ? state.to : key;
}

// The stores koaStore() wrapped, for the port: it reads and writes by id without redirection.
const inner = new WeakMap<object, ExpressShapedStore>();

/** The store a koaStore() wraps, or undefined for any other koa-session store. */
export function wrappedStore(store: unknown): ExpressShapedStore | undefined {
  return typeof store === 'object' && store !== null ? inner.get(store) : undefined;
}

/** A record of express-session's shape, as koa-session reads it. */
export function toKoa(record: Record<string, unknown>, now = Date.now()): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(record)) if (key !== 'cookie') put(out, key, record[key]);
  const cookie = (record.cookie ?? {}) as { expires?: unknown; originalMaxAge?: unknown };
  const expires = cookie.expires;
  const at = expires instanceof Date ? expires.getTime() : typeof expires === 'string' ? Date.parse(expires) : Number.NaN;
  if (!Number.isFinite(at)) {
    // No expiry: a browser-session cookie (express-session's `expires = false`).
    out._session = true;
    return out;
  }
  out._expire = at;
  out._maxAge = typeof cookie.originalMaxAge === 'number' && Number.isFinite(cookie.originalMaxAge) && cookie.originalMaxAge > 0 ? cookie.originalMaxAge : Math.max(1, at - now);
  return out;
}

/** Write koa-session's record `data` into `target` (emptied first) in express-session's shape. */
function intoExpress(target: Record<string, unknown>, data: Record<string, unknown>): Record<string, unknown> {
  const previous = (typeof target.cookie === 'object' && target.cookie !== null ? target.cookie : {}) as Record<string, unknown>;
  for (const key of Object.keys(target)) delete target[key];
  for (const key of Object.keys(data)) if (key !== '_expire' && key !== '_maxAge' && key !== '_session' && key !== 'cookie') put(target, key, data[key]);
  const browserSession = data._session === true || typeof data._expire !== 'number';
  target.cookie = {
    path: '/',
    httpOnly: true,
    ...previous,
    originalMaxAge: browserSession ? null : typeof data._maxAge === 'number' ? data._maxAge : null,
    expires: browserSession ? null : new Date(data._expire as number),
  };
  return target;
}

/** Set an own property, `__proto__` included (plain assignment would change the prototype). */
function put(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Read `id` from `store` for this request, remembering the loaded record so that its save merges. */
export async function load(store: ExpressShapedStore, ctx: unknown, id: string): Promise<Record<string, unknown> | undefined> {
  const record = await store.get(id);
  if (!record || typeof record !== 'object') return undefined;
  if (typeof ctx === 'object' && ctx !== null) stateOf(ctx).loaded.set(id, record);
  return record;
}

/** Save koa-session's record `data` as `id` for this request, into the record it loaded when there is one. */
export async function save(store: ExpressShapedStore, ctx: unknown, id: string, data: Record<string, unknown>): Promise<void> {
  const state = typeof ctx === 'object' && ctx !== null ? stateOf(ctx) : undefined;
  const target = intoExpress(state?.loaded.get(id) ?? {}, data);
  await store.set(id, target);
  // A second save in this request (koa-session's commit after `session.save()`) goes into the same object.
  state?.loaded.set(id, target);
}

type SessionLike = Record<string, unknown> & { readonly externalKey?: string };

/**
 * Make `session.externalKey` (koa-session's getter, what apps read as the session id) say
 * `id`: koa-session's getter keeps the key it made for the request, which the session no
 * longer lives under after an adoption or `regenerate()`. Not enumerable, so `toJSON()`
 * never stores it.
 */
export function showId(session: object, id: string): void {
  Object.defineProperty(session, 'externalKey', { value: id, configurable: true, enumerable: false, writable: false });
}

/**
 * koa-session's `set` gets `toJSON()`, which leaves out every key starting with `_`, the
 * core's note among them. It belongs to the id it was written for: carried over on a save
 * of that id, dropped (and taken off the session) when the session moved to a new id
 * (`regenerate()` at login), because the note of the old id would make the new one look
 * shared already.
 */
function withNote(ctx: unknown, id: string, data: Record<string, unknown>): Record<string, unknown> {
  if (typeof ctx !== 'object' || ctx === null) return data;
  const session = (ctx as { session?: SessionLike | null }).session;
  if (!session) return data;
  const state = stateOf(ctx);
  const own = state.to ?? state.own ?? session.externalKey;
  if (own !== id) {
    delete session[NOTE_KEY];
    showId(session, id);
    state.own = id;
    state.from = undefined;
    state.to = undefined;
    return data;
  }
  return NOTE_KEY in session ? { ...data, [NOTE_KEY]: session[NOTE_KEY] } : data;
}

/**
 * Refuse koa-session with `signed: false`: its cookie is then the store key itself, and the
 * store is shared, so any id a log, a dump or another site's request shows would open that
 * session here, a login made on a site that signs its cookies included. koaStore() learns
 * koa-session's options only with a request, so the refusal comes with the first one that
 * reaches the store: a setup error, not a session quietly opened.
 */
function refuseUnsigned(ctx: unknown): void {
  const options = typeof ctx === 'object' && ctx !== null ? (ctx as { sessionOptions?: { signed?: unknown } }).sessionOptions : undefined;
  if (options?.signed === false) {
    throw new SharedSessionError(
      'ERR_SHARED_SESSION_SETUP',
      'shared-session/koa: koaStore() needs signed session cookies: with `signed: false` any session id from a log or another site of the shared store is a cookie here; leave `signed` on and set `app.keys`',
    );
  }
}

/** koa-session's store over `store`, with the sharing methods of `store` when it has them. */
class KoaSessionStore implements KoaExternalStore {
  readonly #store: ExpressShapedStore;

  constructor(store: ExpressShapedStore) {
    this.#store = store;
    inner.set(this, store);
    if (isSharingStore(store)) {
      const sharing: SharingStore = store;
      Object.assign(this, {
        claimOnce: (key: string, ttlMs: number) => sharing.claimOnce(key, ttlMs),
        readLink: (browserId: string) => sharing.readLink(browserId),
        writeLink: (browserId: string, value: string, ttlMs: number) => sharing.writeLink(browserId, value, ttlMs),
      });
    }
  }

  async get(key: string, _maxAge: unknown, options: { ctx?: unknown } = {}): Promise<Record<string, unknown> | undefined> {
    refuseUnsigned(options.ctx);
    const record = await load(this.#store, options.ctx, key);
    return record ? toKoa(record) : undefined;
  }

  async set(key: string, session: Record<string, unknown>, _maxAge: unknown, options: { ctx?: unknown } = {}): Promise<void> {
    refuseUnsigned(options.ctx);
    const id = redirected(options.ctx, key);
    await save(this.#store, options.ctx, id, withNote(options.ctx, id, session));
  }

  async destroy(key: string, options: { ctx?: unknown } = {}): Promise<void> {
    await this.#store.destroy(redirected(options.ctx, key));
  }
}

/**
 * koa-session's external store over one of this package's stores (or any store of
 * express-session's shape with promise methods), so that an Express site and a Koa site
 * can share it. Required for sharing: the adapter adopts sessions through it.
 *
 * @example
 * ```ts
 * const store = new SqliteStore({ path: 'sessions.db' });
 * app.use(session({ key: 'shop.sid', store: koaStore(store), sameSite: 'lax' }, app));
 * ```
 */
export function koaStore(store: ExpressShapedStore): KoaExternalStore {
  if (typeof store !== 'object' || store === null || typeof store.get !== 'function' || typeof store.set !== 'function' || typeof store.destroy !== 'function') {
    throw optionError('store', 'of koaStore(store) must have get, set and destroy methods', 'Pass a store of shared-session, e.g. `koaStore(new SqliteStore({ path }))`.');
  }
  return new KoaSessionStore(store);
}
