import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describeValue, optionError } from '../../core/errors.ts';
import { CallbackStore, positiveOption, type SessionChange, type StoreOptions, type StoredRecord } from '../callback-store.ts';
import { PruneTimers, pruneSettings, reportPruneFailure, type PruneOptions } from '../prune-timer.ts';
import { ClaimFiles } from './claims.ts';
import { CorruptFile, FORMAT, isSessionOf, type LinkFile, type SessionFile, type TombstoneFile } from './format.ts';
import { codeOf, statIfAny, unlinkIfAny } from './fs-helpers.ts';
import { LockFiles } from './locks.ts';
import { Pruner } from './prune.ts';
import { KINDS, RecordFiles, directoriesOf, nameOf } from './records.ts';

/**
 * Options of {@link FileStore}.
 *
 * @example
 * ```ts
 * new FileStore({ directory: '/var/lib/myapp/sessions' })
 * ```
 */
export interface FileStoreOptions extends StoreOptions, PruneOptions {
  /** The shared directory; every site points at the same one. Created (mode from `fileMode`) when missing. */
  directory: string;
  /**
   * A session lock older than this was left by a process that died, and is broken. Must be
   * longer than `operationTimeoutMs`: a live holder gives up by then. Default
   * `operationTimeoutMs` + 2000 (4000).
   */
  lockStaleMs?: number;
  /** Permission bits of the files (the umask still applies); created directories add `x` where `r` is set. Default 0o600. */
  fileMode?: number;
}

/**
 * A session store on a shared directory: one JSON file per session, for sites on one
 * machine or on machines that mount one share. Readers never lock; every change is a
 * temp file renamed over the record, made under a per-session lock file (exclusive
 * create) so that a save merges the keys the request changed into the current record.
 *
 * Files: `sessions/`, `tombstones/` and `links/` hold `<sha256>.json` records, `claims/`
 * single-use keys (a hard link wins), `locks/` the lock files. A lock or claim past its
 * life is removed by exactly one process: the one that creates the marker `<file>~<identity>`.
 *
 * @example
 * ```ts
 * app.use(session({ store: new FileStore({ directory: '/srv/shared/sessions' }), secret, resave: false, saveUninitialized: false }));
 * ```
 */
export class FileStore extends CallbackStore {
  readonly #records: RecordFiles;
  readonly #locks: LockFiles;
  readonly #claims: ClaimFiles;
  readonly #pruner: Pruner;
  readonly #timers: PruneTimers;

  constructor(options: FileStoreOptions) {
    if (typeof options !== 'object' || options === null) throw optionError('options', 'must be an object', 'Pass `{ directory }`.');
    super(options);
    if (typeof options.directory !== 'string' || options.directory === '' || options.directory.includes('\0')) {
      throw optionError('directory', 'must be the path of a directory', 'Pass e.g. `{ directory: "/var/lib/myapp/sessions" }`.');
    }
    const prune = pruneSettings(options);
    const lockStaleMs = positiveOption(options.lockStaleMs, 'lockStaleMs', this.operationTimeoutMs + 2000);
    if (lockStaleMs <= this.operationTimeoutMs) {
      throw optionError('lockStaleMs', `must be longer than operationTimeoutMs (${this.operationTimeoutMs})`, `Use e.g. ${this.operationTimeoutMs + 2000}.`);
    }
    const mode = options.fileMode ?? 0o600;
    if (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > 0o777 || (mode & 0o600) !== 0o600) {
      throw optionError('fileMode', 'must be permission bits that let the owner read and write', 'Use e.g. 0o600, or 0o660 for sites that share a group.');
    }

    const root = resolve(options.directory);
    const dirs = directoriesOf(root);
    try {
      // Only here: at run time a missing directory is an error, not something to create,
      // or an unmounted share would silently become a local directory.
      for (const kind of KINDS) mkdirSync(dirs[kind], { recursive: true, mode: mode | ((mode & 0o444) >> 2) });
    } catch (error) {
      const code = codeOf(error) ?? 'unknown error';
      throw optionError('directory', `cannot be used: ${describeValue(root)} (${code})`, 'Point it at a directory this process can create or write.');
    }

    const settings = { fileMode: mode, lockStaleMs, operationTimeoutMs: this.operationTimeoutMs };
    this.#records = new RecordFiles(dirs, mode);
    this.#locks = new LockFiles(dirs.locks, settings);
    this.#claims = new ClaimFiles(this.#records, this.#locks, this.operationTimeoutMs);
    this.#pruner = new Pruner(this.#records, this.#locks, settings);
    this.#timers = new PruneTimers(prune, { all: () => this.prune(), claims: () => this.#pruner.pruneClaims(Date.now()) }, reportPruneFailure(this, 'FileStore'));
  }

  /**
   * Delete expired sessions, tombstones, claims and links, stale locks, and temp files and
   * markers left by processes that died, now; resolves how many sessions went. A running
   * prune is shared, not started twice.
   */
  prune(now = Date.now()): Promise<number> {
    return this.#pruner.prune(now);
  }

