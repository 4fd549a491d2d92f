import { isLinkKey, isSid } from './link-cookie.ts';
import type { Config } from './options.ts';
import type { RejectReason } from './reasons.ts';
import type { Site } from './sites.ts';
import { Purpose } from './token.ts';

/**
 * The sealed messages the sites exchange through the browser, opened and checked in one
 * place, in the order docs/PROTOCOL.md gives: the token itself (length, encoding,
 * version, purpose, authentication), then the claims every addressed message carries
 * (destination, source, age), then the fields of its kind. Untrusted input never throws:
 * it yields a reason.
 */

/** The push token, in a `<script src>` of the source site's page: a session id for one destination. */
export interface PushMessage {
  readonly source: Site;
  readonly iat: number;
  readonly jti: string;
  readonly sid: string;
}

/** A query: "who is this browser at your site?", from `source` (the asking site), possibly forwarded. */
export interface QueryMessage {
  readonly source: Site;
  readonly iat: number;
  /** The state cookie's name suffix at the asking site. */
  readonly hid: string;
  /** The state only the asking browser's state cookie holds. */
  readonly st: string;
  /** Note ids of the sites already asked, the asking site first. */
  readonly via: readonly string[];
  /** The page the visitor asked for on the asking site (a same-origin path, checked there). */
  readonly ret: string;
}

/** The answer to a query: the answering site's epoch key and session in this browser. */
export interface AnswerMessage {
  readonly source: Site;
  readonly iat: number;
  readonly jti: string;
  readonly hid: string;
  readonly st: string;
  /** The epoch's link key. */
  readonly key: string;
  /** The session this browser holds at the answering site in that epoch; '' for none. */
  readonly sid: string;
  /** The query's `ret`, carried back. */
  readonly ret: string;
}

/** The push's voucher cookie: a session id this browser accepted through a script load from `source`. */
export interface VoucherMessage {
  readonly source: Site;
  readonly iat: number;
  readonly sid: string;
}

/**
 * An opened message, or why not. A refused message that was authentic and named a
 * configured source says so (`source`), so that a refused hop can send the visitor back there.
 */
export type Opened<T> =
  | { readonly ok: true; readonly message: T; readonly keyIndex: number }
  | { readonly ok: false; readonly reason: RejectReason; readonly source?: Site | undefined };

/** An answer lives seconds: the browser presents it at once, on the redirect that carries it. */
export const ANSWER_LIFETIME_MS = 10_000;
/** A voucher lives until the visitor's next page load on its site, at most this long. */
export const VOUCHER_LIFETIME_MS = 3_600_000;

const HID = /^[A-Za-z0-9_-]{8}$/;
const STATE = /^[A-Za-z0-9_-]{22}$/;
const JTI = /^[A-Za-z0-9_-]{22}$/;
const NOTE_ID = /^[A-Za-z0-9_-]{6}$/;

/** How long each addressed kind is accepted after `iat`. */
function lifetime(config: Config, purpose: Purpose): number {
  if (purpose === Purpose.answer) return Math.min(config.timeoutMs, ANSWER_LIFETIME_MS);
  if (purpose === Purpose.voucher) return VOUCHER_LIFETIME_MS;
  return config.timeoutMs;
}

/** Milliseconds a used token id must stay claimed: as long as the token could still be accepted. */
export function claimTtl(config: Config, purpose: Purpose): number {
  return lifetime(config, purpose) + 2 * config.skewMs;
}

/**
 * Open a sealed value of `purpose` addressed to `here`: checks, in order, the token, that
 * it names `here` as destination, a configured site other than `here` as source, and its age.
 */
async function openAddressed(
  config: Config,
  purpose: Purpose,
  text: string,
  here: Site,
  now: number,
): Promise<{ ok: true; payload: Record<string, unknown>; source: Site; iat: number; keyIndex: number } | { ok: false; reason: RejectReason; source?: Site | undefined }> {
  const opened = await config.sealer.open(purpose, text);
  if (!opened.ok) return opened;
  const { src, dst, iat } = opened.payload;
  // Authentic payloads are ours; a missing field means a format slip between versions.
  if (typeof src !== 'string' || typeof dst !== 'string' || typeof iat !== 'number' || !Number.isFinite(iat)) return { ok: false, reason: 'TOKEN_VERSION' };
  const named = config.sites.forOrigin(src);
  const source = named === here ? undefined : named;
  if (dst !== here.origin) return { ok: false, reason: 'WRONG_DESTINATION', source };
  if (!source) return { ok: false, reason: 'UNKNOWN_SOURCE' };
  if (iat - now > config.skewMs) return { ok: false, reason: 'TOKEN_FROM_FUTURE', source };
  if (now - iat > lifetime(config, purpose)) return { ok: false, reason: 'TOKEN_EXPIRED', source };
  return { ok: true, payload: opened.payload, source, iat, keyIndex: opened.keyIndex };
}

