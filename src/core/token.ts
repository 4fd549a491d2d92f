import { platform as native, type Key, type Secret } from '#platform';
import { isPromise, type AnyPlatform, type Mode, type Platform } from './platform/types.ts';
import type { SecretKey } from './keys.ts';
import { randomBytesPooled } from './random.ts';
import type { RejectReason } from './reasons.ts';

/**
 * Wire format of every token, cookie value and hop message the library mints:
 *
 *   base64url( version:1 | purpose:1 | keyId:4 | hour:4 | iv:12 | ciphertext | tag:16 )
 *
 * AES-256-GCM under the key of the secret named by keyId for the hour named by hour
 * (uint32 big-endian, floor(unix ms / 3,600,000); see keys.ts); the first ten bytes are
 * authenticated as associated data, so a token minted for one purpose can never be read
 * as another. test/vectors/tokens.json holds worked examples.
 */
export const TOKEN_VERSION = 2;

// Either kind of platform: Web Crypto's answers are promises, node:crypto's are not (awaited only when they are one).
const platform: AnyPlatform<Secret, Key> = native;

/** What a sealed value is for. Part of the authenticated header: a value sealed for one purpose is never read as another. */
export const Purpose = {
  /** The script-tag push: carries a session id to one destination site. */
  push: 1,
  /** The hop: a site asks another who this browser is there (a query, forwarded along the chain). */
  query: 2,
  /** The hop: the single-use answer to one asking site and one browser. */
  answer: 3,
  /** The per-site link cookie: the browser epoch this site last agreed on. */
  link: 4,
  /** The per-site hop state cookie. */
  state: 5,
  /** The push's voucher cookie: a session id this browser accepted through a script load. */
  voucher: 6,
} as const;
export type Purpose = (typeof Purpose)[keyof typeof Purpose];

const HEADER = 10;
const HOUR_AT = 6;
const IV = 12;
const TAG = 16;
const MIN_BYTES = HEADER + IV + 2 + TAG; // the smallest JSON object, "{}", is 2 bytes
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const HOUR_MS = 3_600_000;
/** A server whose clock runs ahead seals in the next hour before the others reach it. */
const MAX_HOURS_AHEAD = 1;
/** The longest-lived sealed value is a cookie, and browsers keep none past 400 days (RFC 6265bis); plus the hour it was sealed in. */
const MAX_HOURS_BEHIND = 400 * 24 + 1;

/** Limit on a token's text: refused before any decoding. Keeps URLs well under every browser's and proxy's limit. */
export const MAX_TOKEN_LENGTH = 2048;

export type OpenResult =
  | { readonly ok: true; readonly payload: Record<string, unknown>; readonly keyIndex: number }
  | { readonly ok: false; readonly reason: RejectReason };

/** The hour of a time in unix milliseconds, as the token header carries it. */
export function hourAt(ms: number): number {
  return Math.floor(ms / HOUR_MS);
}

/**
 * Seals with the newest secret and the current hour's key, opens with any secret and any
 * hour a token may still be in use. Both answer a promise, as Web Crypto does; on
 * node:crypto nothing inside waits (the first call only awaits the keys' preparation when
 * a Web Crypto platform has not finished it yet).
 */
export class Sealer {
  readonly #keys: readonly SecretKey[];
  readonly #now: () => number;
  #ready: Promise<void> | undefined;

