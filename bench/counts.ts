/**
 * Every store of this package on throwaway storage (SQLite files, directories, a Redis
 * server and a PostgreSQL database of the test helpers), and what each really holds:
 * rows per table, keys per prefix, files per directory, read from the storage itself.
 *
 * Each kind of request gets a namespace of its own (a file, a directory, a key prefix, a
 * table prefix): claims live 20–40 s, and those of one kind must not expire, or be
 * pruned, while the next kind is counted.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Store } from 'express-session';
import pg from 'pg';
import { createClient } from 'redis';
import { FileStore } from 'shared-session/file';
import { PostgresStore } from 'shared-session/postgres';
import { RedisStore } from 'shared-session/redis';
import { SqliteStore } from 'shared-session/sqlite';
import { RECORD } from '../src/stores/file/records.ts';
import { createTestDatabase } from '../test/helpers/postgres-server.ts';
import { startRedis } from '../test/helpers/redis-server.ts';

/** What a store holds: sessions, tombstones and link records live long; claims live seconds. */
export interface Counts {
  readonly sessions: number;
  readonly tombstones: number;
  readonly links: number;
  readonly claims: number;
}

export const COUNTED = ['sessions', 'tombstones', 'links', 'claims'] as const satisfies readonly (keyof Counts)[];

/** One store on one namespace. */
export interface CountedStore {
  readonly store: Store;
  count(): Promise<Counts>;
  close(): Promise<void>;
}

/** One kind of storage: a store on a new namespace of it, as often as asked. */
export interface Storage {
  readonly name: string;
  open(namespace: string): CountedStore;
  close(): Promise<void>;
}

function sqlite(dir: string): Storage {
  return {
    name: 'SQLite',
    open(namespace) {
      const path = join(dir, `${namespace}.sqlite`);
      const store = new SqliteStore({ path });
      const db = new DatabaseSync(path, { readOnly: true });
      const rows = (table: string): number => Number((db.prepare(`SELECT count(*) AS n FROM shared_session_${table}`).get() as { n: number }).n);
      return {
        store,
        count: () => Promise.resolve({ sessions: rows('sessions'), tombstones: rows('tombstones'), links: rows('links'), claims: rows('claims') }),
        close: () => {
          db.close();
          store.close();
          return Promise.resolve();
        },
      };
    },
    close: () => Promise.resolve(),
  };
}

function files(dir: string): Storage {
  return {
    name: 'File',
    open(namespace) {
      const directory = join(dir, namespace);
      mkdirSync(directory);
      const store = new FileStore({ directory });
      const records = (kind: string): number => readdirSync(join(directory, kind)).filter((file) => RECORD.test(file)).length;
      return {
        store,
        count: () => Promise.resolve({ sessions: records('sessions'), tombstones: records('tombstones'), links: records('links'), claims: records('claims') }),
        close: () => {
          store.close();
          return Promise.resolve();
        },
      };
    },
    close: () => Promise.resolve(),
  };
}

async function redis(): Promise<Storage> {
  const server = await startRedis();
  const client = createClient({ url: server.url });
  client.on('error', () => undefined);
  await client.connect();
  return {
    name: 'Redis',
    open(namespace) {
      const prefix = `${namespace}:`;
      const store = new RedisStore({ url: server.url, prefix });
      return {
        store,
        count: async () => {
          // A destroyed session's tombstone (`t`) lives in the session's own key.
          const keys = await client.keys(`${prefix}*`);
          const sessionKeys = keys.filter((key) => key.startsWith(`${prefix}{`));
          const values = sessionKeys.length ? await client.mGet(sessionKeys) : [];
          const tombstones = values.filter((value) => value === 't').length;
          return {
            sessions: sessionKeys.length - tombstones,
            tombstones,
            links: keys.filter((key) => key.startsWith(`${prefix}link:`)).length,
            claims: keys.filter((key) => key.startsWith(`${prefix}claim:`)).length,
          };
        },
        close: () => store.close(),
      };
    },
    close: async () => {
      await client.quit();
      await server.stop();
    },
  };
}

async function postgres(): Promise<Storage> {
  const database = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: database.connectionString, max: 1 });
  return {
    name: 'PostgreSQL',
    open(namespace) {
      const store = new PostgresStore({ connectionString: database.connectionString, tablePrefix: namespace });
      const count = async (sql: string): Promise<number> => {
        try {
          return Number((await pool.query<{ n: string }>(sql)).rows[0]!.n);
        } catch (error) {
          // The store creates its tables on first use.
          if ((error as { code?: string }).code === '42P01') return 0;
          throw error;
        }
      };
      return {
        store,
        count: async () => ({
          // A destroyed session stays in its row as a tombstone (`destroyed`) until it expires.
          sessions: await count(`SELECT count(*) AS n FROM ${namespace}_sessions WHERE NOT destroyed`),
          tombstones: await count(`SELECT count(*) AS n FROM ${namespace}_sessions WHERE destroyed`),
          links: await count(`SELECT count(*) AS n FROM ${namespace}_links`),
          claims: await count(`SELECT count(*) AS n FROM ${namespace}_claims`),
        }),
        close: () => store.close(),
      };
    },
    close: async () => {
      await pool.end();
      await database.drop();
    },
  };
}

/** The kinds of storage, in the table's order; `dir` holds the SQLite files and the File stores' directories. */
export async function storages(dir: string): Promise<Storage[]> {
  return [sqlite(dir), files(dir), await redis(), await postgres()];
}

/** `after` minus `before`, kind by kind. */
export function difference(after: Counts, before: Counts): Counts {
  return Object.fromEntries(COUNTED.map((kind) => [kind, after[kind] - before[kind]])) as unknown as Counts;
}
