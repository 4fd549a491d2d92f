import { NOTE_KEY } from '../core/adapter.ts';
import { isSharingStore, type FoundSession, type SessionPort, type SharingStore } from '../index.ts';
import { load, redirected, save, showId, stateOf, toKoa, wrappedStore, type ExpressShapedStore } from './koa-store.ts';

/**
 * The {@link SessionPort} over koa-session with an external store wrapped by `koaStore()`.
 * What koa-session gives shapes it:
 *
 * - `ctx.sessionOptions` is this request's own copy of the options, read again when the
 *   session is saved: the adopted session's lifetime (`maxAge`), the cookie's value
 *   (`externalKey`), and `rolling`/`renew` can be set for one request there;
 * - the key it saves under is private: an adopted id is reached through the store's
 *   redirection (koa-store.ts) and a cookie hook naming the adopted id;
 * - `toJSON()` drops keys starting with `_` (the core's note) and its change test does not
 *   see them: a note written forces the save (`_requireSave`), and the store puts it back.
 */

/** koa-session's Session, as far as the port uses it. */
type KoaSession = Record<string, unknown> & {
  readonly externalKey?: string;
  isNew?: boolean;
  _requireSave?: boolean;
  toJSON(): Record<string, unknown>;
  save(): Promise<void>;
};

interface ExternalKeyHook {
  get(ctx: unknown): string;
  set(ctx: unknown, key: string): void;
}

/** koa-session's per-request options, as far as the port uses them. */
interface SessionOptions {
  key: string;
  maxAge?: number | 'session' | undefined;
  rolling?: boolean;
  renew?: boolean;
  store?: unknown;
  externalKey?: ExternalKeyHook | undefined;
}

/** Koa's context, as far as the port uses it. */
export interface SessionContext {
  session?: KoaSession | null;
  readonly sessionOptions?: SessionOptions;
  readonly cookies: { get(name: string, options?: unknown): string | undefined; set(name: string, value: string, options?: unknown): unknown };
}

const PORT = Symbol('shared-session koa port');

/** Why a request has no port: koa-session is missing, or stores nowhere this adapter can adopt from. */
export type NoPortReason = 'no-session' | 'no-store';

/** The keys of a session record that are app data (not koa-session's bookkeeping, not the note). */
function isEmptyRecord(record: Record<string, unknown>): boolean {
  for (const key in record) if (key !== 'cookie' && key !== NOTE_KEY && key !== '_expire' && key !== '_maxAge' && key !== '_session') return false;
  return true;
}

export class KoaSessionPort implements SessionPort {
  readonly #ctx: SessionContext;
  readonly #store: ExpressShapedStore;
  /** Set once the core adopted a session or wrote its note: then the session must be saved. */
  changed = false;
  #persisted = false;

  /** The port of `ctx`, made once per request; or why there is none. */
  static of(ctx: SessionContext): KoaSessionPort | NoPortReason {
    const holder = ctx as SessionContext & { [PORT]?: KoaSessionPort };
    const known = holder[PORT];
    if (known) return known;
    const options = ctx.sessionOptions;
    if (!options) return 'no-session';
    const store = wrappedStore(options.store);
    if (!store) return 'no-store';
    if (!ctx.session) return 'no-session';
    const port = new KoaSessionPort(ctx, store);
    holder[PORT] = port;
    return port;
  }

  private constructor(ctx: SessionContext, store: ExpressShapedStore) {
    this.#ctx = ctx;
    this.#store = store;
  }

  get #session(): KoaSession | undefined {
    return this.#ctx.session ?? undefined;
  }

  get id(): string | undefined {
    const session = this.#session;
    if (!session) return undefined;
    const state = stateOf(this.#ctx);
    return state.to ?? state.own ?? session.externalKey;
  }

  get sharingStore(): SharingStore | undefined {
    return isSharingStore(this.#store) ? this.#store : undefined;
  }

  isEmpty(): boolean {
    const session = this.#session;
    // toJSON() is what koa-session stores: no `_` keys, no functions.
    return !session || Object.keys(session.toJSON()).length === 0;
  }

  async persist(): Promise<string> {
    const session = this.#session;
    if (session?.isNew && !this.#persisted) {
      // The page's scripts are fetched while koa-session saves after the response is
      // built, so a brand-new session must reach the store before its id goes into a token.
      await session.save();
      this.#persisted = true;
    }
    return this.id ?? '';
  }

  async find(id: string): Promise<FoundSession | undefined> {
    const record = await load(this.#store, this.#ctx, id);
    if (!record) return undefined;
    return {
      id,
      isEmpty: () => isEmptyRecord(record),
      readNote: () => record[NOTE_KEY],
      writeNote: async (note) => {
        // The record as loaded, with only the note replaced: the store merges it into a
        // record another request changed meanwhile, and drops it for a destroyed session.
        const data = toKoa(record);
        data[NOTE_KEY] = note;
        await save(this.#store, this.#ctx, id, data);
      },
      adopt: () => this.#adopt(id, record),
    };
  }

  async destroy(id: string): Promise<void> {
    await this.#store.destroy(id);
  }

  readNote(): unknown {
    return this.#session?.[NOTE_KEY];
  }

  writeNote(note: unknown): void {
    const session = this.#session;
    if (!session) return;
    session[NOTE_KEY] = note;
    // koa-session's change test leaves `_` keys out: without this, the note would not be saved.
    session._requireSave = true;
    this.changed = true;
  }

  /**
   * Keep koa-session from saving or sending a cookie for this request unless the session
   * changed: `rolling` and `renew` off for this request only.
   */
  leaveNoTrace(): void {
    const options = this.#ctx.sessionOptions;
    if (!options) return;
    options.rolling = false;
    options.renew = false;
  }

  #adopt(id: string, record: Record<string, unknown>): void {
    const ctx = this.#ctx;
    const options = ctx.sessionOptions as SessionOptions;
    const state = stateOf(ctx);
    // The key koa-session will save under: the one it made or loaded for this request.
    state.from ??= state.own ?? this.#session?.externalKey;
    state.to = id;
    state.own = undefined;
    // koa-session's own setter: a new Session from the record; its `_maxAge` (or
    // `_session`) becomes this request's maxAge, so the cookie keeps the session's lifetime
    // while every other attribute is this site's.
    ctx.session = toKoa(record) as KoaSession;
    const session = ctx.session as KoaSession | null | undefined;
    if (session) {
      session._requireSave = true;
      showId(session, id);
    }
    if (!hooked.has(options)) {
      const own = options.externalKey;
      // The cookie names the adopted id, not the key koa-session made for this request.
      options.externalKey = {
        get: (context) => (own ? own.get(context) : (ctx.cookies.get(options.key, options) ?? '')),
        set: (context, key) => {
          const value = redirected(context, key);
          if (own) own.set(context, value);
          else ctx.cookies.set(options.key, value, options);
        },
      };
      hooked.add(options);
    }
    this.changed = true;
  }
}

const hooked = new WeakSet<object>();
