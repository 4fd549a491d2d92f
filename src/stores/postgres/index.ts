import type * as Pg from 'pg';
import type { Pool, QueryConfig, QueryResult, QueryResultRow } from 'pg';
import { optionError } from '../../core/errors.ts';
import { CallbackStore, type SessionChange, type StoreOptions, type StoredRecord } from '../callback-store.ts';
import { loadPeer } from '../peer.ts';
import { PruneTimers, pruneSettings, type PruneOptions } from '../prune-timer.ts';
import { postgresSchema, tablesOf, type Tables } from './schema.ts';

const pg = loadPeer<typeof Pg>('pg', 'shared-session/postgres');

export { postgresSchema } from './schema.ts';

/**
 * Options of {@link PostgresStore}: exactly one of `pool` and `connectionString`.
 *
 * @example
 * ```ts
 * new PostgresStore({ connectionString: 'postgres://app@db.internal/app' })
 * new PostgresStore({ pool, createTables: false }) // your pg.Pool; tables from a migration (postgresSchema())
 * ```
 */
export interface PostgresStoreOptions extends StoreOptions, PruneOptions {
  /**
   * A `pg.Pool` you created and end yourself. Give it `connectionTimeoutMillis` and
   * `statement_timeout`, so that a wait for PostgreSQL is cut short on its side too; the
   * store adds an `'error'` listener (an idle connection's error would crash the process).
   */
  pool?: Pool;
  /** `postgres://user:password@host:port/database`: the store creates its own pool and ends it in `close()`. */
  connectionString?: string;
  /** Table name prefix: tables `<prefix>_sessions`, `_claims`, `_links` (PostgreSQL folds it to lower case). Default `shared_session`. */
  tablePrefix?: string;
  /** Create the tables (`CREATE TABLE IF NOT EXISTS`) on first use. `false` when a migration runs {@link postgresSchema}. Default true. */
  createTables?: boolean;
}

/** Rows per DELETE when pruning: each statement stays short, whatever the backlog. */
const PRUNE_BATCH = 1000;

/** `pg` reads `query_timeout` per query too (its types omit it): the read timeout, after which the connection is dropped. */
type TimedQuery = QueryConfig & { query_timeout: number };

/** Milliseconds since the epoch (a parameter) as timestamptz. */
const timestampOf = (param: string) => `to_timestamp(${param}::float8 / 1000)`;
/** `now()` plus milliseconds (a parameter). */
const fromNow = (param: string) => `now() + ${param}::float8 * interval '1 millisecond'`;

/**
 * The session store on PostgreSQL, over a `pg` pool: an express-session Store and a
 * shared-session `SharingStore` in one, for sites on any number of machines.
 *
 * A session is one `jsonb` row, so a save is one statement that merges the keys the
 * request changed into the current row (`(data || changed) - removed`) under the row's
 * lock: two requests that changed different keys both keep their change, and a destroyed
 * id (a tombstone row) refuses every later save.
 *
 * While PostgreSQL is unreachable every operation fails within `operationTimeoutMs`
 * (at once when the server refuses connections) with `SharedSessionError`
 * `ERR_SHARED_SESSION_STORE_UNAVAILABLE` (a 503); the pool connects anew on the next
 * request, so the store is back in use as soon as PostgreSQL is.
 *
 * @example
 * ```ts
 * app.use(session({ store: new PostgresStore({ connectionString: process.env.DATABASE_URL }), secret, resave: false, saveUninitialized: false }));
 * ```
 */
export class PostgresStore extends CallbackStore {
  readonly #pool: Pool;
  readonly #owned: boolean;
  readonly #tables: Tables;
  readonly #schema: string | undefined;
  readonly #timers: PruneTimers;
  #ready: Promise<void> | undefined;
  #closed = false;
  /** One warning per outage when nobody listens for errors. */
  #warned = false;

