/**
 * Case 4: sealing and opening a token, in process, against the floor: a plain
 * AES-256-GCM seal and open of the same plaintext bytes with a prepared KeyObject. Ours is
 * the Sealer as the core uses it, each seal and open awaited (it answers promises on every
 * platform; on node:crypto nothing inside waits), so the ratio includes that cost.
 * Interleaved: each round times the floor and ours back to back.
 *
 * Beside it, the same on Web Crypto (src/core/platform/web.ts, what `#platform` is for on
 * runtimes without node:crypto): a plain AES-256-GCM seal and open with a prepared
 * CryptoKey, and the token format's steps (token.ts) around the Web implementation, each
 * seal and open awaited in turn, timed in a worker thread (bench/token-web.ts says why)
 * after the Node rounds, as ratios to the worker's own node:crypto floor of each round.
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { deriveKeys } from '../src/core/keys.ts';
import { Purpose, Sealer } from '../src/core/token.ts';
import { nodeFloor, timeAsync, timeLoop, tokenPayload } from './token-floor.ts';
import type { WebTokenResult } from './token-web.ts';

export interface TokenResult extends WebTokenResult {
  /** ns per seal+open, one value per round. */
  readonly floorNs: number[];
  readonly oursNs: number[];
  readonly ratios: number[];
}

const SECRET = 'sIzFNtMr6uC7YxlPS0EObQSgi2K6QOIuVwH0kxrnj/zxqnOK6exR6FNhOF8YaBWg';
/** Web Crypto's awaited calls are some times slower: fewer of them keep a round short. */
const WEB_SHARE = 5;

export async function benchToken(rounds: number, iterations: number): Promise<TokenResult> {
  const sealer = new Sealer(deriveKeys(SECRET));
  const floor = nodeFloor();
  const ours = async (): Promise<void> => {
    const opened = await sealer.open(Purpose.push, await sealer.seal(Purpose.push, tokenPayload()));
    if (!opened.ok) throw new Error('a fresh token did not open');
  };
  // Warm up every path (JIT, pools) before the first timed round.
  timeLoop(iterations, floor);
  await timeAsync(iterations, ours);
  const result = { floorNs: [] as number[], oursNs: [] as number[], ratios: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    const a = timeLoop(iterations, floor);
    const b = await timeAsync(iterations, ours);
    result.floorNs.push(a);
    result.oursNs.push(b);
    result.ratios.push(b / a);
  }
  const worker = new Worker(new URL('./token-web.ts', import.meta.url), { workerData: { secret: SECRET, rounds, iterations: Math.max(1, Math.floor(iterations / WEB_SHARE)) } });
  const [webResult] = (await once(worker, 'message')) as [WebTokenResult];
  await worker.terminate();
  return { ...result, ...webResult };
}
