import type { Context } from './context.ts';
import type { FoundSession, RequestFacts, SessionPort } from './contract.ts';
import { storeFailure } from './errors.ts';
import type { Mechanism } from './events.ts';
import { linkCookie, linkCookieDue, linkState, newLinkKey, requestLinkCookie, type LinkCookie } from './link-cookie.ts';
import { parseRecord, serializeRecord, type LinkRecord } from './link-record.ts';
import { holder, readNote, withHolder, writeNote, type Note } from './note.ts';
import type { Site } from './sites.ts';

/**
 * The link: how every site follows one browser's session, and why a copy of a site's
 * cookies never follows it.
 *
 * A browser's life is a series of **epochs**. Each has a random **link key**; a session
 * belongs to at most one epoch, its key written in the session's note. Every change of
 * the browser's session on a site (a login, a logout, a first cart, a session that
 * replaced another) ends the epoch: that site writes, under the old key, "moved: ask me"
 * (a {@link LinkRecord}), starts a new epoch with a new key, and keeps the new key in its
 * own link cookie. Another site that reads "moved" learns nothing it can use: it must
 * *ask* the site named there, with a hop, and that site answers from its own cookies in
 * this browser. A copy of the cookies taken before the change asks with the copy's
 * cookies, and the answer is the copy's own state, never the new session.
 *
 * The steady state costs nothing: a site whose session is in an epoch, names it in its
 * note, and is not marked moved, does nothing at all. Every change either destroys that
 * record (logout, `regenerate()` at login) or marks it moved (a change on a site that did
 * not hold it), so the session middleware's own read of the record is the only check.
 *
 * An epoch ends once: the site that ends it first claims it (`claimOnce`), so two changes
 * made at the same moment on two sites cannot both start an epoch; the other one finds
 * the epoch moved on its next page load.
 *
 * This module decides what a page load does; hop.ts carries out the hops it asks for.
 */

/** What a page load needs: cookies to send, and maybe a hop to ask another site. */
export interface Sync {
  readonly cookies: readonly string[];
  readonly hop?: { readonly why: HopReason; readonly target: Site | undefined } | undefined;
}

/**
 * Why a site asks another: `discover` when it does not know the browser (it asks the sites
 * in chain order, the hub first); `confirm` when the browser's epoch moved on, or has a
 * session this site does not hold (it asks the site the record names); `change` when
 * this site has a new session of its own (a login, a first cart) made from no session,
 * but the epoch moved on meanwhile: it learns the current epoch, then ends it.
 */
export type HopReason = 'discover' | 'confirm' | 'change';

/** How long a return's mark may wait for the page it returns to (a browser closed meanwhile, say). */
const HOP_SETTLE_MS = 600_000;

/**
 * How long the claim that ends an epoch is kept. Two sites race to end an epoch only
 * between reading it as current and ending it, within one request; once it is ended its
 * record says so, and nobody tries again. Minutes are plenty, and keep the claims table small.
 */
const END_CLAIM_MS = 300_000;

/** True when this site's session is in an epoch, held here and not superseded: nothing to do. */
export function isSteady(session: SessionPort, here: Site): boolean {
  if (session.isEmpty()) return false;
  const note = readNote(session.readNote());
  return note.key !== undefined && !note.moved && holder(note, here.noteId) === 'held';
}

/** The current session's id, or '' when it is empty or absent. */
function currentId(session: SessionPort): string {
  return session.isEmpty() ? '' : (session.id ?? '');
}

/**
 * One page load of a site that is not in the steady state: compare this site's session,
 * its link cookie and the link record, and either settle here (a change, a logout, a
 * join) or ask for a hop. `cookies` are the request's.
 */
