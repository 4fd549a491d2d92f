import { randomFillSync } from 'node:crypto';

// One getrandom() call per 8 KiB instead of one per token: a token needs 28 random
// bytes (IV + id), and the syscall dominated sealing in profiles.
const POOL_SIZE = 8192;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let offset = POOL_SIZE;

/** `size` fresh random bytes (a view into a pool; copy before keeping it beyond the current call). */
export function randomBytesPooled(size: number): Buffer {
  if (size > POOL_SIZE) throw new RangeError('randomBytesPooled: size exceeds the pool');
  if (offset + size > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const view = pool.subarray(offset, offset + size);
  offset += size;
  return view;
}

/** A random identifier of `bytes` bytes, base64url encoded. */
export function randomId(bytes = 16): string {
  return randomBytesPooled(bytes).toString('base64url');
}
