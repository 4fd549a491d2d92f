import type * as Redis from 'redis';
import type { RedisClusterOptions } from 'redis';
import { loadPeer } from '../peer.ts';

const { createClient, createCluster } = loadPeer<typeof Redis>('redis', 'shared-session/redis');

/** What the store uses of a node-redis client (`createClient()`, redis v5 or later). */
export interface RedisClientLike {
  sendCommand(args: string[]): Promise<unknown>;
  readonly isReady: boolean;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
  listenerCount(event: string): number;
}

/** What the store uses of a node-redis cluster client (`createCluster()`, redis v5 or later). */
export interface RedisClusterLike {
  sendCommand(firstKey: string, isReadonly: boolean, args: string[]): Promise<unknown>;
  readonly masters: readonly unknown[];
  nodeClient(node: never): Promise<RedisClientLike>;
  readonly isReady: boolean;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
  listenerCount(event: string): number;
}

/** The longest wait between two attempts to reach Redis again, so that it is back in use within about a second. */
const RECONNECT_MAX_DELAY_MS = 1000;
/** How long one attempt to connect may take (a host that drops packets never refuses). */
const CONNECT_TIMEOUT_MS = 2000;

/** Capped exponential backoff with jitter, for reconnecting. */
export function backoff(retries: number): number {
  return Math.min(50 * 2 ** retries, RECONNECT_MAX_DELAY_MS) + Math.floor(Math.random() * 100);
}

/**
 * A client for `url`, made to fail fast and heal: `disableOfflineQueue` makes a command
 * fail at once while disconnected (a 503 now) instead of waiting in a queue for the time
 * limit and then running late, when its request is gone; reconnects back off to 1 s.
 * RESP2: spoken by every Redis; a script's array reply decodes the same way everywhere.
 */
export function clientFor(url: string): RedisClientLike {
  return createClient({ url, RESP: 2, disableOfflineQueue: true, socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy: backoff } });
}

/** A cluster client with the same failure handling in its `defaults`, unless the options set their own. */
export function clusterFor(options: RedisClusterOptions): RedisClusterLike {
  return createCluster({
    RESP: 2,
    ...options,
    defaults: {
      disableOfflineQueue: true,
      ...options.defaults,
      socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy: backoff, ...options.defaults?.socket },
    },
  });
}

export function isClient(value: unknown): value is RedisClientLike | RedisClusterLike {
  return typeof value === 'object' && value !== null && typeof (value as RedisClientLike).sendCommand === 'function' && typeof (value as RedisClientLike).on === 'function';
}

export function isCluster(value: RedisClientLike | RedisClusterLike): value is RedisClusterLike {
  return 'masters' in value && typeof value.nodeClient === 'function';
}

/** Whether a client was created with `disableOfflineQueue: true` (for a cluster: in its `defaults`). */
export function queuesNothingOffline(client: RedisClientLike | RedisClusterLike): boolean {
  const options = client as { options?: { disableOfflineQueue?: unknown }; _options?: { defaults?: { disableOfflineQueue?: unknown } } };
  return options.options?.disableOfflineQueue === true || options._options?.defaults?.disableOfflineQueue === true;
}

/** A bulk string of a reply: a string, or a Buffer when the client maps strings to Buffers. */
export function text(value: unknown): string {
  if (typeof value === 'string') return value;
  return Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
}
