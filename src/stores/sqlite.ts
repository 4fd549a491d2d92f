import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { optionError } from '../core/errors.ts';
import { CallbackStore, positiveOption, type SessionChange, type StoreOptions, type StoredRecord } from './callback-store.ts';
import { PruneTimers, pruneSettings, reportPruneFailure, yieldToEventLoop, type PruneOptions } from './prune-timer.ts';

/**
 * Options of {@link SqliteStore}.
 *
 * @example
 * ```ts
 * new SqliteStore({ path: '/var/lib/myapp/sessions.sqlite' })
 * ```
 */
export interface SqliteStoreOptions extends StoreOptions, PruneOptions {
  /** The database file; every site on this machine points at the same one. `:memory:` for one process. */
  path: string;
  /** Table name prefix: tables `<prefix>_sessions`, `_tombstones`, `_claims`, `_links`. Default `shared_session`. */
  tablePrefix?: string;
  /** How long a write waits for another process's write to finish. Default 5000. */
  busyTimeoutMs?: number;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,40}$/;
/**
 * Rows per statement when pruning. SQLite runs on the event loop: one batch blocks it for
 * a millisecond or two (a million rows in one DELETE blocked it for 0.4 s), and the prune
 * yields between two batches.
 */
const PRUNE_BATCH = 1000;

/**
 * The embedded session store on `node:sqlite`: an express-session Store and a
 * shared-session `SharingStore` in one file, for sites on one machine. Several processes
 * may share the file: WAL lets readers run beside one writer, a busy timeout queues
 * writers, and each save is one `BEGIN IMMEDIATE` transaction that writes the session
 * when the record is still the one the request loaded, and otherwise merges the keys the
 * request changed into it.
 *
 * @example
 * ```ts
 * app.use(session({ store: new SqliteStore({ path: 'sessions.sqlite' }), secret, resave: false, saveUninitialized: false }));
 * ```
 */
export class SqliteStore extends CallbackStore {
  readonly #db: DatabaseSync;
  readonly #timers: PruneTimers;
  #closed = false;
  readonly #sql: Record<
    | 'get' | 'getAny' | 'exists' | 'upsert' | 'touch' | 'delete' | 'tombstone' | 'isTombstone' | 'all' | 'count' | 'clear'
    | 'claim' | 'readLink' | 'writeLink' | 'pruneSessions' | 'pruneTombstones' | 'claimsWindow' | 'pruneClaims' | 'pruneLinks',
    StatementSync
  >;

