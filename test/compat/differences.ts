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

/** The same expectation for the five stores of this package, another for MemoryStore. */
function oursVersusMemory<T extends string>(memory: Expectation<T>, ours: Expectation<T>): PerStore<T> {
  return { memory, sqlite: ours, file: ours, redis: ours, 'redis-cluster': ours, postgres: ours };
}

export const DIFFERENCES = {
  /**
   * `destroy(id)`, then a save of a session object that was loaded (get + createSession)
   * before that destroy: a slow request finishing after a logout.
   */
  'late save of a session loaded before its destroy': oursVersusMemory<'stored' | 'dropped'>(
    { expect: 'stored', reason: 'MemoryStore keeps no memory of a destroy: any later set writes the session again.' },
    {
      expect: 'dropped',
      reason:
        'Tombstone rule (callback-store.ts): a destroyed session stays destroyed for `tombstoneSeconds`, so a request that loaded it before a logout cannot bring it back when it saves late.',
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

  /** `store.get(id)` etc. without a callback: a Promise of the result. */
  'promise API': oursVersusMemory<'promise' | 'absent'>(
    {
      expect: 'absent',
      reason: 'MemoryStore is callback-only: get/set/… without a callback throw a TypeError ("callback" argument must be of type function) or answer nothing.',
    },
    { expect: 'promise', reason: 'Our stores answer a Promise when no callback is passed (being added in parallel: the cases fail until then).' },
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
