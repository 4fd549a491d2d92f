/**
 * Case 4: sealing and opening a token, in process, against the floor: a plain
 * AES-256-GCM seal and open of the same plaintext bytes with a prepared KeyObject.
 * Interleaved: each round times the floor and ours back to back.
 *
 * Beside it, the same on Web Crypto (src/core/platform/web.ts, what `#platform` is for on
 * runtimes without node:crypto): a plain AES-256-GCM seal and open with a prepared
 * CryptoKey, and the token format's steps (token.ts) around the Web implementation, each
 * seal and open awaited in turn. Both as ratios to the node:crypto floor of their round.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes } from 'node:crypto';
import { KDF, deriveKeys } from '../src/core/keys.ts';
import { platform as web } from '../src/core/platform/web.ts';
import { randomBytesPooled, randomId } from '../src/core/random.ts';
import { Purpose, Sealer, encodePayload, hasKeyId, hourAt, joinToken, parseToken, readPayload, tokenHeader } from '../src/core/token.ts';

export interface TokenResult {
  /** ns per seal+open, one value per round. */
  readonly floorNs: number[];
  readonly oursNs: number[];
  readonly ratios: number[];
  /** Web Crypto: the plain AES-256-GCM seal+open, and shared-session's token steps on it; ratios to the node:crypto floor. */
  readonly webFloorNs: number[];
  readonly webFloorRatios: number[];
  readonly webOursNs: number[];
  readonly webOursRatios: number[];
}

const SECRET = 'sIzFNtMr6uC7YxlPS0EObQSgi2K6QOIuVwH0kxrnj/zxqnOK6exR6FNhOF8YaBWg';
/** Web Crypto's awaited calls are some times slower: fewer of them keep a round short. */
const WEB_SHARE = 5;

function timeLoop(iterations: number, run: () => void): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) run();
  return Number(process.hrtime.bigint() - started) / iterations;
}

async function timeAsync(iterations: number, run: () => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await run();
  return Number(process.hrtime.bigint() - started) / iterations;
}

/** A seal and an open with the Web implementation, as an asynchronous Sealer would take them: the hour's key prepared once. */
async function webSealer(): Promise<(purpose: Purpose, payload: object) => Promise<Record<string, unknown> | undefined>> {
  const secret = await web.secret(new TextEncoder().encode(SECRET));
  const id = await web.hkdf(secret, KDF.salt, KDF.idInfo, KDF.idLength);
  const hour = hourAt(Date.now());
  const key = await web.aesKey(await web.hkdf(secret, KDF.salt, KDF.hourInfo(hour), KDF.keyLength));
  return async (purpose, payload) => {
    const header = tokenHeader(purpose, id, hour, web);
    const iv = randomBytesPooled(12);
    const text = joinToken(header, iv, await web.seal(key, iv, header, encodePayload(payload, web)), web);
    const token = parseToken(purpose, text, hourAt(Date.now()), undefined, web);
    if (!token.ok || !hasKeyId(token, id)) return undefined;
    const plain = await web.open(key, token.iv, token.header, token.sealed);
    return plain && readPayload(plain);
  };
}

export async function benchToken(rounds: number, iterations: number): Promise<TokenResult> {
  const sealer = new Sealer(deriveKeys(SECRET));
  const origin = 'https://www.example-shop.com';
  const payload = () => ({ sid: 'Ppv8pOKjI62Pn6WHjo0yzg6w4yrAHjPJ', src: origin, dst: 'https://www.example-blog.de', iat: Date.now(), jti: randomId() });
  const plain = Buffer.from(JSON.stringify(payload()));
  const raw = randomBytes(32);
  const key = createSecretKey(raw);
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
  const cryptoKey = await web.aesKey(raw);
  const webFloor = async (): Promise<void> => {
    const iv = randomBytes(12);
    const sealed = await web.seal(cryptoKey, iv, aad, plain);
    if (!(await web.open(cryptoKey, iv, aad, sealed))) throw new Error('Web Crypto did not open its own seal');
  };
  const sealOpen = await webSealer();
  const webOurs = async (): Promise<void> => {
    if (!(await sealOpen(Purpose.push, payload()))) throw new Error('a fresh token did not open on Web Crypto');
  };
  const webIterations = Math.max(1, Math.floor(iterations / WEB_SHARE));
  // Warm up every path (JIT, pools) before the first timed round.
  timeLoop(iterations, floor);
  timeLoop(iterations, ours);
  await timeAsync(webIterations, webFloor);
  await timeAsync(webIterations, webOurs);
  const result: TokenResult = { floorNs: [], oursNs: [], ratios: [], webFloorNs: [], webFloorRatios: [], webOursNs: [], webOursRatios: [] };
  for (let round = 0; round < rounds; round++) {
    const a = timeLoop(iterations, floor);
    const b = timeLoop(iterations, ours);
    const c = await timeAsync(webIterations, webFloor);
    const d = await timeAsync(webIterations, webOurs);
    result.floorNs.push(a);
    result.oursNs.push(b);
    result.ratios.push(b / a);
    result.webFloorNs.push(c);
    result.webFloorRatios.push(c / a);
    result.webOursNs.push(d);
    result.webOursRatios.push(d / a);
  }
  return result;
}