  /** Stop the prune timers (and a running prune after its current files). */
  close(): void {
    this.#timers.stop();
    this.#pruner.close();
  }

  protected async read(sid: string): Promise<StoredRecord | undefined> {
    // No lock and no retry: a missing id costs one failed open.
    const name = nameOf(sid);
    let record: SessionFile | undefined;
    try {
      record = await this.#records.read<SessionFile>('sessions', name, isSessionOf(sid));
    } catch (error) {
      if (!(error instanceof CorruptFile)) throw error;
      // Read again under the lock: a save may have renamed a good record over it since.
      record = await this.#locks.locked(`s-${name}`, () => this.#sessionFile(sid, name));
    }
    return record && record.expires > Date.now() ? { json: JSON.stringify(record.data) } : undefined;
  }

  /**
   * The session file of `sid`, read under its lock. A file that is no record (empty, cut
   * short, not JSON) is deleted at once and read as none: every write of this store is a
   * whole file renamed into place, so only damage from outside (a full disk while copying
   * the directory back, an editor) makes one, and it would otherwise fail every request
   * of that session until `prune()` removed it.
   */
  async #sessionFile(sid: string, name: string): Promise<SessionFile | undefined> {
    try {
      return await this.#records.read<SessionFile>('sessions', name, isSessionOf(sid));
    } catch (error) {
      if (!(error instanceof CorruptFile)) throw error;
      await unlinkIfAny(join(this.#records.dirs.sessions, `${name}.json`));
      return undefined;
    }
  }

  protected write(sid: string, change: SessionChange): Promise<undefined> {
    const name = nameOf(sid);
    return this.#locks.locked(`s-${name}`, async (deadline) => {
      const now = Date.now();
      const tombstone = await this.#records.read<TombstoneFile>('tombstones', name, (r) => r.sid === sid);
      if (tombstone && tombstone.expires > now) return undefined;
      const current = change.loaded && (await this.#sessionFile(sid, name));
      const currentJson = current && current.expires > now ? JSON.stringify(current.data) : undefined;
      // Still the record the request loaded, or none: the session as it is; else merge its changes.
      const json = currentJson === undefined || currentJson === change.loaded?.json ? change.json : change.mergeInto(currentJson);
      await this.#records.replace('sessions', name, { v: FORMAT, sid, expires: change.expires, data: JSON.parse(json) as Record<string, unknown> }, deadline);
      return undefined;
    });
  }

  protected async remove(sid: string): Promise<void> {
    const name = nameOf(sid);
    const session = join(this.#records.dirs.sessions, `${name}.json`);
    // An id without a session file (a logout without a cookie, a made-up id) writes nothing,
    // not even a lock file: a tombstone for each would let anyone fill the directory. A late
    // save comes from a request that loaded the file, so it is here (live, or expired and not
    // yet pruned) for the tombstone that refuses that save.
    if (!(await statIfAny(session))) return;
    await this.#locks.locked(`s-${name}`, async (deadline) => {
      if (!(await statIfAny(session))) return; // destroyed by another request in between
      // The tombstone first: a save that runs after the lock is released must find it.
      await this.#records.replace('tombstones', name, { v: FORMAT, sid, expires: Date.now() + this.tombstoneMs }, deadline);
      await unlinkIfAny(session);
    });
  }

  protected refresh(sid: string, expires: number): Promise<void> {
    const name = nameOf(sid);
    return this.#locks.locked(`s-${name}`, async (deadline) => {
      const record = await this.#sessionFile(sid, name);
      if (!record || record.expires <= Date.now()) return;
      await this.#records.replace('sessions', name, { ...record, expires }, deadline);
    });
  }

  protected async list(): Promise<Record<string, Record<string, unknown>>> {
    const out: Record<string, Record<string, unknown>> = {};
    const now = Date.now();
    await this.#records.eachRecord('sessions', async (file) => {
      const record = await this.#records.readPath<SessionFile>(join(this.#records.dirs.sessions, file));
      if (record && record.expires > now && typeof record.sid === 'string' && isSessionOf(record.sid)(record)) out[record.sid] = record.data;
    });
    return out;
  }

  protected async count(): Promise<number> {
    return Object.keys(await this.list()).length;
  }

  protected async removeAll(): Promise<void> {
    await this.#records.eachRecord('sessions', (file) => unlinkIfAny(join(this.#records.dirs.sessions, file)));
  }

  protected claim(key: string, ttlMs: number): Promise<boolean> {
    return this.#claims.claim(key, ttlMs);
  }

  protected async getLink(browserId: string): Promise<string | undefined> {
    const record = await this.#records.read<LinkFile>('links', nameOf(browserId), (r) => r.id === browserId && typeof r.value === 'string');
    return record && record.expires > Date.now() ? record.value : undefined;
  }

  protected putLink(browserId: string, value: string, ttlMs: number): Promise<void> {
    const name = nameOf(browserId);
    // Locked only so that prune() never deletes a link that was just rewritten.
    return this.#locks.locked(`l-${name}`, (deadline) => this.#records.replace('links', name, { v: FORMAT, id: browserId, value, expires: Date.now() + ttlMs }, deadline));
  }
}