export async function syncPageLoad<Raw>(
  ctx: Context<Raw>,
  facts: RequestFacts<Raw>,
  here: Site,
  session: SessionPort,
  cookies: Readonly<Record<string, string | undefined>>,
): Promise<Sync> {
  const { config } = ctx;
  const links = new Links(ctx, here, session);
  const id = currentId(session);
  const note = readNote(session.readNote());
  const known = await requestLinkCookie(config, here, cookies);
  const out: string[] = [];
  const keep = async (state: LinkCookie | undefined): Promise<Sync> => {
    if (state === undefined) return { cookies: out };
    // A return's mark is for the page it returns to only: whatever this page decides, it goes.
    const next = state.hopped ? { ...state, hopped: false } : state;
    if (linkCookieDue(config, known, next)) out.push(await linkCookie(config, here, next));
    return { cookies: out };
  };
  const ask = async (why: HopReason, origin?: string): Promise<Sync> => {
    // One hop per navigation: the page a hop returns to is served as it is (once; the
    // flag goes with this page), so that no answer can send a browser round in circles.
    if (known?.hopped && Date.now() - known.writtenAt < HOP_SETTLE_MS) return keep(known);
    const named = origin === undefined ? undefined : config.sites.forOrigin(origin);
    return { cookies: out, hop: { why, target: named && named !== here ? named : undefined } };
  };

  if (id !== '' && note.key !== undefined) {
    if (!note.moved) {
      // A linked session this site holds by its cookie, not yet in the note: join it.
      session.writeNote(writeNote(withHolder(note, here.noteId, 'held')));
      return keep(linkState(note.key, id));
    }
    // Marked: a change on another site superseded this session.
    const record = await links.read(note.key);
    if (record?.kind === 'moved' && record.site !== here.origin) return ask('confirm', record.site);
    if (record?.kind === 'current' && record.sid === id) {
      // Not moved after all (the mark raced a change that was taken back): clear it.
      session.writeNote(writeNote(withHolder({ ...note, moved: false }, here.noteId, 'held')));
      return keep(linkState(note.key, id));
    }
    // Moved by this site, but not in this browser (a copy of its cookies made the change):
    // this session goes on in a new epoch of its own.
    return keep(linkState(await links.startEpoch(id, note, note.key), id));
  }

  if (!known) return ask('discover');
  const record = await links.read(known.key);

  if (record?.kind === 'moved') {
    if (record.site !== here.origin) {
      // The epoch moved on elsewhere. A session made here since from none (a login or a
      // first cart in a tab opened before) is applied on top of it; one that replaced a
      // session the move destroyed (a stale tab's write after a login elsewhere) is not.
      return ask(id !== '' && known.sid === '' ? 'change' : 'confirm', record.site);
    }
    // This site ended that epoch, yet this browser still names it: another browser, holding
    // a copy of these cookies, made that change. Fork: this browser goes on alone.
    if (id !== '') return keep(linkState(await links.startEpoch(id, note, known.key), id));
    return keep(linkState(newLinkKey(), ''));
  }
  const epochSid = record?.kind === 'current' ? record.sid : '';

  if (id !== '') {
    // Kept apart: this site's own session, older than the link; follow the epoch only when it moves.
    if (known.apart && known.sid === id) return keep(known);
    // A session new to the link: a login, a first cart, a session that replaced another.
    const key = await changeHere(ctx, here, session, { key: known.key, sid: epochSid });
    return keep(key === undefined ? undefined : linkState(key, id));
  }

  // No session here.
  const held = known.apart ? '' : known.sid;
  if (held !== '' && (epochSid === held || epochSid === '')) {
    // The session this site held in this epoch is gone from here. Still alive: this
    // site lost its cookie, ask for it back. Gone: a logout here (or its expiry).
    if (epochSid !== '' && (await links.isLive(epochSid))) return ask('confirm', record?.kind === 'current' ? record.site : undefined);
    if (!(await links.end(known.key))) return keep(undefined);
    return keep(linkState(newLinkKey(), ''));
  }
  if (epochSid !== '' && epochSid !== held && !known.asked) return ask('confirm', record?.kind === 'current' ? record.site : undefined);
  return keep(known);
}

/**
 * A change of the browser's session on this site: the current session, new to the link
 * (a login, a first cart, a session that replaced another), starts a new epoch. The epoch
 * it ends (`previous`, when this site knew one) is marked moved to this site, and that
 * epoch's session, if it is not the current one, is marked superseded. Resolves the new
 * key, or undefined when another site ended `previous` first (this change then waits for
 * the next page load, which finds the epoch moved).
 */
