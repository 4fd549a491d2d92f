import { stat, unlink } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';

/** The `code` of a Node.js system error (`ENOENT`, `EEXIST`, …), if it has one. */
export function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Delete `path`; a file that is already gone is no error. */
export async function unlinkIfAny(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if (codeOf(error) !== 'ENOENT') throw error;
  }
}

/** The file's stats (nanosecond times, 64-bit inode), or undefined when it does not exist. */
export async function statIfAny(path: string): Promise<BigIntStats | undefined> {
  try {
    return await stat(path, { bigint: true });
  } catch (error) {
    if (codeOf(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/** Run `each` over `items`, 16 at a time: bounded open files, some overlap on slow disks. */
export async function inBatches<T>(items: readonly T[], each: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await each(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(16, items.length) }, worker));
}
