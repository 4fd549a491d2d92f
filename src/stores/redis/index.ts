import type { RedisClusterOptions } from 'redis';
import { optionError } from '../../core/errors.ts';
import { randomId } from '../../core/random.ts';
import { CallbackStore, type SessionChange, type StoreOptions, type StoredRecord } from '../callback-store.ts';
import { clientFor, clusterFor, isClient, queuesNothingOffline, text, type RedisClientLike, type RedisClusterLike } from './clients.ts';
import { RedisConnection } from './connection.ts';
import { DESTROY, DROPPED, recordOf, TOMBSTONE, UNLINK_SESSION, WRITE, WRITTEN } from './scripts.ts';

export type { RedisClientLike, RedisClusterLike } from './clients.ts';

/**
 * Options of {@link RedisStore}: exactly one of `url`, `cluster` and `client`.
 *
 * @example
 * ```ts
 * new RedisStore({ url: 'redis://sessions.internal:6379' })
 * new RedisStore({ cluster: { rootNodes: [{ url: 'redis://10.0.0.1:6379' }, { url: 'redis://10.0.0.2:6379' }] } })
 * new RedisStore({ client: createClient({ url, disableOfflineQueue: true }).on('error', log) }) // connect it yourself
 * ```
 */
export interface RedisStoreOptions extends StoreOptions {
  /**
   * A node-redis client or cluster you created and connect (and close) yourself. Create it
   * with `disableOfflineQueue: true`, so that requests fail at once while Redis is away
   * instead of waiting for the time limit (and running late when it is back).
   */
  client?: RedisClientLike | RedisClusterLike;
  /** `redis[s]://[[user][:password]@]host[:port][/db]`: the store creates, connects and closes its own client. */
  url?: string;
  /**
   * A Redis Cluster: node-redis `createCluster()` options, at least `rootNodes` (some of
   * its nodes, `[{ url }]`). The store creates, connects and closes the cluster client,
   * with the failure handling of `url` in `defaults` unless you set those yourself.
   */
  cluster?: RedisClusterOptions;
  /** Prefix of every key the store writes. Default `sess:`. */
  prefix?: string;
}

/** How many times a save merges and tries again before it gives up (only under a storm of saves to one session). */
const MAX_ATTEMPTS = 10;

/**
 * The session store on Redis, standalone or Redis Cluster, over node-redis: an
 * express-session Store and a shared-session `SharingStore` in one.
 *
 * Each session is one string, `<version>:<JSON>` (the version a random token), so a read is one GET, as with
 * connect-redis. A save is one Lua compare-and-set: when the record is still the version
 * the request loaded, the session is written whole; when another save came in between,
 * the script answers with the record, only the keys this request changed are merged into
 * it, and the save tries again: two requests that changed different keys both keep their
 * change. Keys (with the default prefix):
 *
 * - `sess:{<sid>}`: the session, or the tombstone (`t`) of a destroyed one. The braces (a
 *   Redis Cluster hash tag) date from when a session had two keys; they stay so that
 *   existing keys keep their names;
 * - `sess:claim:<key>`: single-use claims (`SET NX PX`); `sess:link:<browser id>`: links.
 *
 * While Redis is unreachable every operation fails at once with `SharedSessionError`
 * `ERR_SHARED_SESSION_STORE_UNAVAILABLE` (a 503), and the store is back in use as soon as
 * Redis is: a client the store creates never queues commands while disconnected and
 * reconnects with a backoff capped at one second.
 *
 * @example
 * ```ts
 * app.use(session({ store: new RedisStore({ url: process.env.REDIS_URL }), secret, resave: false, saveUninitialized: false }));
 * ```
 */
export class RedisStore extends CallbackStore {
  readonly #prefix: string;
  /** `prefix{*`: session keys (claims and links have other prefixes; a tombstone, `t`, lives in its session's key and is skipped). */
  readonly #pattern: string;
  readonly #redis: RedisConnection;
  /** Whether the store created the client (then it connects and closes it). */
  readonly #owned: boolean;
  /** One warning per outage when nobody listens for errors. */
  #warned = false;

