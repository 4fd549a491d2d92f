import { link, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { CorruptFile, FORMAT, TOKEN, type ClaimFile } from './format.ts';
import { codeOf, unlinkIfAny } from './fs-helpers.ts';
import type { LockFiles } from './locks.ts';
import { nameOf, randomHex, type RecordFiles } from './records.ts';

/**
 * Single-use keys as files `claims/<name>.json`: a claim is written whole to a temp file
 * and hard-linked to its name, which fails when the name exists, so one racer wins. An
 * expired claim is replaced by the one racer that wins its marker (`LockFiles.takeOver`).
 */
export class ClaimFiles {
  readonly #records: RecordFiles;
  readonly #locks: LockFiles;
  readonly #operationTimeoutMs: number;

  constructor(records: RecordFiles, locks: LockFiles, operationTimeoutMs: number) {
    this.#records = records;
    this.#locks = locks;
    this.#operationTimeoutMs = operationTimeoutMs;
  }

  /** True for the first caller to claim `key` within `ttlMs`; false for every later one. */
  async claim(key: string, ttlMs: number): Promise<boolean> {
    const deadline = Date.now() + this.#operationTimeoutMs;
    const path = join(this.#records.dirs.claims, `${nameOf(key)}.json`);
    const mine: ClaimFile = { v: FORMAT, expires: Date.now() + ttlMs, token: randomHex() };
    // Written whole before it gets its name, so a racer never reads half a claim.
    const temp = await this.#records.temp('claims', JSON.stringify(mine));
    try {
      for (;;) {
        if (Date.now() > deadline) throw new Error('claim did not settle within the time limit');
        try {
          await link(temp, path); // fails when the name exists: one racer wins
          return true;
        } catch (error) {
          if (codeOf(error) !== 'EEXIST') throw error;
        }
        const current = await this.#records.readPath<ClaimFile>(path);
        if (!current) continue; // pruned or taken over between our link and our read: race again
        if (typeof current.token !== 'string' || !TOKEN.test(current.token)) throw new CorruptFile('a claim file of the store has no token');
        if (current.expires > Date.now()) return false;
        // Expired: the one racer that wins its marker replaces it; the others lose to it.
        if (!(await this.#locks.takeOver(path, current.token, deadline))) return false;
        await rename(temp, path);
        return true;
      }
    } finally {
      await unlinkIfAny(temp);
    }
  }
}