  constructor(options: PostgresStoreOptions) {
    if (typeof options !== 'object' || options === null) throw optionError('options', 'must be an object', 'Pass `{ connectionString }` or `{ pool }`.');
    super(options);
    const { pool, connectionString } = options;
    if ((pool === undefined) === (connectionString === undefined)) {
      throw optionError('pool', pool === undefined ? 'or `connectionString` is required' : 'and `connectionString` exclude each other', 'Pass either a pg.Pool or a connection string.');
    }
    // A pg.Client has no totalCount: one broken connection would break the store for good.
    if (pool !== undefined && (typeof pool !== 'object' || pool === null || typeof pool.query !== 'function' || typeof pool.on !== 'function' || typeof pool.totalCount !== 'number')) {
      throw optionError('pool', 'must be a pg.Pool (not a pg.Client, which does not reconnect)', 'Pass `new pg.Pool({ ... })` from the `pg` package.');
    }
    if (connectionString !== undefined && (typeof connectionString !== 'string' || connectionString === '')) {
      throw optionError('connectionString', 'must be a non-empty string', 'Pass e.g. "postgres://app@localhost/app".');
    }
    this.#tables = tablesOf(options.tablePrefix ?? 'shared_session');
    const createTables = options.createTables ?? true;
    if (typeof createTables !== 'boolean') throw optionError('createTables', 'must be true or false', 'Pass `false` when a migration creates the tables.');
    const prune = pruneSettings(options);

    // Serialised by an advisory lock: concurrent CREATE TABLE IF NOT EXISTS can still fail
    // on pg_type's unique index when several processes start at once.
    const prefix = (options.tablePrefix ?? 'shared_session').toLowerCase();
    this.#schema = createTables ? `SELECT pg_advisory_xact_lock(hashtextextended('shared-session schema ${prefix}', 0));\n${postgresSchema(prefix)}` : undefined;
    this.#owned = pool === undefined;
    this.#pool =
      pool ??
      new pg.Pool({
        connectionString,
        // A refused connection fails at once; these bound a host that does not answer,
        // and a statement that waits (a lock, an overloaded server) on PostgreSQL's side.
        connectionTimeoutMillis: this.operationTimeoutMs,
        statement_timeout: this.operationTimeoutMs,
        keepAlive: true,
        // Idle connections alone do not keep a script from exiting.
        allowExitOnIdle: true,
        fallback_application_name: 'shared-session',
      });
    // pg-pool emits 'error' when an idle connection breaks (a restart, a network cut) and
    // drops that client; unheard, the event would crash the process.
    this.#pool.on('error', this.#onPoolError);
    this.#pool.on('connect', this.#onPoolConnect);

    this.#timers = new PruneTimers(prune, { all: () => this.prune(), claims: () => this.#prune(this.#tables.claims) }, (error) => this.#report(error));
  }

  /**
   * Delete expired sessions, tombstones, claims and links now, a thousand rows per
   * statement; resolves how many sessions went. Stops early when the store is closed.
   */
  async prune(): Promise<number> {
    await this.#prune(this.#tables.claims);
    await this.#prune(this.#tables.links);
    return this.#prune(this.#tables.sessions);
  }

  /** Stop the prune timers (and a running prune at its next batch), and end the pool when the store created it. */
  async close(): Promise<void> {
    this.#timers.stop();
    if (this.#closed) return;
    this.#closed = true;
    this.#pool.off('connect', this.#onPoolConnect);
    // A pool the store created keeps the listener while it ends: its clients may still fail.
    if (this.#owned) await this.#pool.end();
    else this.#pool.off('error', this.#onPoolError);
  }

  protected async read(sid: string): Promise<StoredRecord | undefined> {
    // As text: the base parses it once and keeps it, to tell later what the request changed.
    const result = await this.#query<{ json: string }>(
      `SELECT data::text AS json FROM ${this.#tables.sessions} WHERE sid = $1 AND NOT destroyed AND expires > now()`,
      [sid],
    );
    const row = result.rows[0];
    return row ? { json: row.json } : undefined;
  }

  protected async write(sid: string, change: SessionChange): Promise<undefined> {
    // One statement: the row is locked by ON CONFLICT and the WHERE sees its latest
    // version, so a live tombstone written by a concurrent destroy refuses this save. The
    // session is written as it is when the row is still what the request loaded (jsonb
    // equality), a new session or a vanished record; otherwise only the keys this request
    // changed are merged over, so a concurrent save of other keys is not lost.
    const { sessions } = this.#tables;
    const delta = change.loaded ? change.delta() : undefined;
    const changed = delta ? `{${[...delta.changed].map(([key, json]) => `${JSON.stringify(key)}:${json}`).join(',')}}` : null;
    await this.#query(
      `INSERT INTO ${sessions} AS s (sid, data, expires) VALUES ($1, $2::jsonb, ${timestampOf('$6')})
       ON CONFLICT (sid) DO UPDATE SET
         data = CASE WHEN $3::jsonb IS NULL OR s.expires <= now() OR s.data = $3::jsonb THEN excluded.data
                     ELSE (s.data || $4::jsonb) - $5::text[] END,
         expires = excluded.expires,
         destroyed = false
       WHERE NOT s.destroyed OR s.expires <= now()`,
      [sid, change.json, change.loaded?.json ?? null, changed, delta?.removed ?? [], change.expires],
    );
    return undefined;
  }

