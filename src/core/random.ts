import { platform } from '#platform';

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

/** A random identifier of `bytes` bytes, base64url encoded. */
export function randomId(bytes = 16): string {
  return platform.base64url(randomBytesPooled(bytes));
}
