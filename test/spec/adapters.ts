/**
 * The adapters under the behavioural spec, and the matrix that runs each case on them: once
 * per adapter (both sites on it) and once per ordered pair of different adapters (site A on
 * one, site B on the other), since sharing between two frameworks is the point of the
 * library. An adapter joins with one import and one line in ADAPTERS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, afterEach, before, beforeEach, describe } from 'node:test';
import { createClient } from 'redis';
import { RedisStore } from 'shared-session/redis';
import { SqliteStore } from 'shared-session/sqlite';
import type { CallbackStore } from '../../src/stores/callback-store.ts';
import { freePort } from '../helpers/ports.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import type { SpecAdapter, SpecSite, SpecSiteOptions } from './site.ts';
import { expressAdapter } from './sites/express.ts';
import { fastifyAdapter } from './sites/fastify.ts';
import { hono } from './sites/hono.ts';
import { koaAdapter } from './sites/koa.ts';

export const ADAPTERS: readonly SpecAdapter[] = [expressAdapter, fastifyAdapter, koaAdapter, hono];

export type StoreKind = 'sqlite' | 'redis';

/** One combination of the matrix: which adapter serves site A (the hub) and which serves site B. */
export interface Combination {
  readonly a: SpecAdapter;
  readonly b: SpecAdapter;
  /** `express` when both sites run on it, `express → fastify` for a pair. */
  readonly label: string;
}

/** Every adapter with itself, then every ordered pair of two different adapters. */
export function combinations(adapters: readonly SpecAdapter[], pairs: boolean): Combination[] {
  const same = adapters.map((adapter) => ({ a: adapter, b: adapter, label: adapter.name }));
  if (!pairs) return same;
  const cross = adapters.flatMap((a) => adapters.filter((b) => b !== a).map((b) => ({ a, b, label: `${a.name} → ${b.name}` })));
  return [...same, ...cross];
}

/** What a case sees of its two sites and their store; fresh for every test. */
export interface SpecContext {
  /** Site A, the hub (first of `sites`). */
  readonly a: SpecSite;
  /** Site B. */
  readonly b: SpecSite;
  readonly store: CallbackStore;
  readonly combination: Combination;
  /**
   * Every record the store's backing storage holds now (sessions, tombstones, claims,
   * links), read from the storage itself, sorted: equal before and after a request means
   * that request wrote nothing.
   */
  records(): Promise<string[]>;
  /**
   * Make every later store operation fail, as a database that went away: the store is
   * closed (the test's end closes it no second time).
   */
  failStore(): Promise<void>;
  /**
   * Hold the answer of the store's next session load (`get`) for `ms`: the record is read
   * at once, the request goes on only later. Two requests then overlap for certain (a
   * race), whatever the framework; only the timing is changed, the store stays real.
   */
  holdNextLoad(ms: number): void;
  /**
   * This test expects `warning` events (a failing store). Otherwise a warning on any
   * site fails the test at its end: on the spec's correct setups, an adapter that warns
   * (no session found, a store error) is broken even when the visitor sees no difference.
   */
  allowWarnings(): void;
  /** Start one more site of `adapter` over this test's store (it joins nobody's `sites` but its own list). */
  startSite(adapter: SpecAdapter, options: Omit<SpecSiteOptions, 'store'>): Promise<SpecSite>;
}

export interface MatrixOptions {
  /** The store behind every test; default SQLite (a fresh file per test). */
  readonly store?: StoreKind;
  /** Run on pairs of different adapters too (cases across two sites); default true. */
  readonly pairs?: boolean;
  /** Options of both sites besides origin, sites and store. */
  readonly site?: Partial<Omit<SpecSiteOptions, 'origin' | 'sites' | 'store'>>;
  /** The adapters to run on; default ADAPTERS (a test of the matrix itself passes its own). */
  readonly adapters?: readonly SpecAdapter[];
}

interface StoreUnderTest {
  readonly store: CallbackStore;
  records(): Promise<string[]>;
  /** Idempotent: failStore closes early. */
  close(): Promise<void>;
}

/** `close` runs once, however often it is called. */
function once(close: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => (closing ??= close());
}

function sqliteStore(): StoreUnderTest {
  const dir = mkdtempSync(join(tmpdir(), 'shared-session-spec-'));
  const path = join(dir, 'sessions.sqlite');
  const store = new SqliteStore({ path });
  return {
    store,
    records: () => {
      const db = new DatabaseSync(path, { readOnly: true });
      try {
        const rows: string[] = [];
        for (const table of ['sessions', 'tombstones', 'claims', 'links']) {
          for (const row of db.prepare(`SELECT * FROM shared_session_${table}`).all()) rows.push(`${table} ${JSON.stringify(row)}`);
        }
        return Promise.resolve(rows.sort());
      } finally {
        db.close();
      }
    },
    close: once(() => {
      store.close();
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    }),
  };
}

let redisTests = 0;

/** One client per file, to read what the stores wrote (the stores have clients of their own). */
interface Reader {
  sendCommand(args: string[]): Promise<unknown>;
  close(): Promise<void>;
}

