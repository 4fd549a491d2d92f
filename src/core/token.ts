import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { Key } from './keys.ts';
import { randomBytesPooled } from './random.ts';
import type { RejectReason } from './reasons.ts';

/**
 * Wire format of every token, cookie value and hop message the library mints:
 *
 *   base64url( version:1 | purpose:1 | keyId:4 | iv:12 | ciphertext | tag:16 )
 *
 * AES-256-GCM under an HKDF-derived key; the first six bytes are authenticated as
 * associated data, so a token minted for one purpose can never be read as another.
 */
export const TOKEN_VERSION = 1;

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

const HEADER = 6;
const IV = 12;
const TAG = 16;
const MIN_BYTES = HEADER + IV + 2 + TAG; // the smallest JSON object, "{}", is 2 bytes
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Limit on a token's text: refused before any decoding. Keeps URLs well under every browser's and proxy's limit. */
export const MAX_TOKEN_LENGTH = 2048;

export type OpenResult =
  | { readonly ok: true; readonly payload: Record<string, unknown>; readonly keyIndex: number }
  | { readonly ok: false; readonly reason: RejectReason };

/** Seals with the newest key, opens with any of them. */
export class Sealer {
  readonly #keys: readonly Key[];

  constructor(keys: readonly Key[]) {
    if (keys.length === 0) throw new TypeError('Sealer needs at least one key');
    this.#keys = keys;
  }

  seal(purpose: Purpose, payload: object): string {
    const key = this.#keys[0] as Key;
    const plain = Buffer.from(JSON.stringify(payload), 'utf8');
    const out = Buffer.allocUnsafe(HEADER + IV + plain.length + TAG);
    out[0] = TOKEN_VERSION;
    out[1] = purpose;
    key.id.copy(out, 2);
    randomBytesPooled(IV).copy(out, HEADER);
    const cipher = createCipheriv('aes-256-gcm', key.aes, out.subarray(HEADER, HEADER + IV));
    cipher.setAAD(out.subarray(0, HEADER));
    const body = cipher.update(plain);
    body.copy(out, HEADER + IV);
    // GCM is a stream mode: final() yields no further bytes, so the layout above is exact.
    cipher.final();
    cipher.getAuthTag().copy(out, HEADER + IV + body.length);
    return out.toString('base64url');
  }

  /** Open a sealed value; untrusted input never throws, it yields a reason. */
  open(purpose: Purpose, text: string, maxLength = MAX_TOKEN_LENGTH): OpenResult {
    if (text.length > maxLength) return { ok: false, reason: 'TOKEN_TOO_LONG' };
    if (!BASE64URL.test(text)) return { ok: false, reason: 'TOKEN_MALFORMED' };
    const raw = Buffer.from(text, 'base64url');
    if (raw.length < MIN_BYTES) return { ok: false, reason: 'TOKEN_MALFORMED' };
    if (raw[0] !== TOKEN_VERSION || raw[1] !== purpose) return { ok: false, reason: 'TOKEN_VERSION' };
    const id = raw.subarray(2, HEADER);
    for (let index = 0; index < this.#keys.length; index++) {
      const key = this.#keys[index] as Key;
      if (!key.id.equals(id)) continue;
      const payload = decrypt(key, raw);
      if (payload) return { ok: true, payload, keyIndex: index };
    }
    return { ok: false, reason: 'TOKEN_INVALID' };
  }
}

function decrypt(key: Key, raw: Buffer): Record<string, unknown> | undefined {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.aes, raw.subarray(HEADER, HEADER + IV));
    decipher.setAAD(raw.subarray(0, HEADER));
    decipher.setAuthTag(raw.subarray(raw.length - TAG));
    const plain = decipher.update(raw.subarray(HEADER + IV, raw.length - TAG));
    decipher.final();
    const value: unknown = JSON.parse(plain.toString('utf8'));
    // Authentic bytes are our own JSON; the check guards against a future format slip, not an attacker.
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
