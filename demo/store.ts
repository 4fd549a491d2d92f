import type { Store } from 'express-session';
import type { SharingStore } from 'shared-session';

/** A session store opened from a `--store` spec, and how to close it. */
export interface OpenedStore {
  readonly store: Store;
  /** Set when the session store is a foreign one: where token ids and links go instead. */
  readonly sharingStore?: SharingStore;
  readonly label: string;
  close(): Promise<void>;
}

/**
 * Open the store named by a spec:
 *
 * - a path, or `sqlite:<path>`: `SqliteStore` (the default)
 * - `file:<directory>`: `FileStore`
 * - `redis://host:port`: `RedisStore` on one Redis
 * - `redis-cluster://host:port,host:port,…`: `RedisStore` on a Redis Cluster
 * - `postgres://…` or `postgresql://…`: `PostgresStore`
 * - `connect-redis+redis://host:port`: connect-redis 10 for the sessions (a store users may
 *   already have), with a `RedisStore` on the same server as the sharing store
 *
 * Each store module is loaded only when asked for, so the demo needs no Redis or
 * PostgreSQL client unless it uses one.
 */
export async function openStore(spec: string): Promise<OpenedStore> {
  if (spec.startsWith('redis://') || spec.startsWith('rediss://')) {
    const { RedisStore } = await import('shared-session/redis');
    const store = new RedisStore({ url: spec });
    return { store, label: `Redis ${new URL(spec).host}`, close: () => store.close() };
  }
  if (spec.startsWith('redis-cluster://')) {
    const { RedisStore } = await import('shared-session/redis');
    const rootNodes = spec.slice('redis-cluster://'.length).split(',').map((node) => ({ url: `redis://${node}` }));
    const store = new RedisStore({ cluster: { rootNodes } });
    return { store, label: `Redis Cluster (${rootNodes.length} root nodes)`, close: () => store.close() };
  }
  if (spec.startsWith('postgres://') || spec.startsWith('postgresql://')) {
    const { PostgresStore } = await import('shared-session/postgres');
    const store = new PostgresStore({ connectionString: spec });
    return { store, label: `PostgreSQL ${new URL(spec).host}`, close: () => store.close() };
  }
  if (spec.startsWith('file:')) {
    const { FileStore } = await import('shared-session/file');
    const directory = spec.slice('file:'.length);
    const store = new FileStore({ directory });
    return { store, label: `files in ${directory}`, close: () => Promise.resolve(store.close()) };
  }
  if (spec.startsWith('connect-redis+')) {
    const url = spec.slice('connect-redis+'.length);
    const [{ createClient }, connectRedis, ours] = await Promise.all([import('redis'), import('connect-redis'), import('shared-session/redis')]);
    const client = createClient({ url });
    // connect-redis leaves errors to the app; an unheard 'error' event would crash it.
    client.on('error', () => undefined);
    await client.connect();
    const sharingStore = new ours.RedisStore({ url });
    return {
      store: new connectRedis.RedisStore({ client }) as unknown as Store,
      sharingStore,
      label: `connect-redis ${new URL(url).host}`,
      close: async () => {
        await Promise.all([client.quit(), sharingStore.close()]);
      },
    };
  }
  const { SqliteStore } = await import('shared-session/sqlite');
  const path = spec.startsWith('sqlite:') ? spec.slice('sqlite:'.length) : spec;
  const store = new SqliteStore({ path });
  return { store, label: `SQLite ${path}`, close: () => Promise.resolve(store.close()) };
}