  constructor(options: RedisStoreOptions) {
    if (typeof options !== 'object' || options === null) throw optionError('options', 'must be an object', 'Pass `{ url }`, `{ cluster }` or `{ client }`.');
    super(options);
    const prefix = options.prefix ?? 'sess:';
    if (typeof prefix !== 'string' || /[{}]/.test(prefix) || prefix.length > 100) {
      throw optionError('prefix', 'must be a string of at most 100 characters without "{" or "}" (they would break the Redis Cluster hash tags)', 'Use e.g. "sess:".');
    }
    this.#prefix = prefix;
    this.#pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}{*`;
    this.#owned = options.client === undefined;
    this.#redis = new RedisConnection(targetOf(options), this.#owned, {
      error: (error) => this.#report(error),
      ready: () => (this.#warned = false),
    });
  }

  /** Close the client the store created (a client passed in stays open: close it yourself). */
  close(): Promise<void> {
    return this.#redis.close();
  }

  protected async read(sid: string): Promise<StoredRecord | undefined> {
    const key = this.#key(sid);
    const reply = await this.#redis.send(key, ['GET', key]);
    if (reply === null || reply === undefined) return undefined;
    const value = text(reply);
    return value === TOMBSTONE ? undefined : recordOf(value);
  }

  protected async write(sid: string, change: SessionChange): Promise<string | undefined> {
    const version = randomId(6);
    // EVALSHA sha numkeys KEYS ARGV, built in place: saves are the hot path.
    const expected = change.loaded ? (change.loaded.version === undefined ? '!' : `${change.loaded.version}:`) : '';
    const command = ['EVALSHA', WRITE.sha, '1', this.#key(sid), expected, `${version}:${change.json}`, String(Math.max(1, Math.round(change.expires)))]; // PXAT 0 is an error
    let merged = false;
    for (let attempt = 1; ; attempt++) {
      const [outcome, value] = (await this.#redis.eval(WRITE, command)) as [number, unknown];
      if (outcome === DROPPED) return undefined;
      // Written whole over the version this request loaded: that is the version it now knows.
      if (outcome === WRITTEN) return merged ? undefined : version;
      if (attempt === MAX_ATTEMPTS) throw new Error(`a save of one session lost the race ${MAX_ATTEMPTS} times`);
      const current = recordOf(text(value));
      merged = true;
      command[0] = 'EVALSHA';
      command[1] = WRITE.sha;
      command[4] = `${current.version as string}:`;
      command[5] = `${version}:${change.mergeInto(current.json)}`;
    }
  }

  protected async remove(sid: string): Promise<void> {
    // The tombstone replaces the session in its own key: a later save reads it and drops.
    const key = this.#key(sid);
    await this.#redis.eval(DESTROY, ['EVALSHA', DESTROY.sha, '1', key, String(Math.max(1, Math.round(this.tombstoneMs)))]);
  }

  protected async refresh(sid: string, expires: number): Promise<void> {
    // PEXPIREAT never creates a key: a touch cannot bring back an expired session. GT only
    // ever lengthens the expiry (Redis 7): a touch racing a logout lands on the tombstone,
    // and a shorter or past expiry there would end it early and let a late save write the
    // session back. A session's expiry shrinks only on a save, which sets it exactly.
    const key = this.#key(sid);
    await this.#redis.send(key, ['PEXPIREAT', key, String(Math.round(expires)), 'GT']);
  }

  protected async list(): Promise<Record<string, Record<string, unknown>>> {
    const out: Record<string, Record<string, unknown>> = {};
    await this.#eachSession((key, value) => {
      out[this.#sidOf(key)] = JSON.parse(recordOf(value).json) as Record<string, unknown>;
    });
    return out;
  }

  protected async count(): Promise<number> {
    const seen = new Set<string>(); // SCAN may return a key twice
    await this.#eachSession((key) => void seen.add(key));
    return seen.size;
  }

  protected async removeAll(): Promise<void> {
    // Sessions only: tombstones keep destroyed ids refused, claims keep tokens single-use.
    await this.#redis.scan(this.#pattern, async (keys) => {
      await Promise.all(keys.map((key) => this.#redis.eval(UNLINK_SESSION, ['EVALSHA', UNLINK_SESSION.sha, '1', key])));
    });
  }

  protected async claim(key: string, ttlMs: number): Promise<boolean> {
    const name = `${this.#prefix}claim:${key}`;
    return (await this.#redis.send(name, ['SET', name, '1', 'NX', 'PX', String(Math.max(1, Math.ceil(ttlMs)))])) !== null;
  }

  protected async getLink(browserId: string): Promise<string | undefined> {
    const name = `${this.#prefix}link:${browserId}`;
    const value = await this.#redis.send(name, ['GET', name]);
    return value === null || value === undefined ? undefined : text(value);
  }

  protected async putLink(browserId: string, value: string, ttlMs: number): Promise<void> {
    const name = `${this.#prefix}link:${browserId}`;
    await this.#redis.send(name, ['SET', name, value, 'PX', String(Math.max(1, Math.ceil(ttlMs)))]);
  }

  #key(sid: string): string {
    return `${this.#prefix}{${sid}}`;
  }

  /** Every live session's key and stored value (tombstones skipped), a SCAN step at a time. */
  async #eachSession(each: (key: string, value: string) => void): Promise<void> {
    await this.#redis.scan(this.#pattern, async (keys) => {
      const replies = await Promise.all(keys.map((key) => this.#redis.send(key, ['GET', key])));
      replies.forEach((reply, i) => {
        if (reply === null || reply === undefined) return;
        const value = text(reply);
        if (value !== TOMBSTONE) each(keys[i] as string, value);
      });
    });
  }

  #sidOf(key: string): string {
    return key.slice(this.#prefix.length + 1, -1);
  }

  /**
   * A connection error: to the store's 'error' listeners when there are any; else one
   * warning per outage, unless the application listens on the client it passed in. Never
   * express-session's 'disconnect' event: with it, express-session serves every request
   * without a session (a logged-in visitor looks logged out) instead of a clear 503.
   */
  #report(error: unknown): void {
    if (this.listenerCount('error') > 0) {
      this.emit('error', error);
      return;
    }
    if (this.#warned || (!this.#owned && this.#redis.errorListeners() > 1)) return;
    this.#warned = true;
    const reason = error instanceof Error ? error.message : 'unknown error';
    process.emitWarning(`shared-session RedisStore: Redis is unreachable (${reason}); session requests fail with 503 until it is back.`);
  }
}

