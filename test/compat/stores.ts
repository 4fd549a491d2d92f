import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import session from 'express-session';
import pg from 'pg';
import { FileStore } from 'shared-session/file';
import { PostgresStore } from 'shared-session/postgres';
import { RedisStore } from 'shared-session/redis';
import { SqliteStore } from 'shared-session/sqlite';
import { createTestDatabase } from '../helpers/postgres-server.ts';
import { redisCli, startRedis, startRedisCluster } from '../helpers/redis-server.ts';

/**
 * The stores of the compatibility matrix: express-session's own MemoryStore (the control)
 * and every store of this package, each opened on throwaway backing storage.
 */

export type StoreKind = 'memory' | 'sqlite' | 'file' | 'redis' | 'redis-cluster' | 'postgres';

/** Callback-style express-session Store, as the suite drives it (loose: MemoryStore and ours both fit). */
export interface CompatStore {
  get(sid: string, callback: (error: unknown, session?: unknown) => void): void;
  set(sid: string, session: object, callback?: (error?: unknown) => void): void;
  destroy(sid: string, callback?: (error?: unknown) => void): void;
  touch(sid: string, session: object, callback?: (error?: unknown) => void): void;
  all(callback: (error: unknown, sessions?: unknown) => void): void;
  length(callback: (error: unknown, length?: number) => void): void;
  clear(callback?: (error?: unknown) => void): void;
  createSession(req: unknown, session: object): object;
}

/** How a (child) process opens a store on the same backing storage: plain JSON. */
export type StoreSpec =
  | { kind: 'memory' }
  | { kind: 'sqlite'; path: string }
  | { kind: 'file'; directory: string }
  | { kind: 'redis'; url: string }
  | { kind: 'redis-cluster'; rootNodes: { url: string }[] }
  | { kind: 'postgres'; connectionString: string };

export interface OpenedStore {
  readonly store: CompatStore;
  close(): Promise<void>;
}

/** Open a store instance on a spec's backing storage (a new MemoryStore for `memory`). */
export function openStore(spec: StoreSpec): OpenedStore {
  switch (spec.kind) {
    case 'memory':
      return { store: new session.MemoryStore(), close: () => Promise.resolve() };
    case 'sqlite': {
      const store = new SqliteStore({ path: spec.path });
      return { store, close: () => Promise.resolve(store.close()) };
    }
    case 'file': {
      const store = new FileStore({ directory: spec.directory });
      return { store, close: () => Promise.resolve(store.close()) };
    }
    case 'redis': {
      const store = new RedisStore({ url: spec.url });
      return { store, close: () => store.close() };
    }
    case 'redis-cluster': {
      const store = new RedisStore({ cluster: { rootNodes: spec.rootNodes } });
      return { store, close: () => store.close() };
    }
    case 'postgres': {
      const store = new PostgresStore({ connectionString: spec.connectionString });
      return { store, close: () => store.close() };
    }
  }
}

/** One store of the matrix, opened: its main instance, and what the suite needs to look behind it. */
export interface StoreUnderTest extends OpenedStore {
  readonly kind: StoreKind;
  readonly spec: StoreSpec;
  /**
   * When the backing storage will expire the session record, read from the storage itself:
   * ms since the epoch, `Infinity` for a record without expiry, undefined for no record.
   */
  expiryOf(sid: string): Promise<number | undefined>;
  /**
   * A second instance on the same backing storage whose backend is gone (closed, or its
   * directory removed): every operation must fail. Undefined for MemoryStore (no backend).
   */
  broken(): Promise<OpenedStore> | undefined;
}

export interface StoreFactory {
  readonly kind: StoreKind;
  readonly name: string;
  open(): Promise<StoreUnderTest>;
}

function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A Redis key's expiry by PEXPIRETIME (`-c`: follow a cluster's redirection to the key's node). */
async function redisExpiry(port: number, key: string, cluster: boolean): Promise<number | undefined> {
  const reply = Number(await redisCli(port, ...(cluster ? ['-c'] : []), 'PEXPIRETIME', key));
  if (reply === -2) return undefined;
  return reply === -1 ? Infinity : reply;
}

/** Close a second instance, so that its every operation meets a closed client, database or pool. */
async function closedTwin(spec: StoreSpec): Promise<OpenedStore> {
  const twin = openStore(spec);
  // One answered operation first: a client closed while it still connects may go on reconnecting.
  await new Promise<void>((resolve) => twin.store.length(() => resolve()));
  await twin.close();
  return twin;
}

