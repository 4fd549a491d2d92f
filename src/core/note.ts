import { createHash } from 'node:crypto';
import type { Site } from './sites.ts';

/**
 * How a site came to hold a session: `first-party` (its own, or adopted on a top-level
 * visit), `cross-site` (set by the script push, still `SameSite=None`), `pushed` (set by
 * the push, since repaired to the site's own cookie settings).
 */
export type HoldMode = 'first-party' | 'cross-site' | 'pushed';

/**
 * What the core keeps inside a shared session record: which sites hold the session and
 * how their cookie got there. It lets the loader mint nothing once every site holds the
 * session, lets a site replace a cross-site cookie (`SameSite=None`, forced by the script
 * push) with its own settings on the next top-level visit, and spares a pushed session a hop.
 *
 * Stored as one short string, `1` then 7 characters per site: the site's note id (6
 * characters derived from its origin, so every app names a site alike whatever the order
 * of its `sites`) and a mode letter. express-session parses and hashes the whole record
 * twice per request: an object of full origins cost more than all the rest of the
 * middleware, measured in instructions per request.
 */
export const NOTE_KEY = '__sharedSession';

const FORMAT = '1';
const ENTRY = 7;
const CODE: Readonly<Record<HoldMode, string>> = { 'first-party': 'f', 'cross-site': 'x', pushed: 'p' };
const MODE: Readonly<Record<string, HoldMode>> = { f: 'first-party', x: 'cross-site', p: 'pushed' };

/** The 6-character id a note names `origin` by. */
export function noteIdOf(origin: string): string {
  return createHash('sha256').update(origin).digest('base64url').slice(0, 6);
}

function entries(note: unknown): string {
  return typeof note === 'string' && note.startsWith(FORMAT) && (note.length - 1) % ENTRY === 0 ? note : FORMAT;
}

/** How `site` holds the session, by the note (anything unexpected in the shared record counts as nothing). */
export function holder(note: unknown, site: Site): HoldMode | undefined {
  const text = entries(note);
  for (let at = 1; at < text.length; at += ENTRY) {
    if (text.startsWith(site.noteId, at)) return MODE[text[at + 6] as string];
  }
  return undefined;
}

/** The note with `site` recorded as holding the session via `mode`. */
export function withHolder(note: unknown, site: Site, mode: HoldMode): string {
  const text = entries(note);
  let out = FORMAT;
  for (let at = 1; at < text.length; at += ENTRY) if (!text.startsWith(site.noteId, at)) out += text.slice(at, at + ENTRY);
  return `${out}${site.noteId}${CODE[mode]}`;
}

/** True when every one of `sites` holds the session: the steady state, in which a loader mints nothing. */
export function heldByAll(note: unknown, sites: readonly Site[]): boolean {
  return typeof note === 'string' && note.length >= 1 + ENTRY * sites.length && sites.every((site) => holder(note, site) !== undefined);
}

/** True when the site got this session from the script push (and so needs no hop for it). */
export function arrivedByPush(note: unknown, site: Site): boolean {
  const mode = holder(note, site);
  return mode === 'cross-site' || mode === 'pushed';
}