/** The client the options name: one passed in, or a new one for `url` or `cluster`. */
function targetOf(options: RedisStoreOptions): RedisClientLike | RedisClusterLike {
  const given = (['url', 'cluster', 'client'] as const).filter((name) => options[name] !== undefined);
  if (given.length !== 1) {
    throw optionError(given[1] ?? 'url', given.length ? `cannot be combined with \`${given[0]}\`` : 'is missing', 'Pass exactly one of `url`, `cluster` and `client`.');
  }
  if (options.client !== undefined) {
    const client = options.client as unknown;
    if (!isClient(client)) {
      throw optionError('client', 'must be a node-redis client or cluster (from `createClient()` or `createCluster()`)', 'Pass one, or pass `url` and let the store create it.');
    }
    if (!queuesNothingOffline(client)) {
      process.emitWarning(
        'shared-session RedisStore: the Redis client passed in queues commands while disconnected: during an outage every session request waits `operationTimeoutMs` before its 503, and runs late once Redis is back. Create it with `disableOfflineQueue: true` (for a cluster: `defaults: { disableOfflineQueue: true }`).',
      );
    }
    return client;
  }
  if (options.url !== undefined) {
    if (typeof options.url !== 'string' || !/^rediss?:\/\//.test(options.url)) {
      throw optionError('url', 'must be a redis:// or rediss:// URL', 'Use e.g. "redis://127.0.0.1:6379".');
    }
    return clientFor(options.url);
  }
  const cluster = options.cluster as unknown;
  const roots = typeof cluster === 'object' && cluster !== null ? (cluster as { rootNodes?: unknown }).rootNodes : undefined;
  if (!Array.isArray(roots) || roots.length === 0 || !roots.every((node) => typeof node === 'object' && node !== null)) {
    throw optionError('cluster', 'must be node-redis cluster options with a non-empty `rootNodes` array', 'Pass e.g. `{ rootNodes: [{ url: "redis://10.0.0.1:6379" }] }`.');
  }
  return clusterFor(options.cluster as RedisClusterOptions);
}
