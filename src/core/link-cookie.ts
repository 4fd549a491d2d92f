import { coreCookie, cookieNames } from './cookies.ts';
import type { Config } from './options.ts';
import { randomId } from './random.ts';
import type { Site } from './sites.ts';
import { Purpose } from './token.ts';

/**
 * This site's link cookie: which epoch of the browser this site last agreed on, and with
 * which session. Sealed, first-party, `HttpOnly`, `SameSite=Lax`, `__Host-` on https.
 */
export interface LinkCookie {
  /** The link key of the epoch (22 base64url characters). */
  readonly key: string;
  /** The session id this site agreed on in that epoch; '' for none. */
  readonly sid: string;
  /** True when `sid` is this site's own session, kept apart from the epoch's (see sync.ts). */
  readonly apart: boolean;
  /** True when this site already asked about this epoch and learned nothing to adopt: it does not ask again. */
  readonly asked: boolean;
  /** True when a hop's return wrote the cookie: the page right after it does not hop again. */
  readonly hopped: boolean;
  /** When the cookie was written, ms since the epoch (0 for a state not written yet). */
  readonly writtenAt: number;
}

const KEY = /^[A-Za-z0-9_-]{22}$/;
/** Session ids travel sealed; anything longer than this is not one of ours. */
export const MAX_SID_LENGTH = 256;

/** A fresh link key: 16 random bytes. */
export function newLinkKey(): string {
  return randomId(16);
}

/** True for a string shaped like a link key. */
export function isLinkKey(value: unknown): value is string {
  return typeof value === 'string' && KEY.test(value);
}

/** True for a session id as the protocol carries it: '' (none) or a short string. */
export function isSid(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_SID_LENGTH;
}

/** The request's link cookie of `site`, opened; see {@link openLinkCookie}. */
export function requestLinkCookie(config: Config, site: Site, cookies: Readonly<Record<string, string | undefined>>, now = Date.now()): Promise<LinkCookie | undefined> {
  return openLinkCookie(config, site, cookies[cookieNames(site).link], now);
}

/**
 * A link cookie of `site`, opened; undefined when absent, not ours (another secret, a
 * forgery), written by another site (a copy moved into this site's jar), or older than
 * `linkMaxAgeSeconds`, which the server enforces: a cookie that says it was written longer
 * ago is not accepted, whatever the browser kept.
 */
export async function openLinkCookie(config: Config, site: Site, value: string | undefined, now = Date.now()): Promise<LinkCookie | undefined> {
  if (value === undefined) return undefined;
  const opened = await config.sealer.open(Purpose.link, value);
  if (!opened.ok) return undefined;
  const { k, s, a, q, h, t, w } = opened.payload;
  if (w !== site.noteId || !isLinkKey(k) || !isSid(s) || typeof t !== 'number' || !Number.isFinite(t)) return undefined;
  const writtenAt = t * 1000;
  if (now - writtenAt > config.linkMaxAgeMs || writtenAt - now > config.skewMs) return undefined;
  return { key: k, sid: s, apart: a === 1, asked: q === 1, hopped: h === 1, writtenAt };
}

/** A link state to write. */
export function linkState(key: string, sid: string, flags: { apart?: boolean; asked?: boolean; hopped?: boolean } = {}): LinkCookie {
  return { key, sid, apart: flags.apart ?? false, asked: flags.asked ?? false, hopped: flags.hopped ?? false, writtenAt: 0 };
}

/** True when `next` says something else than `known`, or `known` is past half its lifetime. */
export function linkCookieDue(config: Config, known: LinkCookie | undefined, next: LinkCookie, now = Date.now()): boolean {
  return (
    known === undefined ||
    known.key !== next.key ||
    known.sid !== next.sid ||
    known.apart !== next.apart ||
    known.asked !== next.asked ||
    known.hopped !== next.hopped ||
    now - known.writtenAt > config.linkMaxAgeMs / 2
  );
}

/** The Set-Cookie value that stores `link` on `site`. */
export async function linkCookie(config: Config, site: Site, link: LinkCookie, now = Date.now()): Promise<string> {
  const payload = { w: site.noteId, k: link.key, s: link.sid, t: Math.floor(now / 1000), ...(link.apart ? { a: 1 } : {}), ...(link.asked ? { q: 1 } : {}), ...(link.hopped ? { h: 1 } : {}) };
  return coreCookie(site, cookieNames(site).link, await config.sealer.seal(Purpose.link, payload), config.linkMaxAgeMs / 1000);
}
