import { backoff, isCluster, text, type RedisClientLike, type RedisClusterLike } from './clients.ts';
import type { Script } from './scripts.ts';

/** Keys per SCAN step. */
const SCAN_COUNT = '1000';

/** What a connection tells its store. */
export interface ConnectionEvents {
  /** A connection error (never fatal: the client reconnects by itself). */
  error(error: unknown): void;
  /** A connection is up again. */
  ready(): void;
}

/**
 * The store's way to Redis, standalone or Cluster: one command to the node that holds a
 * key, scripts by SHA with a fallback, SCAN over every master, and connection handling.
 * Owns the client only when `owned` (then it connects and closes it).
 */
export class RedisConnection {
  readonly #client: RedisClientLike | undefined;
  readonly #cluster: RedisClusterLike | undefined;
  /** The client or the cluster client: where connection events come from. */
  readonly #emitter: RedisClientLike | RedisClusterLike;
  readonly #owned: boolean;
  /** Until the first connection of an owned client is up (or failed once): operations wait for it. */
  #starting: Promise<void> | undefined;
  #closed = false;
  readonly #listeners: readonly (readonly [string, (...args: unknown[]) => void])[];

  constructor(target: RedisClientLike | RedisClusterLike, owned: boolean, events: ConnectionEvents) {
    if (isCluster(target)) this.#cluster = target;
    else this.#client = target;
    this.#emitter = target;
    this.#owned = owned;
    this.#listeners = [
      ['error', (error: unknown) => events.error(error)],
      // A cluster reports its nodes' connection errors as 'node-error' (no crash when unheard).
      ['node-error', (error: unknown) => events.error(error)],
      ['ready', () => events.ready()],
      ['connect', () => events.ready()],
      ['node-ready', () => events.ready()],
    ];
    // An 'error' event nobody hears crashes the process. The store listens on every client,
    // the one it was given too: its own listener never stops the user's from running, and
    // without one, the first lost connection would take the app down instead of answering 503.
    for (const [event, listener] of this.#listeners) this.#emitter.on(event, listener);
    if (owned) this.#starting = this.#connect();
  }

  /** How many 'error' listeners the client has (the store's own included). */
  errorListeners(): number {
    return this.#emitter.listenerCount('error');
  }

  /**
   * One command, to the node that holds `key`. Never marked read-only: a cluster client
   * with `useReplicas` would send it to a replica, which may not have the last save yet.
   */
  send(key: string, args: string[]): Promise<unknown> {
    if (this.#starting) return this.#starting.then(() => this.#dispatch(key, args));
    return this.#dispatch(key, args);
  }

  /**
   * Run `command` (`EVALSHA sha numkeys key…`), and again as EVAL when Redis does not
   * know the script (after a restart, on a new node); EVAL caches it there.
   */
  async eval(lua: Script, command: string[]): Promise<unknown> {
    const key = command[3] as string;
    try {
      return await this.send(key, command);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      command[0] = 'EVAL';
      command[1] = lua.source;
      return this.send(key, command);
    }
  }

  /** Hand every key matching `pattern`, a SCAN step at a time, to `each`: on every master of a cluster. */
  async scan(pattern: string, each: (keys: string[]) => Promise<void>): Promise<void> {
    if (this.#starting) await this.#starting;
    const cluster = this.#cluster;
    // A cluster client that never reached its nodes knows no masters: that is no empty store.
    if (cluster && !cluster.isReady) throw new Error('the Redis Cluster client is not connected');
    const nodes = cluster ? await Promise.all(cluster.masters.map((master) => cluster.nodeClient(master as never))) : [this.#client as RedisClientLike];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = (await node.sendCommand(['SCAN', cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT])) as [unknown, unknown[]];
        cursor = text(next);
        if (keys.length) await each(keys.map(text));
      } while (cursor !== '0');
    }
  }

  /** Close an owned client (a client passed in stays open: only the listeners go). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#owned) {
      for (const [event, listener] of this.#listeners) this.#emitter.off(event, listener);
      return;
    }
    const owned = this.#ownedClient();
    // A client still trying to reach Redis has nothing to finish: stop it at once.
    if (owned.isOpen && this.#emitter.isReady) await owned.close().catch(() => destroyQuietly(owned));
    else destroyQuietly(owned); // a cluster client still connecting is not yet `isOpen`, and would go on for ever
  }

  #ownedClient(): OwnedClient {
    return this.#emitter as unknown as OwnedClient;
  }

  #dispatch(key: string, args: string[]): Promise<unknown> {
    return this.#cluster ? this.#cluster.sendCommand(key, false, args) : (this.#client as RedisClientLike).sendCommand(args);
  }

  /** Connect an owned client; a cluster whose nodes are all down is tried again (a plain client retries by itself). */
  #connect(): Promise<void> {
    const target = this.#emitter as unknown as { connect(): Promise<unknown> };
    let settle = (): void => {};
    const first = new Promise<void>((resolve) => (settle = resolve)).then(() => {
      if (this.#starting === first) this.#starting = undefined;
    });
    // The first error also ends the wait: from then on a request fails at once, as in any outage.
    this.#emitter.on('error', settle);
    void first.then(() => this.#emitter.off('error', settle));
    const attempt = (retries: number): void => {
      target.connect().then(() => {
        // Closed while connecting: the connection that came up after is closed too.
        if (this.#closed) destroyQuietly(this.#ownedClient());
        settle();
      }, () => {
        settle();
        // The cluster client has reported its nodes' errors already.
        if (!this.#closed && this.#cluster) setTimeout(() => attempt(retries + 1), backoff(retries)).unref();
      });
    };
    attempt(0);
    return first;
  }
}

interface OwnedClient {
  isOpen: boolean;
  close(): Promise<void>;
  destroy(): void;
}

/** Stop a client whatever state it is in (node-redis throws for one that is closed already). */
function destroyQuietly(client: OwnedClient): void {
  try {
    client.destroy();
  } catch {
    // Closed already: nothing left to stop.
  }
}
