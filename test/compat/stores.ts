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

/**
 * The store of `spec` as the matrix uses it: `release` frees the backing storage once the
 * store is closed; a broken twin is, unless said otherwise, a second instance closed.
 */
function storeOn(
  kind: StoreKind,
  spec: StoreSpec,
  release: () => unknown,
  expiryOf: (sid: string) => Promise<number | undefined>,
  broken: () => Promise<OpenedStore> | undefined = () => closedTwin(spec),
): StoreUnderTest {
  const opened = openStore(spec);
  return {
    kind,
    spec,
    store: opened.store,
    close: async () => {
      await opened.close();
      await release();
    },
    expiryOf,
    broken,
  };
}

export const FACTORIES: readonly StoreFactory[] = [
  {
    kind: 'memory',
    name: "express-session's MemoryStore (control)",
    open: () => {
      const subject = storeOn('memory', { kind: 'memory' }, () => undefined, (sid) => {
        // MemoryStore keeps the JSON it was given; its only expiry is the cookie's. Read on
        // every call: clear() replaces the object.
        const json = (subject.store as unknown as { sessions: Record<string, string> }).sessions[sid];
        if (json === undefined) return Promise.resolve(undefined);
        const expires = (JSON.parse(json) as { cookie?: { expires?: string | null } }).cookie?.expires;
        return Promise.resolve(typeof expires === 'string' ? Date.parse(expires) : Infinity);
      }, () => undefined); // no backend to break
      return Promise.resolve(subject);
    },
  },
  {
    kind: 'sqlite',
    name: 'SqliteStore',
    open: () => {
      const temp = tempDir('shared-session-compat-sqlite-');
      const path = join(temp.dir, 'sessions.sqlite');
      return Promise.resolve(
        storeOn('sqlite', { kind: 'sqlite', path }, temp.cleanup, (sid) => {
          const db = new DatabaseSync(path, { readOnly: true });
          try {
            const row = db.prepare('SELECT expires FROM shared_session_sessions WHERE sid = ?').get(sid) as { expires: number } | undefined;
            return Promise.resolve(row === undefined ? undefined : Number(row.expires));
          } finally {
            db.close();
          }
        }),
      );
    },
  },
  {
    kind: 'file',
    name: 'FileStore',
    open: () => {
      const temp = tempDir('shared-session-compat-file-');
      const directory = join(temp.dir, 'store');
      // The store's documented layout: sessions/<SHA-256 of the id's UTF-16 code units>.json
      const fileOf = (sid: string) => join(directory, 'sessions', `${createHash('sha256').update(sid, 'utf16le').digest('hex')}.json`);
      const expiryOf = (sid: string): Promise<number | undefined> => {
        try {
          return Promise.resolve((JSON.parse(readFileSync(fileOf(sid), 'utf8')) as { expires: number }).expires);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') return Promise.resolve(undefined);
          throw error;
        }
      };
      // A FileStore has no connection to close: its directory is replaced by a plain file
      // (an unreachable share). A directory that merely vanished is not used: there, get
      // and destroy answer as for an unknown id (null, no error), while set, touch, all,
      // length and clear answer 503 (as the README says: reads find nothing, writes fail).
      const broken = (): Promise<OpenedStore> => {
        const gone = tempDir('shared-session-compat-file-gone-');
        const goneDirectory = join(gone.dir, 'store');
        const twin = openStore({ kind: 'file', directory: goneDirectory });
        rmSync(goneDirectory, { recursive: true, force: true });
        writeFileSync(goneDirectory, 'not a directory\n');
        return Promise.resolve({
          store: twin.store,
          close: async () => {
            await twin.close();
            gone.cleanup();
          },
        });
      };
      return Promise.resolve(storeOn('file', { kind: 'file', directory }, temp.cleanup, expiryOf, broken));
    },
  },
  {
    kind: 'redis',
    name: 'RedisStore (standalone Redis)',
    open: async () => {
      const server = await startRedis();
      return storeOn('redis', { kind: 'redis', url: server.url }, () => server.stop(), (sid) => redisExpiry(server.port, `sess:{${sid}}`, false));
    },
  },
  {
    kind: 'redis-cluster',
    name: 'RedisStore (3-master Redis Cluster)',
    open: async () => {
      const cluster = await startRedisCluster();
      return storeOn('redis-cluster', { kind: 'redis-cluster', rootNodes: [...cluster.rootNodes] }, () => cluster.stop(), (sid) => redisExpiry(cluster.ports[0]!, `sess:{${sid}}`, true));
    },
  },
  {
    kind: 'postgres',
    name: 'PostgresStore',
    open: async () => {
      const db = await createTestDatabase();
      const admin = new pg.Pool({ connectionString: db.connectionString, max: 2 });
      const release = async () => {
        await admin.end();
        await db.drop();
      };
      return storeOn('postgres', { kind: 'postgres', connectionString: db.connectionString }, release, async (sid) => {
        const result = await admin.query<{ ms: string }>(
          'SELECT (extract(epoch FROM expires) * 1000)::float8 AS ms FROM shared_session_sessions WHERE sid = $1 AND NOT destroyed',
          [sid],
        );
        const row = result.rows[0];
        return row === undefined ? undefined : Number(row.ms);
      });
    },
  },
];
