/**
 * What both halves of the token case (bench/token.ts, bench/token-web.ts) share: the
 * payload sealed, the node:crypto floor every ratio is taken against, and the timing loop.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes } from 'node:crypto';
import { randomId } from '../src/core/random.ts';

const ORIGIN = 'https://www.example-shop.com';

/** A push payload as the core seals one. */
export const tokenPayload = (): Record<string, unknown> => ({ sid: 'Ppv8pOKjI62Pn6WHjo0yzg6w4yrAHjPJ', src: ORIGIN, dst: 'https://www.example-blog.de', iat: Date.now(), jti: randomId() });

/** The floor: a plain AES-256-GCM seal and open of a payload's bytes with a prepared KeyObject of `raw`. */
export function nodeFloor(raw: Uint8Array = randomBytes(32)): () => void {
  const plain = Buffer.from(JSON.stringify(tokenPayload()));
  const key = createSecretKey(raw);
  const aad = Buffer.alloc(10, 1);
  return () => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(aad);
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    const tag = cipher.getAuthTag();
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    decipher.update(body);
    decipher.final();
  };
}

/** ns per call of `run`, over `iterations` calls. */
export function timeLoop(iterations: number, run: () => void): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) run();
  return Number(process.hrtime.bigint() - started) / iterations;
}

/** ns per call of `run`, each awaited before the next (the Sealer answers promises, whatever the platform). */
export async function timeAsync(count: number, run: () => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await run();
  return Number(process.hrtime.bigint() - started) / count;
}