export async function changeHere<Raw>(
  ctx: Context<Raw>,
  here: Site,
  session: SessionPort,
  previous: { readonly key: string; readonly sid: string } | undefined,
): Promise<string | undefined> {
  const links = new Links(ctx, here, session);
  const id = currentId(session);
  if (previous && !(await links.end(previous.key))) return undefined;
  const key = await links.startEpoch(id, readNote(session.readNote()), previous?.key);
  if (previous && previous.sid !== '' && previous.sid !== id) await links.supersede(previous.sid);
  return key;
}

/** A browser-bound confirmation: what this browser holds at the site that answered. */
export interface Confirmation {
  readonly why: HopReason;
  /** The epoch's link key; undefined for a voucher (the session's own note gives it). */
  readonly key: string | undefined;
  /** The session this browser holds there; '' for none. */
  readonly sid: string;
  readonly source: Site;
  readonly mechanism: Extract<Mechanism, 'hop' | 'push'>;
  /**
   * For a voucher: the epoch this site is in. Its session is taken only when it belongs to
   * that epoch or to the one that followed it, so that a voucher planted in a browser by a
   * push of someone else's session (an attacker's script-destination request through a
   * `<link rel=preload as=script>` in user content, say) adopts nothing.
   */
  readonly epoch?: string | undefined;
}

/**
 * Take what a browser-bound confirmation says (a hop answer, or a push voucher): the
 * epoch `key` and the session `sid` this browser holds at the site that answered. Adopts
 * that session when this site's own allows (see below), and resolves this site's new link
 * state. Never adopts from anything but such a confirmation.
 *
 * - `discover` (this site did not know the browser): a non-empty session of its own is kept
 *   apart unless `alwaysReplace`, as the original package does;
 * - `confirm` (the epoch moved on, or has a session this site lacks): the epoch wins; a
 *   session created here meanwhile (a stale tab that wrote after a login elsewhere) is left;
 * - `change`: nothing is adopted; this site learns the current epoch, and its page load
 *   then ends it with its own session (see {@link syncPageLoad}).
 */
export async function applyConfirmation<Raw>(
  ctx: Context<Raw>,
  facts: RequestFacts<Raw>,
  here: Site,
  session: SessionPort,
  confirmation: Confirmation,
): Promise<LinkCookie | undefined> {
  const links = new Links(ctx, here, session);
  const id = currentId(session);
  const note = readNote(session.readNote());
  if (confirmation.why === 'change' && id !== '' && note.key === undefined) return confirmation.key === undefined ? undefined : linkState(confirmation.key, '');
  const found = confirmation.sid === '' ? undefined : await ctx.find(session, confirmation.sid);
  const targetNote = readNote(found?.readNote());
  const ofThisBrowser = confirmation.epoch === undefined || targetNote.key === confirmation.epoch || targetNote.previous === confirmation.epoch;
  const target = found && !found.isEmpty() && ofThisBrowser ? found : undefined;
  if (target) {
    const key = targetNote.key ?? confirmation.key;
    if (id === target.id) {
      // The note as the store has it now (the answering site may have just given this
      // session a new epoch), not as this request loaded it.
      session.writeNote(writeNote(withHolder(targetNote, here.noteId, 'held')));
      return key === undefined ? undefined : linkState(key, id);
    }
    // A session of this site's own is kept where the original package keeps it: when this
    // site did not know the browser, and against a push; never once a change elsewhere
    // superseded it, and never with alwaysReplace.
    const superseded = note.key !== undefined && note.moved;
    const ownKept = id !== '' && !superseded && !ctx.config.alwaysReplace && (confirmation.why === 'discover' || confirmation.mechanism === 'push');
    if (ownKept) return confirmation.key === undefined ? undefined : linkState(confirmation.key, id, { apart: true });
    adopt(ctx, facts, here, session, target, targetNote, confirmation.source, confirmation.mechanism, id === '');
    // The session this site leaves was superseded by the one it adopts: nobody follows it any more.
    if (superseded) await ctx.destroy(session, id);
    return key === undefined ? undefined : linkState(key, target.id);
  }
  if (confirmation.key === undefined) return undefined;
  if (id !== '' && note.key !== undefined && note.moved) {
    // Nothing to adopt: a superseded session of this site that the answer does not replace
    // (its "mover" was a copy of these cookies) goes on, in the answer's epoch, or in a new
    // one when that epoch has ended too (so that the copy's key never becomes current again).
    const ended = (await links.read(confirmation.key))?.kind === 'moved';
    return linkState(await links.startEpoch(id, note, note.key, ended ? undefined : confirmation.key), id);
  }
  return linkState(confirmation.key, '', { asked: true });
}