  /** `now` is the clock, unix milliseconds: tests and vectors fix it. */
  constructor(keys: readonly SecretKey[], now: () => number = Date.now) {
    if (keys.length === 0) throw new TypeError('Sealer needs at least one key');
    this.#keys = keys;
    this.#now = now;
    const pending = keys.map((key) => key.ready).filter((ready) => ready !== undefined);
    if (pending.length > 0) {
      this.#ready = Promise.all(pending).then(() => {
        this.#ready = undefined;
      });
      this.#ready.catch(() => undefined);
    }
  }

  /** Undefined once every key is prepared (at once on a synchronous platform), else their preparation. */
  get ready(): Promise<void> | undefined {
    return this.#ready;
  }

  seal(purpose: Purpose, payload: object): Promise<string> {
    // Not an async function: returning sealToken's promise from one would cost another promise and its ticks on every seal.
    if (this.#ready) return this.#ready.then(() => this.seal(purpose, payload));
    return sealToken(this.#keys[0] as SecretKey, hourAt(this.#now()), purpose, payload, randomBytesPooled(IV));
  }

  /** Open a sealed value; untrusted input never throws (nor rejects), it yields a reason. */
  async open(purpose: Purpose, text: string, maxLength = MAX_TOKEN_LENGTH): Promise<OpenResult> {
    const token = parseToken(purpose, text, hourAt(this.#now()), maxLength);
    if (!token.ok) return token;
    if (this.#ready) await this.#ready;
    for (let index = 0; index < this.#keys.length; index++) {
      const key = this.#keys[index] as SecretKey;
      if (!hasKeyId(token, key.id)) continue;
      let hourKey = key.forHour(token.hour);
      if (isPromise(hourKey)) hourKey = await hourKey;
      let plain = platform.open(hourKey, token.iv, token.header, token.sealed);
      if (isPromise(plain)) plain = await plain;
      const payload = plain && readPayload(plain);
      if (payload) return { ok: true, payload, keyIndex: index };
    }
    return { ok: false, reason: 'TOKEN_INVALID' };
  }
}

/**
 * The seal itself, with the hour and the IV given: {@link Sealer.seal} passes the current
 * hour and a random IV, the test vectors fixed ones. Internal (src/index.ts does not
 * export it): an IV used twice under one hour's key gives away GCM's authentication key.
 * The key must be prepared (its `ready` settled).
 */
export async function sealToken(key: SecretKey, hour: number, purpose: Purpose, payload: object, iv: Uint8Array): Promise<string> {
  if (iv.length !== IV) throw new RangeError(`sealToken: the IV must be ${IV} bytes`);
  const header = tokenHeader(purpose, key.id, hour);
  let hourKey = key.forHour(hour);
  if (isPromise(hourKey)) hourKey = await hourKey;
  let sealed = platform.seal(hourKey, iv, header, encodePayload(payload));
  if (isPromise(sealed)) sealed = await sealed;
  return joinToken(header, iv, sealed);
}

/*
 * The format's steps around the cipher, shared by the Sealer (on `#platform`) and by the
 * tests that seal and open the vectors with each platform implementation explicitly.
 */

/** The byte work around the cipher, as a platform does it (node:crypto's Buffer is several times faster at it than the portable way). */
export type Codec = Pick<Platform<unknown, unknown, Mode>, 'base64url' | 'fromBase64url' | 'utf8' | 'fromUtf8' | 'allocate'>;

/** A token taken apart, before any key is tried. */
export interface TokenParts {
  readonly ok: true;
  readonly hour: number;
  /** The authenticated header (AAD): version, purpose, key id, hour. */
  readonly header: Uint8Array;
  readonly iv: Uint8Array;
  /** Ciphertext and tag. */
  readonly sealed: Uint8Array;
}


/** The payload's bytes: its JSON, UTF-8. */
export function encodePayload(payload: object, codec: Codec = platform): Uint8Array {
  return codec.utf8(JSON.stringify(payload));
}

/** The authenticated header: version, purpose, key id, hour (uint32 big-endian). */
export function tokenHeader(purpose: Purpose, keyId: Uint8Array, hour: number, codec: Codec = platform): Uint8Array {
  const header = codec.allocate(HEADER);
  header[0] = TOKEN_VERSION;
  header[1] = purpose;
  header.set(keyId, 2);
  header[HOUR_AT] = hour >>> 24;
  header[HOUR_AT + 1] = (hour >>> 16) & 255;
  header[HOUR_AT + 2] = (hour >>> 8) & 255;
  header[HOUR_AT + 3] = hour & 255;
  return header;
}

/** header | iv | ciphertext and tag, as base64url text. */
export function joinToken(header: Uint8Array, iv: Uint8Array, sealed: Uint8Array, codec: Codec = platform): string {
  const out = codec.allocate(HEADER + IV + sealed.length);
  out.set(header);
  out.set(iv, HEADER);
  out.set(sealed, HEADER + IV);
  return codec.base64url(out);
}

/**
 * A token's parts, or why it is refused before any key is tried: too long, not base64url,
 * too short, another version or purpose, or an hour no token in use can carry.
 */
export function parseToken(purpose: Purpose, text: string, nowHour: number, maxLength = MAX_TOKEN_LENGTH, codec: Codec = platform): TokenParts | { readonly ok: false; readonly reason: RejectReason } {
  if (text.length > maxLength) return { ok: false, reason: 'TOKEN_TOO_LONG' };
  if (!BASE64URL.test(text)) return { ok: false, reason: 'TOKEN_MALFORMED' };
  const raw = codec.fromBase64url(text);
  if (raw.length < MIN_BYTES) return { ok: false, reason: 'TOKEN_MALFORMED' };
  if (raw[0] !== TOKEN_VERSION || raw[1] !== purpose) return { ok: false, reason: 'TOKEN_VERSION' };
  const hour = (((raw[HOUR_AT] as number) << 24) | ((raw[HOUR_AT + 1] as number) << 16) | ((raw[HOUR_AT + 2] as number) << 8) | (raw[HOUR_AT + 3] as number)) >>> 0;
  // Before any key is derived: otherwise a forged header could make the server derive keys at will.
  if (hour > nowHour + MAX_HOURS_AHEAD || hour < nowHour - MAX_HOURS_BEHIND) return { ok: false, reason: 'TOKEN_INVALID' };
  return { ok: true, hour, header: raw.subarray(0, HEADER), iv: raw.subarray(HEADER, HEADER + IV), sealed: raw.subarray(HEADER + IV) };
}

/** Whether the token names `id` as its key id (header bytes 2–5; public, so compared plainly). */
export function hasKeyId(token: TokenParts, id: Uint8Array): boolean {
  for (let i = 0; i < id.length; i++) if (token.header[2 + i] !== id[i]) return false;
  return true;
}

/** The payload of authentic plaintext, or undefined if it is not a JSON object. */
export function readPayload(plain: Uint8Array, codec: Codec = platform): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(codec.fromUtf8(plain));
    // Authentic bytes are our own JSON; the check guards against a future format slip, not an attacker.
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
