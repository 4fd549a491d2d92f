import type { StoreKind } from './stores.ts';

/**
 * Every place where the stores of this package deliberately behave differently from
 * express-session's MemoryStore, in one table: case name → what each store is expected to
 * do, and why. The cases of the suite read their expectation from here, so a change of
 * policy is one edit, visible in review.
 *
 * Only deliberate differences belong here. A case that fails because a store has a bug
 * (for instance the skipped cookie-only save of remember-me) is not listed: the case
 * asserts the behaviour the contract asks for and fails until the store is fixed.
 */

export interface Expectation<T extends string> {
  readonly expect: T;
  readonly reason: string;
}

export type PerStore<T extends string> = Readonly<Record<StoreKind, Expectation<T>>>;

/** An expectation for each store, written out. */
function perStore<T extends string>(table: PerStore<T>): PerStore<T> {
  return table;
}

/** The same expectation for the five stores of this package, another for MemoryStore. */
function oursVersusMemory<T extends string>(memory: Expectation<T>, ours: Expectation<T>): PerStore<T> {
  return { memory, sqlite: ours, file: ours, redis: ours, 'redis-cluster': ours, postgres: ours };
}

export const DIFFERENCES = {
  /**
   * `destroy(id)`, then any save of that id: a session object loaded (get + createSession)
   * before the destroy (a slow request finishing after a logout), or a new object.
   */
  'save after destroy': oursVersusMemory<'stored' | 'dropped'>(
    { expect: 'stored', reason: 'MemoryStore keeps no memory of a destroy: any later set writes the session again.' },
    {
      expect: 'dropped',
      reason:
        'Tombstone rule (callback-store.ts): a destroyed id stays refused for `tombstoneSeconds`, so a request that loaded the session before a logout cannot bring it back when it saves late. Every save is refused, a new object too: only express-session tells a store what a request loaded (@fastify/session copies the data into a new object), so a late save cannot be told from a new session. Session middleware never reuses an unknown id, so no real session is lost.',
    },
  ),

  /**
   * A session whose cookie has no expiry (browser-session cookie: no maxAge, `expires`
   * null): how long the store keeps it.
   */
  'browser-session cookie: store expiry': oursVersusMemory<'none' | 'default ttl'>(
    { expect: 'none', reason: 'MemoryStore expires a session only by its cookie: without one it stays until the process ends.' },
    {
      expect: 'default ttl',
      reason: 'Shared stores must not grow without bound: a session without cookie expiry lives `defaultTtlSeconds` (default 86400), renewed by every save and touch.',
    },
  ),

  /** `touch` with a cookie expiring sooner than the stored expiry. */
  'touch with a shorter expiry': perStore<'shortened' | 'kept'>({
    memory: { expect: 'shortened', reason: 'MemoryStore.touch replaces the stored cookie, and with it the expiry.' },
    sqlite: { expect: 'shortened', reason: 'The store expiry follows the cookie it is given.' },
    file: { expect: 'shortened', reason: 'The store expiry follows the cookie it is given.' },
    postgres: { expect: 'shortened', reason: 'The store expiry follows the cookie it is given.' },
    redis: {
      expect: 'kept',
      reason:
        'RedisStore touches with PEXPIREAT … GT, which only lengthens: a touch racing a logout lands on the tombstone, and a shorter expiry there would end it early and let a late save bring the session back. The expiry shrinks only on a save.',
    },
    'redis-cluster': {
      expect: 'kept',
      reason:
        'RedisStore touches with PEXPIREAT … GT, which only lengthens: a touch racing a logout lands on the tombstone, and a shorter expiry there would end it early and let a late save bring the session back. The expiry shrinks only on a save.',
    },
  }),

  /** What `get` answers as the cookie after a `touch` with another cookie. */
  'cookie read back after touch': oursVersusMemory<'touched cookie' | 'saved cookie'>(
    { expect: 'touched cookie', reason: 'MemoryStore.touch stores the cookie it is given.' },
    {
      expect: 'saved cookie',
      reason:
        'Our stores move only the record expiry on touch and leave the stored cookie as the last save wrote it (as connect-redis does): express-session recomputes the cookie on every request, so the stored one is never used for the Set-Cookie.',
    },
  ),

  /** `store.get(id)` etc. without a callback: a Promise of the result. */
  'promise API': oursVersusMemory<'promise' | 'absent'>(
    {
      expect: 'absent',
      reason: 'MemoryStore is callback-only: get/set/… without a callback throw a TypeError ("callback" argument must be of type function) or answer nothing.',
    },
    { expect: 'promise', reason: 'Our stores answer a Promise when no callback is passed, as connect-redis 8+ does and as Koa, Fastify and Hono code expects.' },
  ),

  /** Errors of a backend that is gone (closed client, pool or database, removed directory). */
  'backend unavailable': oursVersusMemory<'error' | 'not applicable'>(
    { expect: 'not applicable', reason: 'MemoryStore has no backend that could be closed or stopped: it never answers an error.' },
    {
      expect: 'error',
      reason: 'Every operation of a store whose backend is gone answers ERR_SHARED_SESSION_STORE_UNAVAILABLE (status 503) to its callback, once, within operationTimeoutMs.',
    },
  ),
} as const;

export type DifferenceName = keyof typeof DIFFERENCES;

/** What `kind` is expected to do in the case `name`. */
export function expectationOf<N extends DifferenceName>(name: N, kind: StoreKind): (typeof DIFFERENCES)[N][StoreKind] {
  return DIFFERENCES[name][kind];
}