function adopt<Raw>(
  ctx: Context<Raw>,
  facts: RequestFacts<Raw>,
  here: Site,
  session: SessionPort,
  target: FoundSession,
  targetNote: Note,
  source: Site,
  mechanism: Extract<Mechanism, 'hop' | 'push'>,
  previousWasEmpty: boolean,
): void {
  target.adopt();
  session.writeNote(writeNote(withHolder(targetNote, here.noteId, 'held')));
  ctx.replaced({ mechanism, source: source.origin, destination: here.origin, previousWasEmpty }, facts);
}

/**
 * Of two keys a discovery race gave one browser (two first pages at once, each on a site
 * the other's chain ended at, so each minted a key), the one both sites pick: the one
 * with a record (an epoch that saw a change), else the smaller. Both sites read the same
 * store and so pick the same.
 */
export async function settleKeys<Raw>(ctx: Context<Raw>, session: SessionPort, mine: string, answered: string): Promise<string> {
  const sharing = ctx.sharing(session);
  const [a, b] = await Promise.all([sharing.readLink(mine), sharing.readLink(answered)]);
  if ((a === undefined) !== (b === undefined)) return a === undefined ? answered : mine;
  return mine < answered ? mine : answered;
}

/** The store side of the link, for one request. */
class Links<Raw> {
  readonly #ctx: Context<Raw>;
  readonly #here: Site;
  readonly #session: SessionPort;

  constructor(ctx: Context<Raw>, here: Site, session: SessionPort) {
    this.#ctx = ctx;
    this.#here = here;
    this.#session = session;
  }

  async read(key: string): Promise<LinkRecord | undefined> {
    return parseRecord(await this.#ctx.sharing(this.#session).readLink(key));
  }

  /**
   * A new epoch whose session is the current one (`sid`): its record, and its key in the
   * session's note with this site as holder. `previous` is the epoch it follows (a push
   * voucher is taken only by a site in one of the two); `key` reuses a given key (re-keying).
   */
  async startEpoch(sid: string, note: Note, previous: string | undefined, key = newLinkKey()): Promise<string> {
    await this.#write(key, { kind: 'current', sid, site: this.#here.origin });
    this.#session.writeNote(writeNote(withHolder({ ...note, key, previous, moved: false }, this.#here.noteId, 'held')));
    return key;
  }

  /**
   * End the epoch `key` at this site: whoever still names it asks this site. False when
   * another site ended it first (an epoch ends once: the first to claim it).
   */
  async end(key: string): Promise<boolean> {
    const sharing = this.#ctx.sharing(this.#session);
    if (!(await sharing.claimOnce(`end:${key}`, END_CLAIM_MS))) return false;
    await this.#write(key, { kind: 'moved', site: this.#here.origin });
    return true;
  }

  /**
   * Mark `sid`, the session of the epoch this site's change ended, as moved: the sites that
   * hold it in their steady state read only that record, so the mark is what tells them.
   */
  async supersede(sid: string): Promise<void> {
    const found = await this.#ctx.find(this.#session, sid);
    if (!found || found.isEmpty()) return;
    const note = readNote(found.readNote());
    if (note.moved) return;
    try {
      await found.writeNote(writeNote({ ...note, moved: true }));
    } catch (error) {
      throw storeFailure(error);
    }
  }

  async isLive(sid: string): Promise<boolean> {
    const found = await this.#ctx.find(this.#session, sid);
    return found !== undefined && !found.isEmpty();
  }

  #write(key: string, record: LinkRecord): Promise<void> {
    return this.#ctx.sharing(this.#session).writeLink(key, serializeRecord(record), this.#ctx.config.linkMaxAgeMs);
  }
}
