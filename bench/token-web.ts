/**
 * The Web Crypto half of the token case (bench/token.ts), in a worker thread of its own:
 * the token steps of token.ts take the platform's byte work as a parameter, and calling
 * them with the Web implementation in the same isolate as the node:crypto Sealer makes
 * those call sites polymorphic and slows the Node figure (measured: 1.2–1.6× the floor
 * instead of 0.9–1.0). One process only ever runs one platform. The worker times its own
 * node:crypto floor, so each Web figure is a ratio to a floor of its own round.
 */
import { randomBytes } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { KDF } from '../src/core/keys.ts';
import { platform as web } from '../src/core/platform/web.ts';
import { randomBytesPooled } from '../src/core/random.ts';
import { nodeFloor, timeAsync, timeLoop, tokenPayload } from './token-floor.ts';
import { Purpose, encodePayload, hasKeyId, hourAt, joinToken, parseToken, readPayload, tokenHeader } from '../src/core/token.ts';

export interface WebTokenResult {
  readonly webFloorNs: number[];
  readonly webFloorRatios: number[];
  readonly webOursNs: number[];
  readonly webOursRatios: number[];
}

const { secret: SECRET, rounds, iterations } = workerData as { secret: string; rounds: number; iterations: number };

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
    return plain && readPayload(plain, web);
  };
}

const plain = Buffer.from(JSON.stringify(tokenPayload()));
const raw = randomBytes(32);
const aad = Buffer.alloc(10, 1);
const floor = nodeFloor(raw);
const cryptoKey = await web.aesKey(raw);
const webFloor = async (): Promise<void> => {
  const iv = randomBytes(12);
  const sealed = await web.seal(cryptoKey, iv, aad, plain);
  if (!(await web.open(cryptoKey, iv, aad, sealed))) throw new Error('Web Crypto did not open its own seal');
};
const sealOpen = await webSealer();
const webOurs = async (): Promise<void> => {
  if (!(await sealOpen(Purpose.push, tokenPayload()))) throw new Error('a fresh token did not open on Web Crypto');
};

timeLoop(iterations, floor);
await timeAsync(iterations, webFloor);
await timeAsync(iterations, webOurs);
const result: WebTokenResult = { webFloorNs: [], webFloorRatios: [], webOursNs: [], webOursRatios: [] };
for (let round = 0; round < rounds; round++) {
  const a = timeLoop(iterations, floor);
  const c = await timeAsync(iterations, webFloor);
  const d = await timeAsync(iterations, webOurs);
  result.webFloorNs.push(c);
  result.webFloorRatios.push(c / a);
  result.webOursNs.push(d);
  result.webOursRatios.push(d / a);
}
parentPort?.postMessage(result);
