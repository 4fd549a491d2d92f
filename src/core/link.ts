import type { RequestFacts, SessionPort } from './contract.ts';
import { coreCookie, cookieNames } from './cookies.ts';
import type { Mechanism } from './events.ts';
import { withHolder } from './note.ts';
import type { Config } from './options.ts';
import { randomId } from './random.ts';
import type { SharedSession } from './shared-session.ts';
import type { Site } from './sites.ts';
import { Purpose } from './token.ts';

/**
 * The link: how every site follows one browser's session without a redirect after the
 * first. The hub gives each browser a random id (`bid`) once; each site keeps it in its
 * own sealed first-party cookie together with `seen`, the session id this site last
 * agreed with the link. The shared store maps `bid` to the browser's current session.
 *
 * On a page load a site compares its session, `seen` and the link record:
 * - its session changed since it last agreed (a login or a first cart here): it writes
 *   the link, so every other site follows on its next page load;
 * - the link moved on (a login elsewhere) or its own session ended (a logout anywhere
 *   destroys the one shared record): it adopts the linked session, if that still exists.
 * A site never throws away a session of its own that it has not agreed on, unless
 * `alwaysReplace`: the original package's rule for an empty session, kept.
 */
export interface LinkState {
  /** The browser's id, 32 random bytes. */
  readonly bid: string;
  /** The session id this site last agreed with the link ('' for none). */
  readonly seen: string;
  /**
   * The linked session this site declined to adopt, to keep `seen`, its own older session
   * (see {@link syncLink}); undefined when it declined nothing. While the link still names
   * it and this site's session is still `seen`, both stay as they are.
   */
  readonly declined?: string | undefined;
  /** When this site last wrote its link cookie, ms since the epoch; undefined for a new state or an older cookie. */
  readonly writtenAt?: number | undefined;
}

interface LinkRecord {
  readonly sid: string;
  /** The origin of the site that wrote it. */
  readonly site: string;
}

const BID = /^[A-Za-z0-9_-]{43}$/;

/** A new browser id, minted by the hub. */
export function newLink(): LinkState {
  return { bid: randomId(32), seen: '' };
}

/** This site's link cookie, opened; undefined when absent or not ours (a stale secret, a forgery). */
export function openLinkCookie(config: Config, value: string | undefined): LinkState | undefined {
  if (value === undefined) return undefined;
  const opened = config.sealer.open(Purpose.link, value);
  if (!opened.ok) return undefined;
  const { b, s, d, t } = opened.payload;
  if (typeof b !== 'string' || !BID.test(b) || typeof s !== 'string') return undefined;
  return { bid: b, seen: s, declined: typeof d === 'string' ? d : undefined, writtenAt: typeof t === 'number' ? t * 1000 : undefined };
}

/**
 * True when this site's link cookie must be written: it would say something else, or it
 * is past half its lifetime (a visitor who comes back keeps the link for good, not
 * `linkMaxAgeSeconds` after its last change).
 */
export function linkChanged(config: Config, known: LinkState | undefined, next: LinkState, now = Date.now()): boolean {
  return known === undefined || known.bid !== next.bid || known.seen !== next.seen || known.declined !== next.declined || isAging(config, known, now);
}

function isAging(config: Config, link: LinkState, now: number): boolean {
  return link.writtenAt === undefined || now - link.writtenAt > config.linkMaxAgeMs / 2;
}

/** The Set-Cookie value that stores `link` on `site`. */
export function linkCookie(config: Config, site: Site, link: LinkState): string {
  // `t`, in seconds, tells when to write the cookie again (see linkChanged).
  const payload = { b: link.bid, s: link.seen, t: Math.floor(Date.now() / 1000), ...(link.declined === undefined ? {} : { d: link.declined }) };
  return coreCookie(site, cookieNames(site).link, config.sealer.seal(Purpose.link, payload), config.linkMaxAgeMs / 1000);
}

function parseRecord(value: string | undefined): LinkRecord | undefined {
  if (value === undefined) return undefined;
  try {
    const record = JSON.parse(value) as Partial<LinkRecord>;
    return typeof record.sid === 'string' && typeof record.site === 'string' ? { sid: record.sid, site: record.site } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Bring this site's session and the browser's link into agreement (see {@link LinkState}).
 * Resolves the new state; the caller stores it when `seen` changed. `firstSync` is true
 * right after this site learned the browser id, when its own session predates the link.
 */
export async function syncLink<Raw>(
  core: SharedSession<Raw>,
  facts: RequestFacts<Raw>,
  here: Site,
  session: SessionPort,
  link: LinkState,
  firstSync: boolean,
  mechanism: Extract<Mechanism, 'hop' | 'link'>,
): Promise<LinkState> {
  const { config } = core;
  const store = core.sharing(session);
  const current = session.isEmpty() ? '' : (session.id ?? '');
  const record = parseRecord(await store.readLink(link.bid));
  const linked = record?.sid ?? '';
  const agreed = (seen: string): LinkState => ({ bid: link.bid, seen });
  const write = async (sid: string): Promise<LinkState> => {
    await store.writeLink(link.bid, JSON.stringify({ sid, site: here.origin }), config.linkMaxAgeMs);
    return agreed(sid);
  };

  if (current === linked) {
    // The record lives as long as the cookies: renewed with them, past half its lifetime.
    if (current !== '' && isAging(config, link, Date.now())) return write(current);
    return agreed(current);
  }
  // This site kept its own session apart from this linked one before: nothing changed since.
  if (link.declined !== undefined && linked === link.declined && current === link.seen) return link;
  // This site's session is new to the link: a login or a first cart here.
  const localChange = current !== '' && current !== link.seen;
  if (localChange && !firstSync) return write(current);
  const target = linked === '' ? undefined : await core.find(session, linked);
  const live = target && !target.isEmpty() ? target : undefined;
  if (localChange) {
    // Right after the first hop this site's session may simply predate the link: then a
    // live linked session is another session of the visitor's, kept apart unless
    // alwaysReplace, as the original does for non-empty sessions. The cookie remembers the
    // declined session, so the next page load does not adopt it after all; a later login
    // or logout anywhere moves the link on, and this site follows that as usual.
    if (!live) return write(current);
    if (!config.alwaysReplace) return { bid: link.bid, seen: current, declined: linked };
  }
  if (live) {
    const previousWasEmpty = current === '';
    live.adopt('first-party');
    session.writeNote(withHolder(session.readNote(), here, 'first-party'));
    core.emit('sessionReplaced', { request: facts.raw, mechanism, source: record?.site ?? config.hub.origin, destination: here.origin, previousWasEmpty });
    return agreed(live.id);
  }
  // The linked session is gone (a logout somewhere) or empty.
  if (current !== '') return write(current);
  return linked === '' ? agreed('') : write('');
}
