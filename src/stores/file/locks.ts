import type { BigIntStats } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { codeOf, statIfAny, unlinkIfAny } from './fs-helpers.ts';

/** The name of a lock file: `s-` (a session and its tombstone) or `l-` (a link), then the key's hash. */
export const LOCK = /^[sl]-[0-9a-f]{64}$/;

/** What the lock files take from the store's validated options. */
export interface LockSettings {
  /** Permission bits of lock files and markers. */
  readonly fileMode: number;
  /** A lock file older than this was left by a process that died. */
  readonly lockStaleMs: number;
  /** The time limit of one store operation, which bounds every wait for a lock. */
  readonly operationTimeoutMs: number;
}

export interface HeldLock {
  readonly path: string;
  readonly identity: string;
  readonly acquired: number;
}

/**
 * The per-key lock files `locks/<name>`, made by exclusive create, so that one process at
 * a time changes a key's records; and the markers `<file>~<identity>` by which exactly one
 * process removes a lock (or a claim) past its life.
 */
export class LockFiles {
  readonly #directory: string;
  readonly #fileMode: number;
  readonly #lockStaleMs: number;
  readonly #operationTimeoutMs: number;
  readonly #queues = new Map<string, Promise<void>>();

  constructor(directory: string, settings: LockSettings) {
    this.#directory = directory;
    this.#fileMode = settings.fileMode;
    this.#lockStaleMs = settings.lockStaleMs;
    this.#operationTimeoutMs = settings.operationTimeoutMs;
  }

  /**
   * Run `work` holding the lock `name`, waiting for it no longer than the operation's time
   * limit. Operations of this instance on one key queue in memory first, so that only one
   * of them at a time polls the lock file (and the thread pool stays free for the holder).
   */
  async locked<T>(name: string, work: (deadline: number) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.#operationTimeoutMs;
    const before = this.#queues.get(name);
    let done = (): void => undefined;
    const mine = new Promise<void>((resolve) => (done = resolve));
    const queued = before ? before.then(() => mine) : mine;
    this.#queues.set(name, queued);
    try {
      if (before && !(await settlesWithin(before, deadline))) throw new Error(`lock still held within this process after ${this.#operationTimeoutMs} ms`);
      const lock = await this.acquire(name, deadline, true);
      if (!lock) throw new Error(`lock still held by another process after ${this.#operationTimeoutMs} ms`);
      try {
        return await work(deadline);
      } finally {
        await this.release(lock);
      }
    } finally {
      done();
      if (this.#queues.get(name) === queued) this.#queues.delete(name);
    }
  }

  /**
   * Create the lock file `locks/<name>`; undefined when another process holds it past
   * `deadline` (at once when not `patient`). A lock whose file time is older than
   * `lockStaleMs` belonged to a process that died: one waiter removes it, all race again.
   */
  async acquire(name: string, deadline: number, patient: boolean): Promise<HeldLock | undefined> {
    const path = join(this.#directory, name);
    let pauseMs = 1;
    for (;;) {
      try {
        const handle = await open(path, 'wx', this.#fileMode);
        try {
          return { path, identity: identityOf(await handle.stat({ bigint: true })), acquired: Date.now() };
        } catch (error) {
          await unlinkIfAny(path);
          throw error;
        } finally {
          await handle.close();
        }
      } catch (error) {
        if (codeOf(error) !== 'EEXIST') throw error;
      }
      if (await this.breakIfStale(path, deadline)) continue;
      if (!patient || Date.now() + pauseMs >= deadline) return undefined;
      // Short, jittered backoff, 1 ms doubling to 8: a holder keeps the lock for one read and
      // one rename, and a longer sleep lets the other processes take it again and again.
      await sleep(pauseMs * (0.5 + Math.random() / 2));
      pauseMs = Math.min(pauseMs * 2, 8);
    }
  }

  async release(lock: HeldLock): Promise<void> {
    if (Date.now() - lock.acquired < this.#lockStaleMs / 2) return unlinkIfAny(lock.path);
    // Held so long that a waiter may judge it stale: release it the way a waiter breaks
    // it, so that neither of us removes a lock a third process has taken since.
    const now = await statIfAny(lock.path);
    if (now && identityOf(now) === lock.identity && (await this.takeOver(lock.path, lock.identity, Infinity))) await unlinkIfAny(lock.path);
  }

  /** Remove the lock file at `path` if it is older than `lockStaleMs` and this caller wins its marker; true when it did. */
  async breakIfStale(path: string, deadline: number): Promise<boolean> {
    const held = await statIfAny(path);
    if (held && Date.now() - Number(held.mtimeMs) > this.#lockStaleMs && (await this.takeOver(path, identityOf(held), deadline))) {
      await unlinkIfAny(path);
      return true;
    }
    return false;
  }

  /**
   * True for the one caller that creates the marker `<path>~<identity>`: it alone may remove
   * or replace the file `path` holds while it has that identity. Every caller acts within
   * its time limit of reading the identity, so a winner past `deadline` withdraws, a marker
   * is kept `10 × lockStaleMs`, and a marker older than `lockStaleMs` + twice the time limit
   * belongs to a winner that died before acting: its marker is taken over in turn.
   */
  async takeOver(path: string, identity: string, deadline: number, depth = 0): Promise<boolean> {
    const marker = `${path}~${identity}`;
    try {
      await (await open(marker, 'wx', this.#fileMode)).close();
    } catch (error) {
      if (codeOf(error) !== 'EEXIST') throw error;
      const made = depth < 2 ? await statIfAny(marker) : undefined;
      if (!made || Date.now() - Number(made.mtimeMs) <= this.#lockStaleMs + 2 * this.#operationTimeoutMs) return false;
      return this.takeOver(marker, identityOf(made), deadline, depth + 1);
    }
    if (Date.now() <= deadline) return true;
    await unlinkIfAny(marker);
    return false;
  }
}

/** Who a lock file is: its inode and creation time, which no later lock file shares. */
function identityOf(info: BigIntStats): string {
  return `${info.ino}-${info.mtimeNs}`;
}

/** True when `promise` settles before `deadline` (ms since the epoch). */
async function settlesWithin(promise: Promise<void>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()), false)));
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}
