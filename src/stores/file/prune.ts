import { opendir } from 'node:fs/promises';
import { join } from 'node:path';
import { CorruptFile, ForeignFormat, TOKEN, type ClaimFile } from './format.ts';
import { inBatches, statIfAny, unlinkIfAny } from './fs-helpers.ts';
import { LOCK, type LockFiles, type LockSettings } from './locks.ts';
import { RECORD, TEMP, type Kind, type RecordFiles } from './records.ts';

/** Names taken from a directory at a time: bounded memory and bounded work, whatever the number of files. */
const PRUNE_BATCH = 256;

/**
 * Deletes expired sessions, tombstones, claims and links, stale locks, and temp files and
 * markers left by processes that died; and, more often, expired claims alone.
 */
export class Pruner {
  readonly #records: RecordFiles;
  readonly #locks: LockFiles;
  readonly #lockStaleMs: number;
  readonly #operationTimeoutMs: number;
  #pruning: Promise<number> | undefined;
  #closed = false;

  constructor(records: RecordFiles, locks: LockFiles, settings: Pick<LockSettings, 'lockStaleMs' | 'operationTimeoutMs'>) {
    this.#records = records;
    this.#locks = locks;
    this.#lockStaleMs = settings.lockStaleMs;
    this.#operationTimeoutMs = settings.operationTimeoutMs;
  }

  /** Prune now; resolves how many sessions went. A running prune is shared, not started twice. */
  prune(now: number): Promise<number> {
    this.#pruning ??= this.#prune(now).finally(() => (this.#pruning = undefined));
    return this.#pruning;
  }

  /** Stop a running prune after its current file, and every later one at once. */
  close(): void {
    this.#closed = true;
  }

  /** Delete expired claims now (and leftovers in their directory). */
  async pruneClaims(now: number): Promise<void> {
    const failures: unknown[] = [];
    await this.#pruneClaims(now, failures);
    throwIfAny(failures);
  }

  async #prune(now: number): Promise<number> {
    let sessions = 0;
    const failures: unknown[] = [];
    // Records that saves replace: deleted under their key's lock (skipped when it is busy),
    // so that a record written a moment ago is never the one deleted.
    const underLock = (kind: 'sessions' | 'tombstones' | 'links', lock: 's' | 'l') =>
      this.#walk(kind, failures, async (file, path) => {
        if (!RECORD.test(file) || !(await this.#expired(path, now))) return;
        const held = await this.#locks.acquire(`${lock}-${file.slice(0, 64)}`, Date.now() + this.#operationTimeoutMs, false);
        if (!held) return;
        try {
          if (!(await this.#expired(path, now))) return;
          await unlinkIfAny(path);
          if (kind === 'sessions') sessions++;
        } finally {
          await this.#locks.release(held);
        }
      });
    await underLock('sessions', 's');
    await underLock('tombstones', 's');
    await underLock('links', 'l');
    await this.#pruneClaims(now, failures);
    await this.#walk('locks', failures, async (file, path) => {
      if (!LOCK.test(file)) return;
      await this.#locks.breakIfStale(path, Date.now() + this.#operationTimeoutMs);
    });
    throwIfAny(failures);
    return sessions;
  }

  #pruneClaims(now: number, failures: unknown[]): Promise<void> {
    return this.#walk('claims', failures, async (file, path) => {
      if (!RECORD.test(file)) return;
      let claim: ClaimFile | undefined;
      try {
        claim = await this.#records.readPath<ClaimFile>(path);
      } catch (error) {
        // A claim is linked in whole, so a corrupt one was not written by this store; none replaces it.
        if (error instanceof CorruptFile && (await this.#olderThan(path, this.#lockStaleMs))) await unlinkIfAny(path);
        if (error instanceof CorruptFile || error instanceof ForeignFormat) return;
        throw error;
      }
      if (claim && claim.expires <= now && TOKEN.test(String(claim.token)) && (await this.#locks.takeOver(path, claim.token, Date.now() + this.#operationTimeoutMs))) await unlinkIfAny(path);
    });
  }

  /**
   * Hand every file of `kind`'s directory to `each` (leftovers to `#pruneLeftover`), a
   * batch of names at a time read from the directory as it goes; a failure is collected
   * in `failures` and the walk goes on. Stops when the store is closed.
   */
  async #walk(kind: Kind, failures: unknown[], each: (file: string, path: string) => Promise<void>): Promise<void> {
    const directory = this.#records.dirs[kind];
    const handle = async (file: string): Promise<void> => {
      if (this.#closed) return;
      const path = join(directory, file);
      try {
        if (TEMP.test(file) || file.includes('~')) await this.#pruneLeftover(file, path);
        else await each(file, path);
      } catch (error) {
        failures.push(error);
      }
    };
    let batch: string[] = [];
    // Files deleted meanwhile are ones already handed out: the walk still sees every other file once.
    for await (const entry of await opendir(directory, { bufferSize: 64 })) {
      batch.push(entry.name);
      if (batch.length < PRUNE_BATCH) continue;
      await inBatches(batch, handle);
      batch = [];
      if (this.#closed) break;
    }
    await inBatches(batch, handle);
  }

  /** True for a record past its expiry, and for a file that is no record of this store. */
  async #expired(path: string, now: number): Promise<boolean> {
    try {
      const record = await this.#records.readPath(path);
      return record !== undefined && record.expires <= now;
    } catch (error) {
      if (error instanceof CorruptFile) return true;
      if (error instanceof ForeignFormat) return false;
      throw error;
    }
  }

  /** Temp files of writers that died, and markers no racer can still act on. */
  async #pruneLeftover(file: string, path: string): Promise<void> {
    const keepMs = file.includes('~') ? 10 * this.#lockStaleMs : this.#lockStaleMs;
    if (await this.#olderThan(path, keepMs)) await unlinkIfAny(path);
  }

  async #olderThan(path: string, ms: number): Promise<boolean> {
    const info = await statIfAny(path);
    return info !== undefined && Date.now() - Number(info.mtimeMs) > ms;
  }
}

function throwIfAny(failures: readonly unknown[]): void {
  if (failures.length > 0) throw new Error(`prune failed for ${failures.length} file(s)`, { cause: failures[0] });
}
