import { createCipheriv, createDecipheriv, createHash, createSecretKey, hkdfSync, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { Platform } from './types.ts';

/** node:crypto holds both kinds of key as a KeyObject. */
export type Secret = KeyObject;
export type Key = KeyObject;

/** The bytes as a Buffer: themselves when they are one (what this platform hands out), else a view. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The platform on Node: node:crypto, synchronous, with prepared KeyObjects and native
 * base64url. Measured against the Web Crypto implementation in bench/token.ts.
 */
export const platform: Platform<Secret, Key, 'sync'> = {
  name: 'node:crypto',
  sha256: (data) => createHash('sha256').update(data).digest(),
  secret: (bytes) => createSecretKey(bytes),
  hkdf: (secret, salt, info, length) => new Uint8Array(hkdfSync('sha256', secret, salt, info, length)),
  aesKey: (bytes) => createSecretKey(bytes),
  seal(key, iv, aad, plaintext) {
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(aad);
    const out = Buffer.allocUnsafe(plaintext.length + 16);
    // GCM is a stream mode: update() yields every byte, final() none.
    cipher.update(plaintext).copy(out);
    cipher.final();
    cipher.getAuthTag().copy(out, plaintext.length);
    return out;
  },
  open(key, iv, aad, sealed) {
    if (sealed.length < 16) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAAD(aad);
      decipher.setAuthTag(sealed.subarray(sealed.length - 16));
      const plain = decipher.update(sealed.subarray(0, sealed.length - 16));
      decipher.final();
      return plain;
    } catch {
      return undefined;
    }
  },
  equal: (a, b) => a.length === b.length && timingSafeEqual(a, b),
  base64url: (bytes) => asBuffer(bytes).toString('base64url'),
  fromBase64url: (text) => Buffer.from(text, 'base64url'),
  utf8: (text) => Buffer.from(text, 'utf8'),
  fromUtf8: (bytes) => asBuffer(bytes).toString('utf8'),
  allocate: (size) => Buffer.allocUnsafe(size),
};
