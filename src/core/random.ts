// One getRandomValues() call per 8 KiB instead of one per token: a token needs 28 random
// bytes (IV + id), and the system call dominated sealing in profiles. Web Crypto's
// getRandomValues (global in Node, Deno, Bun and Workers) fills at most 65,536 bytes a call.
const POOL_SIZE = 8192;
const pool = new Uint8Array(POOL_SIZE);
let offset = POOL_SIZE;

/** `size` fresh random bytes (a view into a pool; copy before keeping it beyond the current call). */
export function randomBytesPooled(size: number): Uint8Array {
  if (size > POOL_SIZE) throw new RangeError('randomBytesPooled: size exceeds the pool');
  if (offset + size > POOL_SIZE) {
    globalThis.crypto.getRandomValues(pool);
    offset = 0;
  }
  const view = pool.subarray(offset, offset + size);
  offset += size;
  return view;
}

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

/** A random identifier of `bytes` bytes, base64url encoded. */
export function randomId(bytes = 16): string {
  return base64url(randomBytesPooled(bytes));
}