  constructor(options: SqliteStoreOptions) {
    if (typeof options !== 'object' || options === null) throw optionError('options', 'must be an object', 'Pass `{ path }`.');
    super(options);
    if (typeof options.path !== 'string' || options.path === '') {
      throw optionError('path', 'must be the path of the database file', 'Pass e.g. `{ path: "sessions.sqlite" }`.');
    }
    const prefix = options.tablePrefix ?? 'shared_session';
    if (typeof prefix !== 'string' || !IDENTIFIER.test(prefix)) {
      throw optionError('tablePrefix', 'must be a plain SQL identifier', 'Use letters, digits and "_", e.g. "shared_session".');
    }
    const prune = pruneSettings(options);
    const busyMs = positiveOption(options.busyTimeoutMs, 'busyTimeoutMs', 5000, true);

    this.#db = new DatabaseSync(options.path);
    const [sessions, tombstones, claims, links] = ['sessions', 'tombstones', 'claims', 'links'].map((name) => `${prefix}_${name}`) as [string, string, string, string];
    // The busy timeout first (a pragma: the constructor option needs Node 22.16). WAL:
    // readers never block the writer; NORMAL sync survives process crashes without an
    // fsync per write. SQLite does not call its busy handler while another connection
    // switches the file to WAL or recovers it, so two processes starting on one new file
    // can get "database is locked" here at once (seen in CI): retry until the timeout.
    retryWhileBusy(busyMs, () => {
      this.#db.exec(`PRAGMA busy_timeout = ${Math.round(busyMs)}; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;`);
      this.#db.exec(`
        CREATE TABLE IF NOT EXISTS ${sessions} (sid TEXT PRIMARY KEY, data TEXT NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS ${tombstones} (sid TEXT PRIMARY KEY, expires INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS ${claims} (key TEXT PRIMARY KEY, expires INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS ${links} (bid TEXT PRIMARY KEY, value TEXT NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID;
        ${[sessions, tombstones, links].map((table) => `CREATE INDEX IF NOT EXISTS ${table}_expires ON ${table} (expires);`).join('\n')}
        DROP INDEX IF EXISTS ${claims}_expires;
      `);
    });
    // No index on the claims' expiry: every accepted token writes a claim, and the index
    // doubled its cost (30 -> 16 us, measured); claims live seconds, so pruning walks the
    // small table in key order, a window of rows at a time.
    const prepare = (sql: string): StatementSync => this.#db.prepare(sql);
    this.#sql = {
      get: prepare(`SELECT data FROM ${sessions} WHERE sid = ? AND expires > ?`),
      getAny: prepare(`SELECT data, expires > ? AS live FROM ${sessions} WHERE sid = ?`),
      exists: prepare(`SELECT 1 FROM ${sessions} WHERE sid = ?`),
      upsert: prepare(`INSERT INTO ${sessions} (sid, data, expires) VALUES (?, ?, ?) ON CONFLICT (sid) DO UPDATE SET data = excluded.data, expires = excluded.expires`),
      touch: prepare(`UPDATE ${sessions} SET expires = ? WHERE sid = ? AND expires > ?`),
      delete: prepare(`DELETE FROM ${sessions} WHERE sid = ?`),
      tombstone: prepare(`INSERT INTO ${tombstones} (sid, expires) VALUES (?, ?) ON CONFLICT (sid) DO UPDATE SET expires = excluded.expires`),
      isTombstone: prepare(`SELECT 1 FROM ${tombstones} WHERE sid = ? AND expires > ?`),
      all: prepare(`SELECT sid, data FROM ${sessions} WHERE expires > ?`),
      count: prepare(`SELECT count(*) AS n FROM ${sessions} WHERE expires > ?`),
      clear: prepare(`DELETE FROM ${sessions}`),
      // One statement, so atomic across processes: inserts a new key, or takes over an
      // expired one; a live key is left alone and `changes` is 0.
      claim: prepare(`INSERT INTO ${claims} (key, expires) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET expires = excluded.expires WHERE ${claims}.expires <= ?`),
      readLink: prepare(`SELECT value FROM ${links} WHERE bid = ? AND expires > ?`),
      writeLink: prepare(`INSERT INTO ${links} (bid, value, expires) VALUES (?, ?, ?) ON CONFLICT (bid) DO UPDATE SET value = excluded.value, expires = excluded.expires`),
      // One batch each (this build of SQLite has no DELETE … LIMIT): up to PRUNE_BATCH
      // expired rows, found through the index on `expires`.
      pruneSessions: prepare(`DELETE FROM ${sessions} WHERE sid IN (SELECT sid FROM ${sessions} WHERE expires <= ? LIMIT ${PRUNE_BATCH})`),
      pruneTombstones: prepare(`DELETE FROM ${tombstones} WHERE sid IN (SELECT sid FROM ${tombstones} WHERE expires <= ? LIMIT ${PRUNE_BATCH})`),
      pruneLinks: prepare(`DELETE FROM ${links} WHERE bid IN (SELECT bid FROM ${links} WHERE expires <= ? LIMIT ${PRUNE_BATCH})`),
      // Claims have no such index: the next window of PRUNE_BATCH keys from a key on, and
      // the expired claims within it. Each batch visits PRUNE_BATCH rows, live or not.
      claimsWindow: prepare(`SELECT max(key) AS last, count(*) AS n FROM (SELECT key FROM ${claims} WHERE key >= ? ORDER BY key LIMIT ${PRUNE_BATCH})`),
      pruneClaims: prepare(`DELETE FROM ${claims} WHERE key >= ? AND key <= ? AND expires <= ?`),
    };
    this.#timers = new PruneTimers(prune, { all: () => this.prune(), claims: () => this.#pruneClaims(Date.now()) }, reportPruneFailure(this, 'SqliteStore'));
  }

  protected override get synchronous(): boolean {
    return true;
  }

  /**
   * Delete expired sessions, tombstones, claims and links now, in batches of a thousand
   * rows with other callbacks run between two; resolves how many sessions went. Stops
   * early when the store is closed.
   */
  async prune(now = Date.now()): Promise<number> {
    await this.#pruneExpired(this.#sql.pruneTombstones, now);
    await this.#pruneClaims(now);
    await this.#pruneExpired(this.#sql.pruneLinks, now);
    return this.#pruneExpired(this.#sql.pruneSessions, now);
  }

  /** Stop the prune timers (and a running prune at its next batch), and close the database. */
  close(): void {
    this.#timers.stop();
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  /** Run one of the `prune…` statements of an indexed table until no expired row is left; resolves how many went. */
  async #pruneExpired(statement: StatementSync, now: number): Promise<number> {
    let total = 0;
    await this.#inBatches(() => {
      const deleted = Number(statement.run(now).changes);
      total += deleted;
      return deleted === PRUNE_BATCH;
    });
    return total;
  }

  /** Delete the expired claims, walking the whole table in key order. */
  async #pruneClaims(now: number): Promise<void> {
    let from = '';
    await this.#inBatches(() => {
      const window = this.#sql.claimsWindow.get(from) as { last: string | null; n: number };
      if (window.last === null) return false;
      this.#sql.pruneClaims.run(from, window.last, now);
      // The next window starts at this one's last key (inclusive, so that none is skipped).
      from = window.last;
      return window.n === PRUNE_BATCH;
    });
  }

  /** Run `batch` (bounded work; true while there is more) again and again, letting the event loop run between two. */
  async #inBatches(batch: () => boolean): Promise<void> {
    while (batch()) {
      await yieldToEventLoop();
      if (this.#closed) return;
    }
  }

  protected read(sid: string): Promise<StoredRecord | undefined> {
    const row = this.#sql.get.get(sid, Date.now()) as { data: string } | undefined;
    return Promise.resolve(row ? { json: row.data } : undefined);
  }

  protected write(sid: string, change: SessionChange): Promise<undefined> {
    this.#transaction(() => {
      const now = Date.now();
      if (this.#sql.isTombstone.get(sid, now)) return;
      const row = change.loaded && (this.#sql.getAny.get(now, sid) as { data: string; live: number } | undefined);
      // Unchanged since the request loaded it (the usual case): the session as it is now.
      // Changed by another request in between: merge only what this request changed.
      const json = !row || !row.live || row.data === change.loaded?.json ? change.json : change.mergeInto(row.data);
      this.#sql.upsert.run(sid, json, change.expires);
    });
    return Promise.resolve(undefined);
  }

  protected remove(sid: string): Promise<void> {
    // An id without a record (a logout without a cookie, a made-up id) writes nothing, and
    // is answered without the write lock: a tombstone for each would let anyone fill the
    // table. A late save comes from a request that loaded the record, so a record live or
    // expired-but-not-pruned is here for the tombstone that refuses that save.
    if (!this.#sql.exists.get(sid)) return Promise.resolve();
    this.#transaction(() => {
      if (Number(this.#sql.delete.run(sid).changes) === 0) return; // destroyed by another process in between
      this.#sql.tombstone.run(sid, Date.now() + this.tombstoneMs);
    });
    return Promise.resolve();
  }

  protected refresh(sid: string, expires: number): Promise<void> {
    this.#sql.touch.run(expires, sid, Date.now());
    return Promise.resolve();
  }

  protected list(): Promise<Record<string, Record<string, unknown>>> {
    const rows = this.#sql.all.all(Date.now()) as { sid: string; data: string }[];
    const out: Record<string, Record<string, unknown>> = {};
    for (const row of rows) out[row.sid] = JSON.parse(row.data) as Record<string, unknown>;
    return Promise.resolve(out);
  }

  protected count(): Promise<number> {
    return Promise.resolve(Number((this.#sql.count.get(Date.now()) as { n: number | bigint }).n));
  }

  protected removeAll(): Promise<void> {
    this.#sql.clear.run();
    return Promise.resolve();
  }

  protected claim(key: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    return Promise.resolve(Number(this.#sql.claim.run(key, now + ttlMs, now).changes) === 1);
  }

  protected getLink(browserId: string): Promise<string | undefined> {
    return Promise.resolve((this.#sql.readLink.get(browserId, Date.now()) as { value: string } | undefined)?.value);
  }

  protected putLink(browserId: string, value: string, ttlMs: number): Promise<void> {
    this.#sql.writeLink.run(browserId, value, Date.now() + ttlMs);
    return Promise.resolve();
  }

  /** One write transaction: IMMEDIATE takes the write lock first, so read-merge-write is atomic across processes. */
  #transaction(work: () => void): void {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      work();
      this.#db.exec('COMMIT');
    } catch (error) {
      // The original error is the one to report; a failed ROLLBACK (SQLite may have rolled
      // back already) must not replace it.
      try {
        this.#db.exec('ROLLBACK');
      } catch {
        // Rolled back already.
      }
      throw error;
    }
  }
}

/**
 * Run `setUp` again while SQLite answers SQLITE_BUSY or SQLITE_LOCKED (primary codes 5 and
 * 6), sleeping a little between tries, until `timeoutMs` has passed. Only for start-up:
 * every statement is idempotent, and a constructor cannot await.
 */
function retryWhileBusy(timeoutMs: number, setUp: () => void): void {
  const deadline = Date.now() + timeoutMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
    try {
      setUp();
      return;
    } catch (error) {
      const code = (error as { errcode?: unknown }).errcode;
      const busy = typeof code === 'number' && ((code & 0xff) === 5 || (code & 0xff) === 6);
      if (!busy || Date.now() + wait > deadline) throw error;
      Atomics.wait(pause, 0, 0, wait);
    }
  }
}
