/**
 * Case 4: sealing and opening a token, in process, against the floor: a plain
 * AES-256-GCM seal and open of the same plaintext bytes with a prepared KeyObject.
 * Interleaved: each round times the floor and ours back to back.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes } from 'node:crypto';
import { deriveKeys } from '../src/core/keys.ts';
import { randomId } from '../src/core/random.ts';
import { Purpose, Sealer } from '../src/core/token.ts';

export interface TokenResult {
  /** ns per seal+open, one value per round. */
  readonly floorNs: number[];
  readonly oursNs: number[];
  readonly ratios: number[];
}

const SECRET = 'sIzFNtMr6uC7YxlPS0EObQSgi2K6QOIuVwH0kxrnj/zxqnOK6exR6FNhOF8YaBWg';

function timeLoop(iterations: number, run: () => void): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) run();
  return Number(process.hrtime.bigint() - started) / iterations;
}

export function benchToken(rounds: number, iterations: number): TokenResult {
  const sealer = new Sealer(deriveKeys(SECRET));
  const origin = 'https://www.example-shop.com';
  const payload = () => ({ sid: 'Ppv8pOKjI62Pn6WHjo0yzg6w4yrAHjPJ', src: origin, dst: 'https://www.example-blog.de', iat: Date.now(), jti: randomId() });
  const plain = Buffer.from(JSON.stringify(payload()));
  const key = createSecretKey(randomBytes(32));
  const aad = Buffer.alloc(10, 1);
  const floor = (): void => {
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
  const ours = (): void => {
    const opened = sealer.open(Purpose.push, sealer.seal(Purpose.push, payload()));
    if (!opened.ok) throw new Error('a fresh token did not open');
  };
  // Warm up both paths (JIT, pools) before the first timed round.
  timeLoop(iterations, floor);
  timeLoop(iterations, ours);
  const result: TokenResult = { floorNs: [], oursNs: [], ratios: [] };
  for (let round = 0; round < rounds; round++) {
    const a = timeLoop(iterations, floor);
    const b = timeLoop(iterations, ours);
    result.floorNs.push(a);
    result.oursNs.push(b);
    result.ratios.push(b / a);
  }
  return result;
}
