import type { Platform } from './types.ts';

/** Web Crypto's key handles (written so, the type resolves with the DOM lib and with Node's globals alike). */
export type Secret = InstanceType<typeof CryptoKey>;
export type Key = InstanceType<typeof CryptoKey>;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** `bytes` as base64url without padding (RFC 4648 §5), as `Buffer#toString('base64url')` writes it. */
export function base64url(bytes: Uint8Array): string {
  let text = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    text += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + ALPHABET[(n >>> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const left = bytes.length - i;
  if (left === 1) {
    const n = (bytes[i] as number) << 16;
    text += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]!;
  } else if (left === 2) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8);
    text += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + ALPHABET[(n >>> 6) & 63]!;
  }
  return text;
}

const VALUE = new Uint8Array(128);
for (let i = 0; i < ALPHABET.length; i++) VALUE[ALPHABET.charCodeAt(i)] = i;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// Web Crypto's signatures take ArrayBuffer-backed views only (not a SharedArrayBuffer's).
type Bytes = Uint8Array<ArrayBuffer>;
const bytes = (view: Uint8Array): Bytes => view as Bytes;

function fromBase64url(text: string): Uint8Array {
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let at = 0;
  let bits = 0;
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    bits = (bits << 6) | (VALUE[text.charCodeAt(i) & 127] as number);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out[at++] = (bits >>> count) & 255;
    }
  }
  return out.subarray(0, at);
}

/**
 * The platform everywhere but Node: Web Crypto (`crypto.subtle`, global in Deno, Bun,
 * Workers and browsers), asynchronous, with non-extractable CryptoKeys.
 */
export const platform: Platform<Secret, Key, 'async'> = {
  name: 'Web Crypto',
  sha256: async (data) => new Uint8Array(await crypto.subtle.digest('SHA-256', bytes(data))),
  secret: (data) => crypto.subtle.importKey('raw', bytes(data), 'HKDF', false, ['deriveBits']),
  hkdf: async (secret, salt, info, length) =>
    new Uint8Array(await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: bytes(salt), info: bytes(info) }, secret, length * 8)),
  aesKey: (data) => crypto.subtle.importKey('raw', bytes(data), 'AES-GCM', false, ['encrypt', 'decrypt']),
  seal: async (key, iv, aad, plaintext) =>
    new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: bytes(iv), additionalData: bytes(aad), tagLength: 128 }, key, bytes(plaintext))),
  async open(key, iv, aad, sealed) {
    try {
      return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: bytes(iv), additionalData: bytes(aad), tagLength: 128 }, key, bytes(sealed)));
    } catch {
      return undefined;
    }
  },
  equal(a, b) {
    if (a.length !== b.length) return false;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
    return diff === 0;
  },
  base64url,
  fromBase64url,
  utf8: (text) => encoder.encode(text),
  fromUtf8: (bytes) => decoder.decode(bytes),
  allocate: (size) => new Uint8Array(size),
};
