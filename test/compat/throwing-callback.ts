/**
 * Child process of the compatibility suite: opens the store of the spec (argv[2], JSON),
 * calls each Store method with a callback that throws, and prints, as JSON, how each
 * exception surfaced (`uncaughtException`, `unhandledRejection` or `swallowed`) and how
 * often each callback was called. Run apart, so that the test runner's own handlers of
 * uncaught exceptions stay out of it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { openStore, type StoreSpec } from './stores.ts';

type Surfaced = 'uncaughtException' | 'unhandledRejection' | 'swallowed';

const spec = JSON.parse(process.argv[2] ?? '{}') as StoreSpec;
const opened = openStore(spec);
const store = opened.store;
const cookie = () => ({ originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000).toISOString(), httpOnly: true, path: '/' });

let seen: ((how: Surfaced, error: unknown) => void) | undefined;
process.on('uncaughtException', (error) => seen?.('uncaughtException', error));
process.on('unhandledRejection', (error) => seen?.('unhandledRejection', error));

const calls: Record<string, (callback: (...args: unknown[]) => void) => void> = {
  get: (cb) => store.get('compat-throw-unknown', cb),
  set: (cb) => store.set('compat-throw', { cookie: cookie(), n: 1 }, cb),
  touch: (cb) => store.touch('compat-throw', { cookie: cookie(), n: 1 }, cb),
  all: (cb) => store.all(cb),
  length: (cb) => store.length(cb),
  destroy: (cb) => store.destroy('compat-throw', cb),
  clear: (cb) => store.clear(cb),
};

const results: Record<string, { surfaced: Surfaced; calls: number; error: string | null }> = {};
// A first operation connects the store's client: exceptions then come from steady-state callbacks.
await new Promise<void>((resolve) => store.length(() => resolve()));
for (const [method, call] of Object.entries(calls)) {
  let count = 0;
  let firstError: string | null = null;
  const surfaced = await new Promise<Surfaced>((resolve) => {
    const timer = setTimeout(() => resolve('swallowed'), 3000);
    seen = (how, error) => {
      if (error instanceof Error && error.message === `thrown by the ${method} callback`) {
        clearTimeout(timer);
        resolve(how);
      }
    };
    call((error) => {
      count++;
      if (error) firstError = error instanceof Error ? error.message : JSON.stringify(error);
      throw new Error(`thrown by the ${method} callback`);
    });
  });
  seen = undefined;
  await sleep(200); // a second call of the callback would come now
  results[method] = { surfaced, calls: count, error: firstError };
}
await opened.close();
process.stdout.write(`${JSON.stringify(results)}\n`);
process.exit(0);
