/**
 * Case 5: store operations per second. Every store of this package, and on one Redis
 * ours against connect-redis as the baseline, interleaved, the ratio taken per round.
 * A save modifies one key of a session loaded through express-session's createSession,
 * as a request does; 32 operations are kept in flight.
 */
import { RedisStore as ConnectRedisStore } from 'connect-redis';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { FileStore } from 'shared-session/file';
import { PostgresStore } from 'shared-session/postgres';
import { RedisStore } from 'shared-session/redis';
import { SqliteStore } from 'shared-session/sqlite';
import { createTestDatabase } from '../test/helpers/postgres-server.ts';
import { startRedis } from '../test/helpers/redis-server.ts';

export interface StoreRow {
  readonly name: string;
  readonly unit: string;
  readonly values: number[];
  readonly ratios?: number[];
  readonly target?: string;
  readonly note?: string;
}

type Callback = (error: unknown, value?: unknown) => void;
interface AnyStore {
  get(sid: string, callback: Callback): void;
  set(sid: string, session: object, callback: Callback): void;
  touch(sid: string, session: object, callback: Callback): void;
  createSession(req: object, session: object): Record<string, unknown>;
}

const IN_FLIGHT = 32;
const SESSIONS = 256;
// The benchmark measures throughput, not failure handling: a disk flushing another store's
// writes may stall a read for seconds on these machines, which in production is a 503.
const BENCH_LIMITS = { operationTimeoutMs: 30_000 } as const;

/** Write back dirty pages, so that one store's writes are not flushed during the next one's measurement. */
function settleDisk(): void {
  execFileSync('sync');
}
const call = (run: (callback: Callback) => void): Promise<unknown> =>
  new Promise((resolve, reject) => run((error, value) => (error ? reject(error instanceof Error ? error : new Error('store failed')) : resolve(value))));

function sessionData(i: number): object {
  return {
    cookie: { originalMaxAge: 3_600_000, expires: new Date(Date.now() + 3_600_000).toISOString(), httpOnly: true, path: '/', sameSite: 'lax' },
    user: `user-${i}`,
    cart: ['green tea', 'oolong', 'matcha'],
    n: 0,
  };
}

/** Operations per second of one kind, `IN_FLIGHT` at a time, for `ms`. */
async function throughput(store: AnyStore, kind: 'get' | 'set' | 'touch', ms: number, prefix: string): Promise<number> {
  // Each worker owns one session, loaded as a request loads it: its saves follow each other.
  const loaded = await Promise.all(
    Array.from({ length: IN_FLIGHT }, async (_, worker) => {
      const sid = `${prefix}-${worker}`;
      const data = (await call((cb) => store.get(sid, cb))) as object;
      return { sid, session: store.createSession({ sessionID: sid, sessionStore: store }, data) };
    }),
  );
  let done = 0;
  const until = performance.now() + ms;
  await Promise.all(
    loaded.map(async ({ sid, session }, worker) => {
      let i = worker;
      while (performance.now() < until) {
        if (kind === 'get') await call((cb) => store.get(`${prefix}-${i++ % SESSIONS}`, cb));
        else if (kind === 'set') {
          session.n = (session.n as number) + 1;
          await call((cb) => store.set(sid, session, cb));
        } else await call((cb) => store.touch(sid, session, cb));
        done++;
      }
    }),
  );
  return (done * 1000) / ms;
}

async function fill(store: AnyStore, prefix: string): Promise<void> {
  await Promise.all(Array.from({ length: SESSIONS }, (_, i) => call((cb) => store.set(`${prefix}-${i}`, sessionData(i), cb))));
}

export async function benchStores(options: { rounds: number; seconds: number; quick: boolean }): Promise<StoreRow[]> {
  const ms = Math.max(200, options.seconds * 1000 * (options.quick ? 0.5 : 0.6));
  const rows: StoreRow[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'shared-session-bench-stores-'));
  const redis = await startRedis();
  const database = await createTestDatabase();
  const client = createClient({ url: redis.url, RESP: 2 });
  client.on('error', () => undefined);
  await client.connect();
  const ours = new RedisStore({ url: redis.url, ...BENCH_LIMITS });
  const theirs = new ConnectRedisStore({ client, prefix: 'cr:' }) as unknown as AnyStore;
  const others: [string, AnyStore & { close(): unknown }][] = [
    ['SqliteStore', new SqliteStore({ path: join(dir, 'bench.sqlite'), ...BENCH_LIMITS })],
    ['FileStore', new FileStore({ directory: join(dir, 'files'), ...BENCH_LIMITS, lockStaleMs: 40_000 })],
    ['PostgresStore', new PostgresStore({ connectionString: database.connectionString, ...BENCH_LIMITS })],
  ];
  try {
    await fill(ours, 'ours');
    await fill(theirs, 'theirs');
    for (const [, store] of others) await fill(store, 'x');
    for (const kind of ['get', 'set', 'touch'] as const) {
      const a: number[] = [];
      const b: number[] = [];
      for (let round = 0; round < options.rounds; round++) {
        a.push(await throughput(theirs, kind, ms, 'theirs'));
        b.push(await throughput(ours, kind, ms, 'ours'));
      }
      rows.push({ name: `connect-redis 10, ${kind} (baseline)`, unit: 'ops/s', values: a });
      rows.push({ name: `RedisStore, ${kind}`, unit: 'ops/s', values: b, ratios: b.map((value, i) => value / (a[i] as number)), target: '≥ 1.0' });
    }
    for (const [name, store] of others) {
      settleDisk();
      for (const kind of ['get', 'set', 'touch'] as const) {
        const values: number[] = [];
        for (let round = 0; round < options.rounds; round++) values.push(await throughput(store, kind, ms, 'x'));
        rows.push({ name: `${name}, ${kind}`, unit: 'ops/s', values });
      }
    }
  } finally {
    await ours.close();
    await client.quit();
    for (const [, store] of others) await store.close();
    await redis.stop();
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
