import { createHash, randomBytes } from 'node:crypto';
import { readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseRecord, type LinkFile, type SessionFile, type Stamped, type TombstoneFile } from './format.ts';
import { codeOf, inBatches, unlinkIfAny } from './fs-helpers.ts';

/** The name of a record file: the key's hash (`nameOf`) with `.json`. */
export const RECORD = /^[0-9a-f]{64}\.json$/;
/** The name of a temp file (`RecordFiles.temp`), before it becomes a record. */
export const TEMP = /^\.[0-9a-f]{32}\.tmp$/;
/** The subdirectories of the store's directory, one per kind of file. */
export const KINDS = ['sessions', 'tombstones', 'claims', 'links', 'locks'] as const;
export type Kind = (typeof KINDS)[number];

/** The path of each kind's subdirectory under `root` (an absolute path). */
export function directoriesOf(root: string): Readonly<Record<Kind, string>> {
  return Object.fromEntries(KINDS.map((kind) => [kind, join(root, kind)])) as Record<Kind, string>;
}

/**
 * The file name of a key: SHA-256 of its UTF-16 code units, in lowercase hex. Any string
 * maps inside the directory (no `/`, `..` or NUL), names never collide (not on
 * case-insensitive filesystems either, not for lone surrogates that UTF-8 would merge),
 * and a listing of the directory reveals no session id.
 */
export function nameOf(key: string): string {
  return createHash('sha256').update(key, 'utf16le').digest('hex');
}

/** 16 random bytes in hex: temp file names and claim tokens. */
export function randomHex(): string {
  return randomBytes(16).toString('hex');
}

/**
 * The record files `<kind>/<name>.json`: read without a lock, and only ever replaced
 * whole (a temp file renamed over the record), so a reader sees the old or the new one.
 */
export class RecordFiles {
  readonly dirs: Readonly<Record<Kind, string>>;
  readonly #fileMode: number;

  constructor(dirs: Readonly<Record<Kind, string>>, fileMode: number) {
    this.dirs = dirs;
    this.#fileMode = fileMode;
  }

  /** Replace the record `<kind>/<name>.json` whole: a temp file in the same directory, renamed over it. */
  async replace(kind: Kind, name: string, record: SessionFile | TombstoneFile | LinkFile, deadline: number): Promise<void> {
    const temp = await this.temp(kind, JSON.stringify(record));
    try {
      // Past the time limit the caller has been told it failed, and the lock may be judged stale.
      if (Date.now() > deadline) throw new Error('time limit passed before the write');
      await rename(temp, join(this.dirs[kind], `${name}.json`));
    } catch (error) {
      await unlinkIfAny(temp);
      throw error;
    }
  }

  /** A new temp file in `<kind>/` holding `text`; its path. */
  async temp(kind: Kind, text: string): Promise<string> {
    const path = join(this.dirs[kind], `.${randomHex()}.tmp`);
    try {
      await writeFile(path, text, { flag: 'wx', mode: this.#fileMode });
    } catch (error) {
      await unlinkIfAny(path).catch(() => undefined);
      throw error;
    }
    return path;
  }

  /** The record of `name`, or undefined when missing or not the key's own (`mine`). */
  async read<T extends Stamped>(kind: Kind, name: string, mine: (record: T) => boolean): Promise<T | undefined> {
    const record = await this.readPath<T>(join(this.dirs[kind], `${name}.json`));
    return record && mine(record) ? record : undefined;
  }

  /** The record at `path`, or undefined when there is no file; throws `CorruptFile` or `ForeignFormat`. */
  async readPath<T extends Stamped>(path: string): Promise<T | undefined> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if (codeOf(error) === 'ENOENT') return undefined;
      throw error;
    }
    return parseRecord<T>(text);
  }

  /** Call `each` for every record file of `kind`, a few at a time. */
  async eachRecord(kind: Kind, each: (file: string) => Promise<void>): Promise<void> {
    const files = (await readdir(this.dirs[kind])).filter((file) => RECORD.test(file));
    await inBatches(files, each);
  }
}
