/**
 * What the core needs from the shared store besides sessions:
 *
 * - an atomic "first use wins" record, so that a token is accepted once across every
 *   process and site on the store;
 * - link records: for each browser (a random id the hub mints), the session it currently
 *   uses, so that every site can follow logins and logouts made elsewhere.
 *
 * The stores of this package implement it next to the express-session Store methods;
 * for any other store, pass one explicitly (see `memorySharingStore` for one process).
 */
export interface SharingStore {
  /**
   * Record `key` as used for `ttlMs`. Resolves `true` for exactly one caller per key
   * while the record lives, however many processes race; `false` for every later one.
   */
  claimOnce(key: string, ttlMs: number): Promise<boolean>;
  /** The link record of a browser, or undefined when there is none (or it expired). */
  readLink(browserId: string): Promise<string | undefined>;
  /** Write (or overwrite) the link record of a browser, living `ttlMs` from now. */
  writeLink(browserId: string, value: string, ttlMs: number): Promise<void>;
}

/** True when `value` implements {@link SharingStore}, e.g. a session store of this package. */
export function isSharingStore(value: unknown): value is SharingStore {
  if (typeof value !== 'object' || value === null) return false;
  const store = value as SharingStore;
  return typeof store.claimOnce === 'function' && typeof store.readLink === 'function' && typeof store.writeLink === 'function';
}

/**
 * A {@link SharingStore} in this process's memory. Correct for one process only: with
 * several processes per site, use a shared store or a replay can succeed once per process.
 *
 * @example
 * ```ts
 * sharedSession({ sites, secret, sharingStore: memorySharingStore() })
 * ```
 */
export function memorySharingStore(): SharingStore {
  const claims = new Map<string, number>();
  const links = new Map<string, { value: string; expires: number }>();
  let nextSweep = 0;
  const sweep = (now: number): void => {
    if (now < nextSweep) return;
    for (const [key, expires] of claims) if (expires <= now) claims.delete(key);
    for (const [key, link] of links) if (link.expires <= now) links.delete(key);
    nextSweep = now + 10_000;
  };
  return {
    claimOnce(key, ttlMs) {
      const now = Date.now();
      sweep(now);
      const expires = claims.get(key);
      if (expires !== undefined && expires > now) return Promise.resolve(false);
      claims.set(key, now + ttlMs);
      return Promise.resolve(true);
    },
    readLink(browserId) {
      const link = links.get(browserId);
      return Promise.resolve(link && link.expires > Date.now() ? link.value : undefined);
    },
    writeLink(browserId, value, ttlMs) {
      const now = Date.now();
      sweep(now);
      links.set(browserId, { value, expires: now + ttlMs });
      return Promise.resolve();
    },
  };
}