export async function openPush(config: Config, text: string, here: Site, now = Date.now()): Promise<Opened<PushMessage>> {
  const opened = await openAddressed(config, Purpose.push, text, here, now);
  if (!opened.ok) return opened;
  const { jti, sid } = opened.payload;
  if (typeof jti !== 'string' || !JTI.test(jti) || !isSid(sid) || sid === '') return { ok: false, reason: 'TOKEN_VERSION' };
  return { ok: true, message: { source: opened.source, iat: opened.iat, jti, sid }, keyIndex: opened.keyIndex };
}

export async function openQuery(config: Config, text: string, here: Site, now = Date.now()): Promise<Opened<QueryMessage>> {
  const opened = await openAddressed(config, Purpose.query, text, here, now);
  if (!opened.ok) return opened;
  const { hid, st, via, ret } = opened.payload;
  if (typeof hid !== 'string' || !HID.test(hid) || typeof st !== 'string' || !STATE.test(st) || !isReturnPath(ret)) return { ok: false, reason: 'TOKEN_VERSION', source: opened.source };
  if (!Array.isArray(via) || via.length > config.sites.all.length || !via.every((id) => typeof id === 'string' && NOTE_ID.test(id))) {
    return { ok: false, reason: 'TOKEN_VERSION', source: opened.source };
  }
  return { ok: true, message: { source: opened.source, iat: opened.iat, hid, st, ret, via: via as string[] }, keyIndex: opened.keyIndex };
}

export async function openAnswer(config: Config, text: string, here: Site, now = Date.now()): Promise<Opened<AnswerMessage>> {
  const opened = await openAddressed(config, Purpose.answer, text, here, now);
  if (!opened.ok) return opened;
  const { jti, hid, st, k, sid, ret } = opened.payload;
  if (typeof jti !== 'string' || !JTI.test(jti) || typeof hid !== 'string' || !HID.test(hid) || typeof st !== 'string' || !STATE.test(st)) {
    return { ok: false, reason: 'TOKEN_VERSION' };
  }
  if (!isLinkKey(k) || !isSid(sid) || !isReturnPath(ret)) return { ok: false, reason: 'TOKEN_VERSION' };
  return { ok: true, message: { source: opened.source, iat: opened.iat, jti, hid, st, key: k, sid, ret }, keyIndex: opened.keyIndex };
}

export async function openVoucher(config: Config, text: string, here: Site, now = Date.now()): Promise<Opened<VoucherMessage>> {
  const opened = await openAddressed(config, Purpose.voucher, text, here, now);
  if (!opened.ok) return opened;
  const { sid } = opened.payload;
  if (!isSid(sid) || sid === '') return { ok: false, reason: 'TOKEN_VERSION' };
  return { ok: true, message: { source: opened.source, iat: opened.iat, sid }, keyIndex: opened.keyIndex };
}

/** A page path as a query carries it (checked again, as a same-origin path, where it is used). */
function isReturnPath(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith('/') && value.length <= MAX_RETURN_PATH;
}

/** The longest page path (with query) that hops: the query and the answer stay under the 2 KB token limit. */
export const MAX_RETURN_PATH = 1024;

/** Seal a push token from `here` to `destination`. */
export function sealPush(config: Config, here: Site, destination: Site, sid: string, jti: string, now = Date.now()): Promise<string> {
  return config.sealer.seal(Purpose.push, { src: here.origin, dst: destination.origin, iat: now, jti, sid });
}

/** Seal a query from the asking site `asker` to `target`. */
export function sealQuery(config: Config, asker: Site, target: Site, query: Omit<QueryMessage, 'source'>): Promise<string> {
  return config.sealer.seal(Purpose.query, { src: asker.origin, dst: target.origin, iat: query.iat, hid: query.hid, st: query.st, ret: query.ret, via: query.via });
}

/** Seal the answer of `here` to the asking site. */
export function sealAnswer(config: Config, here: Site, asker: Site, answer: Omit<AnswerMessage, 'source'>): Promise<string> {
  return config.sealer.seal(Purpose.answer, { src: here.origin, dst: asker.origin, iat: answer.iat, jti: answer.jti, hid: answer.hid, st: answer.st, ret: answer.ret, k: answer.key, sid: answer.sid });
}

/** Seal a voucher for `here`, from a push of `source`. */
export function sealVoucher(config: Config, here: Site, source: Site, sid: string, now = Date.now()): Promise<string> {
  return config.sealer.seal(Purpose.voucher, { src: source.origin, dst: here.origin, iat: now, sid });
}