  protected async remove(sid: string): Promise<void> {
    // The tombstone replaces the row in place: the delete and the tombstone are one write.
    // Only over a session's row (live, or expired and not yet pruned): an id that has none
    // (a logout without a cookie, a made-up id) writes nothing, else anyone could fill the
    // table with tombstones. A late save comes from a request that loaded the row, so the
    // row is there to become its tombstone; the row lock orders this against a racing save.
    await this.#query(
      `UPDATE ${this.#tables.sessions} SET data = '{}', expires = ${fromNow('$2')}, destroyed = true WHERE sid = $1 AND NOT destroyed`,
      [sid, this.tombstoneMs],
    );
  }

  protected async refresh(sid: string, expires: number): Promise<void> {
    await this.#query(`UPDATE ${this.#tables.sessions} SET expires = ${timestampOf('$2')} WHERE sid = $1 AND NOT destroyed AND expires > now()`, [sid, expires]);
  }


  protected async list(): Promise<Record<string, Record<string, unknown>>> {
    const result = await this.#query<{ sid: string; data: Record<string, unknown> }>(
      `SELECT sid, data FROM ${this.#tables.sessions} WHERE NOT destroyed AND expires > now()`,
      [],
    );
    const out: Record<string, Record<string, unknown>> = {};
    for (const row of result.rows) out[row.sid] = row.data;
    return out;
  }

  protected async count(): Promise<number> {
    const result = await this.#query<{ n: string }>(`SELECT count(*) AS n FROM ${this.#tables.sessions} WHERE NOT destroyed AND expires > now()`, []);
    return Number(result.rows[0]?.n ?? 0);
  }

  protected async removeAll(): Promise<void> {
    // Tombstones stay: a cleared id is not a destroyed one, but a destroyed one stays destroyed.
    await this.#query(`DELETE FROM ${this.#tables.sessions} WHERE NOT destroyed`, []);
  }

  protected async claim(key: string, ttlMs: number): Promise<boolean> {
    // Inserts a new key, or takes over an expired one; a live key is left alone (no row).
    const { claims } = this.#tables;
    const result = await this.#query(
      `INSERT INTO ${claims} AS c (key, expires) VALUES ($1, ${fromNow('$2')})
       ON CONFLICT (key) DO UPDATE SET expires = excluded.expires WHERE c.expires <= now()`,
      [key, ttlMs],
    );
    return result.rowCount === 1;
  }

  protected async getLink(browserId: string): Promise<string | undefined> {
    const result = await this.#query<{ value: string }>(`SELECT value FROM ${this.#tables.links} WHERE bid = $1 AND expires > now()`, [browserId]);
    return result.rows[0]?.value;
  }

  protected async putLink(browserId: string, value: string, ttlMs: number): Promise<void> {
    await this.#query(
      `INSERT INTO ${this.#tables.links} (bid, value, expires) VALUES ($1, $2, ${fromNow('$3')})
       ON CONFLICT (bid) DO UPDATE SET value = excluded.value, expires = excluded.expires`,
      [browserId, value, ttlMs],
    );
  }

  /** One statement, after the tables exist; a statement that is not answered in time drops its connection. */
  async #query<R extends QueryResultRow = QueryResultRow>(text: string, values: unknown[]): Promise<QueryResult<R>> {
    await this.#ensureTables();
    const query: TimedQuery = { text, values, query_timeout: this.operationTimeoutMs };
    return this.#pool.query<R>(query);
  }

  /** The tables, created once on first use; a failure (PostgreSQL down) is retried by the next operation. */
  #ensureTables(): Promise<void> {
    if (this.#schema === undefined) return Promise.resolve();
    // No parameters: one simple-protocol query, so its statements are one transaction
    // that holds the advisory lock to the end.
    const query: TimedQuery = { text: this.#schema, query_timeout: this.operationTimeoutMs };
    this.#ready ??= this.#pool.query(query).then(
      () => undefined,
      (error: unknown) => {
        this.#ready = undefined;
        throw error;
      },
    );
    return this.#ready;
  }

  /** Delete the expired rows of one table in short batches; resolves how many rows went that were not tombstones. */
  async #prune(table: string): Promise<number> {
    const destroyed = table === this.#tables.sessions ? 'destroyed' : 'false';
    let total = 0;
    for (;;) {
      // SKIP LOCKED leaves a row that a save is reviving right now to that save; the outer
      // `expires` test is checked again on the latest version of a row that changed.
      const batch = await this.guard('prune', () =>
        this.#query<{ deleted: string; live: string }>(
          `WITH gone AS (
             DELETE FROM ${table}
             WHERE ctid = ANY (ARRAY(SELECT ctid FROM ${table} WHERE expires <= now() LIMIT ${PRUNE_BATCH} FOR UPDATE SKIP LOCKED))
               AND expires <= now()
             RETURNING ${destroyed} AS destroyed
           ) SELECT count(*) AS deleted, count(*) FILTER (WHERE NOT destroyed) AS live FROM gone`,
          [],
        ),
      );
      total += Number(batch.rows[0]?.live ?? 0);
      if (Number(batch.rows[0]?.deleted ?? 0) < PRUNE_BATCH || this.#closed) return total;
    }
  }

  readonly #onPoolError = (error: Error): void => this.#report(error);
  readonly #onPoolConnect = (): void => {
    this.#warned = false;
  };

  /**
   * A connection or prune error: to the store's 'error' listeners when there are any;
   * else one warning per outage, unless the application listens on the pool it passed in.
   */
  #report(error: unknown): void {
    if (this.listenerCount('error') > 0) {
      this.emit('error', error);
      return;
    }
    if (this.#warned || (!this.#owned && this.#pool.listenerCount('error') > 1)) return;
    this.#warned = true;
    const reason = error instanceof Error ? error.message : 'unknown error';
    process.emitWarning(`shared-session PostgresStore: ${reason}; session requests fail with 503 while PostgreSQL is unreachable.`);
  }
}