function redisStore(server: RedisServer, reader: Reader): StoreUnderTest {
  // A prefix per test: one server for the file, nothing one test wrote is seen by the next.
  const prefix = `spec${++redisTests}:`;
  const store = new RedisStore({ url: server.url, prefix });
  return {
    store,
    records: async () => {
      const keys = (await reader.sendCommand(['KEYS', `${prefix}*`])) as string[];
      const rows: string[] = [];
      for (const key of keys) {
        // Named as the SQLite rows are (sessions, tombstones, claims, links), so that a case can tell them apart on either store.
        const value = (await reader.sendCommand(['GET', key])) as string | null;
        // The absolute expiry (Redis 7): a touch that only lengthens a key's life shows here.
        const expires = (await reader.sendCommand(['PEXPIRETIME', key])) as number;
        const name = key.slice(prefix.length);
        const kind = name.startsWith('claim:') ? 'claims' : name.startsWith('link:') ? 'links' : value === 't' ? 'tombstones' : 'sessions';
        rows.push(`${kind} ${key} ${value} ${expires}`);
      }
      return rows.sort();
    },
    close: once(() => store.close()),
  };
}

type Get = (sid: string, callback?: (error: unknown, session?: unknown) => void) => Promise<unknown> | void;

function holdNextLoad(store: CallbackStore, ms: number): void {
  const instance = store as unknown as { get: Get };
  // An own property over the prototype's method, removed at the first call: later loads are untouched.
  const original = instance.get;
  instance.get = function held(this: unknown, sid, callback) {
    delete (instance as { get?: Get }).get;
    const later = <T>(value: T): Promise<T> => new Promise((resolve) => setTimeout(() => resolve(value), ms));
    if (callback) {
      void original.call(this, sid, (error, session) => setTimeout(() => callback(error, session), ms));
      return;
    }
    return (original.call(this, sid) as Promise<unknown>).then(later, (error: unknown) => later(null).then(() => Promise.reject(error as Error)));
  };
}

/**
 * Declare `body`'s tests once per combination of adapters, each test with its own store
 * and its own two sites on fresh ports (`http://a.localhost:<port>`, the hub, and
 * `http://b.localhost:<port>`). `body` reads the context only inside its tests.
 *
 * @example
 * describeMatrix('hop', (ctx) => {
 *   it('…', async () => { await new Client().navigate(`${ctx.b.origin}/`); });
 * });
 */
export function describeMatrix(title: string, body: (ctx: SpecContext) => void, options: MatrixOptions = {}): void {
  for (const combination of combinations(options.adapters ?? ADAPTERS, options.pairs ?? true)) {
    describe(`${title} [${combination.label}]`, () => {
      let redis: RedisServer | undefined;
      let reader: Reader | undefined;
      let current: (SpecContext & { readonly extra: SpecSite[]; readonly backing: StoreUnderTest; warningsAllowed: boolean }) | undefined;
      if (options.store === 'redis') {
        before(async () => {
          redis = await startRedis();
          reader = await createClient({ url: redis.url }).connect();
        });
        after(async () => {
          await reader?.close();
          await redis?.stop();
        });
      }
      beforeEach(async () => {
        const backing = options.store === 'redis' ? redisStore(redis!, reader!) : sqliteStore();
        const ports = new Set<number>();
        // freePort closes its probe before returning: two calls may name one port.
        while (ports.size < 2) ports.add(await freePort());
        const [portA, portB] = [...ports] as [number, number];
        const sites = [`http://a.localhost:${portA}`, `http://b.localhost:${portB}`];
        const a = await combination.a.start({ ...options.site, origin: sites[0]!, sites, store: backing.store });
        const b = await combination.b.start({ ...options.site, origin: sites[1]!, sites, store: backing.store });
        const extra: SpecSite[] = [];
        current = {
          a,
          b,
          store: backing.store,
          combination,
          backing,
          extra,
          records: () => backing.records(),
          failStore: () => backing.close(),
          holdNextLoad: (ms) => holdNextLoad(backing.store, ms),
          warningsAllowed: false,
          allowWarnings: () => {
            current!.warningsAllowed = true;
          },
          startSite: async (adapter, siteOptions) => {
            const site = await adapter.start({ ...siteOptions, store: backing.store });
            extra.push(site);
            return site;
          },
        };
      });
      afterEach(async () => {
        const done = current;
        current = undefined;
        if (!done) return;
        const sites = [done.a, done.b, ...done.extra];
        await Promise.all(sites.map((site) => site.close()));
        await done.backing.close();
        const warnings = sites.flatMap((site) => site.events.flatMap((entry) => (entry.name === 'warning' ? [`${site.origin}: ${entry.event.code} ${entry.event.message}`] : [])));
        if (warnings.length > 0 && !done.warningsAllowed) throw new Error(`unexpected warnings:\n${warnings.join('\n')}`);
      });
      const live = (): SpecContext => {
        if (!current) throw new Error('describeMatrix: the context is read outside a test');
        return current;
      };
      body({
        get a() {
          return live().a;
        },
        get b() {
          return live().b;
        },
        get store() {
          return live().store;
        },
        get combination() {
          return combination;
        },
        records: () => live().records(),
        failStore: () => live().failStore(),
        holdNextLoad: (ms) => live().holdNextLoad(ms),
        allowWarnings: () => live().allowWarnings(),
        startSite: (adapter, siteOptions) => live().startSite(adapter, siteOptions),
      });
    });
  }
}
