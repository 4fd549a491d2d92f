import { platform as native, type Key, type Secret } from '#platform';
import { settle, type AnyPlatform } from './platform/types.ts';

// Either kind of platform: Web Crypto's SHA-256 is a promise, node:crypto's is not.
const platform: AnyPlatform<Secret, Key> = native;

/**
 * What the core keeps inside a shared session record, under {@link NOTE_KEY}: the link key
 * of the session (the browser epoch it belongs to, see link.ts), whether a change
 * elsewhere superseded it, and which sites hold it.
 *
 * The note is what makes the steady state free: a site whose loaded session carries a key
 * and names this site as a holder has nothing to check, because every change of the
 * browser's session either destroys this record (logout, `regenerate()` at login) or marks
 * it `moved` here. It also lets the loader mint nothing once every site holds the session.
 *
 * Stored as one short string, because express-session parses and hashes the whole record
 * twice per request (an object of full origins cost more instructions than the rest of the
 * middleware):
 *
 *   `2` key? (`~` previous key)? `!`? `:` then 7 characters per site: a 6-character site id and a mode letter
 *
 * A key is 22 base64url characters (16 random bytes). The previous key names the epoch
 * whose end started this one: a push voucher for this session is taken only by a site
 * that was in one of the two (push.ts). `!` marks the session as moved. Site ids are
 * derived from the origin (SHA-256), so every app names a site alike whatever the order
 * of its `sites`.
 */
export const NOTE_KEY = '__sharedSession';

/** How a site stands towards the session: `held` (its cookie names it), or `pushed` (the loader sent it a token; not held yet). */
export type HoldMode = 'held' | 'pushed';

/** A note, parsed. */
export interface Note {
  /** The link key of the session's epoch; undefined for a session no site has linked yet. */
  readonly key: string | undefined;
  /** The key of the epoch whose end started this one, when a change on a site ended one. */
  readonly previous: string | undefined;
  /** True when a change elsewhere superseded this session without destroying it. */
  readonly moved: boolean;
  /** Site id and mode letter pairs, as stored. */
  readonly entries: string;
}

const FORMAT = '2';
const ENTRY = 7;
const KEY = /^[A-Za-z0-9_-]{22}$/;
const CODE: Readonly<Record<HoldMode, string>> = { held: 'f', pushed: 'p' };
const MODE: Readonly<Record<string, HoldMode>> = { f: 'held', p: 'pushed' };

export const EMPTY_NOTE: Note = { key: undefined, previous: undefined, moved: false, entries: '' };

/** The 6-character id a note names `origin` by: at once on node:crypto, a promise on Web Crypto. */
export function noteIdOf(origin: string): string | Promise<string> {
  return settle(platform.sha256(platform.utf8(origin)), (hash) => platform.base64url(hash).slice(0, 6));
}

/** Parse a stored note; anything unexpected under the key counts as no note. */
export function readNote(value: unknown): Note {
  if (typeof value !== 'string' || !value.startsWith(FORMAT)) return EMPTY_NOTE;
  const colon = value.indexOf(':');
  if (colon === -1 || (value.length - colon - 1) % ENTRY !== 0) return EMPTY_NOTE;
  let head = value.slice(1, colon);
  const moved = head.endsWith('!');
  if (moved) head = head.slice(0, -1);
  const [key = '', previous, ...rest] = head.split('~');
  if (rest.length > 0 || (key !== '' && !KEY.test(key)) || (previous !== undefined && !KEY.test(previous))) return EMPTY_NOTE;
  return { key: key === '' ? undefined : key, previous, moved, entries: value.slice(colon + 1) };
}

/** The stored form of a note. */
export function writeNote(note: Note): string {
  return `${FORMAT}${note.key ?? ''}${note.previous === undefined ? '' : `~${note.previous}`}${note.moved ? '!' : ''}:${note.entries}`;
}

/** How the site with `noteId` stands towards the session, by the note. */
export function holder(note: Note, noteId: string): HoldMode | undefined {
  const text = note.entries;
  for (let at = 0; at < text.length; at += ENTRY) {
    if (text.startsWith(noteId, at)) return MODE[text[at + 6] as string];
  }
  return undefined;
}

/** The note with the site `noteId` recorded as `mode`. */
export function withHolder(note: Note, noteId: string, mode: HoldMode): Note {
  const text = note.entries;
  let out = '';
  for (let at = 0; at < text.length; at += ENTRY) if (!text.startsWith(noteId, at)) out += text.slice(at, at + ENTRY);
  return { ...note, entries: `${out}${noteId}${CODE[mode]}` };
}

/** True when every one of the sites is recorded (held or pushed): a loader then mints nothing. */
export function recordedAll(note: Note, noteIds: readonly string[]): boolean {
  return note.entries.length >= ENTRY * noteIds.length && noteIds.every((id) => holder(note, id) !== undefined);
}
