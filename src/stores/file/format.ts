/**
 * What a file of the store holds: the record types, each stamped with the format version
 * and its expiry, and the parser that tells a record of this store from anything else.
 */

/** The format this version writes; a record with a higher one is left alone (`ForeignFormat`). */
export const FORMAT = 1;
/** A claim's token: 32 lowercase hex digits, as `randomHex()` makes them. */
export const TOKEN = /^[0-9a-f]{32}$/;

/** What every file of the store holds besides its own fields: the format and the expiry. */
export interface Stamped {
  v: typeof FORMAT;
  expires: number;
}
export interface SessionFile extends Stamped {
  sid: string;
  data: Record<string, unknown>;
}
export interface TombstoneFile extends Stamped {
  sid: string;
}
export interface LinkFile extends Stamped {
  id: string;
  value: string;
}
export interface ClaimFile extends Stamped {
  token: string;
}

/** A file that is not a record of this store (not JSON, or the wrong shape): never served, deleted by `prune()`. */
export class CorruptFile extends Error {}
/** A record written by a newer format: left alone (a rolling deploy may share the directory). */
export class ForeignFormat extends Error {}

/** True for the session record of `sid` itself, with an object as its data. */
export const isSessionOf =
  (sid: string) =>
  (record: SessionFile): boolean =>
    record.sid === sid && typeof record.data === 'object' && record.data !== null && !Array.isArray(record.data);

/** The record `text` holds; throws `CorruptFile` or `ForeignFormat` for anything else. */
export function parseRecord<T extends Stamped>(text: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Not the parser's message: it quotes the file, which may hold session data.
    throw new CorruptFile('a file of the store is not valid JSON');
  }
  if (typeof value !== 'object' || value === null) throw new CorruptFile('a file of the store is not a record');
  const record = value as Partial<Stamped>;
  if (typeof record.v === 'number' && record.v > FORMAT) throw new ForeignFormat(`a file of the store has format ${record.v}, newer than this version reads`);
  if (record.v !== FORMAT || typeof record.expires !== 'number') throw new CorruptFile('a file of the store is not a record');
  return value as T;
}