export const FACTORIES: readonly StoreFactory[] = [
  {
    kind: 'memory',
    name: "express-session's MemoryStore (control)",
    open: () => {
      const spec: StoreSpec = { kind: 'memory' };
      const opened = openStore(spec);
      const store = opened.store;
      // Read on every call: clear() replaces the object.
      const sessions = () => (store as unknown as { sessions: Record<string, string> }).sessions;
      return Promise.resolve({
        kind: 'memory' as const,
        spec,
        store,
        close: () => opened.close(),
        // MemoryStore keeps the JSON it was given; its only expiry is the cookie's.
        expiryOf: (sid: string) => {
          const json = sessions()[sid];
          if (json === undefined) return Promise.resolve(undefined);
          const expires = (JSON.parse(json) as { cookie?: { expires?: string | null } }).cookie?.expires;
          return Promise.resolve(typeof expires === 'string' ? Date.parse(expires) : Infinity);
        },
        broken: () => undefined,
      });
    },
  },
  {
    kind: 'sqlite',
    name: 'SqliteStore',
    open: () => {
      const temp = tempDir('shared-session-compat-sqlite-');
      const spec: StoreSpec = { kind: 'sqlite', path: join(temp.dir, 'sessions.sqlite') };
      const opened = openStore(spec);
      return Promise.resolve({
        kind: 'sqlite' as const,
        spec,
        store: opened.store,
        close: async () => {
          await opened.close();
          temp.cleanup();
        },
        expiryOf: (sid: string) => {
          const db = new DatabaseSync(spec.path, { readOnly: true });
          try {
            const row = db.prepare('SELECT expires FROM shared_session_sessions WHERE sid = ?').get(sid) as { expires: number } | undefined;
            return Promise.resolve(row === undefined ? undefined : Number(row.expires));
          } finally {
            db.close();
          }
        },
        broken: () => closedTwin(spec),
      });
    },
  },
  {
    kind: 'file',
    name: 'FileStore',
    open: () => {
      const temp = tempDir('shared-session-compat-file-');
      const spec: StoreSpec = { kind: 'file', directory: join(temp.dir, 'store') };
      const opened = openStore(spec);
      // The store's documented layout: sessions/<SHA-256 of the id's UTF-16 code units>.json
      const fileOf = (sid: string) => join(spec.directory, 'sessions', `${createHash('sha256').update(sid, 'utf16le').digest('hex')}.json`);
      return Promise.resolve({
        kind: 'file' as const,
        spec,
        store: opened.store,
        close: async () => {
          await opened.close();
          temp.cleanup();
        },
        expiryOf: (sid: string) => {
          try {
            return Promise.resolve((JSON.parse(readFileSync(fileOf(sid), 'utf8')) as { expires: number }).expires);
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code === 'ENOENT') return Promise.resolve(undefined);
            throw error;
          }
        },
        // A FileStore has no connection to close: its directory is replaced by a plain file
        // (an unreachable share). A directory that merely vanished is not used: there, get
        // and destroy answer as for an unknown id (null, no error), while set, touch, all,
        // length and clear answer 503 (observed; README says a vanished directory answers 503).
        broken: () => {
          const gone = tempDir('shared-session-compat-file-gone-');
          const directory = join(gone.dir, 'store');
          const twin = openStore({ kind: 'file', directory });
          rmSync(directory, { recursive: true, force: true });
          writeFileSync(directory, 'not a directory\n');
          return Promise.resolve({
            store: twin.store,
            close: async () => {
              await twin.close();
              gone.cleanup();
            },
          });
        },
      });
    },
  },
  {
    kind: 'redis',
    name: 'RedisStore (standalone Redis)',
    open: async () => {
      const server = await startRedis();
      const spec: StoreSpec = { kind: 'redis', url: server.url };
      const opened = openStore(spec);
      return {
        kind: 'redis' as const,
        spec,
        store: opened.store,
        close: async () => {
          await opened.close();
          await server.stop();
        },
        expiryOf: (sid: string) => redisExpiry(server.port, `sess:{${sid}}`, false),
        broken: () => closedTwin(spec),
      };
    },
  },
  {
    kind: 'redis-cluster',
    name: 'RedisStore (3-master Redis Cluster)',
    open: async () => {
      const cluster = await startRedisCluster();
      const spec: StoreSpec = { kind: 'redis-cluster', rootNodes: [...cluster.rootNodes] };
      const opened = openStore(spec);
      return {
        kind: 'redis-cluster' as const,
        spec,
        store: opened.store,
        close: async () => {
          await opened.close();
          await cluster.stop();
        },
        expiryOf: (sid: string) => redisExpiry(cluster.ports[0]!, `sess:{${sid}}`, true),
        broken: () => closedTwin(spec),
      };
    },
  },
  {
    kind: 'postgres',
    name: 'PostgresStore',
    open: async () => {
      const db = await createTestDatabase();
      const spec: StoreSpec = { kind: 'postgres', connectionString: db.connectionString };
      const opened = openStore(spec);
      const admin = new pg.Pool({ connectionString: db.connectionString, max: 2 });
      return {
        kind: 'postgres' as const,
        spec,
        store: opened.store,
        close: async () => {
          await opened.close();
          await admin.end();
          await db.drop();
        },
        expiryOf: async (sid: string) => {
          const result = await admin.query<{ ms: string }>(
            'SELECT (extract(epoch FROM expires) * 1000)::float8 AS ms FROM shared_session_sessions WHERE sid = $1 AND NOT destroyed',
            [sid],
          );
          const row = result.rows[0];
          return row === undefined ? undefined : Number(row.ms);
        },
        broken: () => closedTwin(spec),
      };
    },
  },
];
