/**
 * Does one of our stores run on this runtime? The store is constructed and driven through
 * every call the Web session layer and the core make (set, get, touch, destroy, claimOnce
 * twice, writeLink and readLink), then closed; one `STORE {…}` line says how it went.
 * runtimes.test.ts bundles one small entry per store and runtime around `probeStore`
 * (a failed `import` of a `node:` module must not hide the other stores' results) and runs
 * them on Node, Bun, Deno and workerd.
 */
import type { SessionRecord } from 'shared-session/fetch';

interface ProbedStore {
  get(id: string): Promise<unknown>;
  set(id: string, record: SessionRecord): Promise<void>;
  touch(id: string, record: SessionRecord): Promise<void>;
  destroy(id: string): Promise<void>;
  claimOnce(key: string, ttlMs: number): Promise<boolean>;
  writeLink(id: string, value: string, ttlMs: number): Promise<void>;
  readLink(id: string): Promise<string | undefined>;
  close(): unknown;
}

export interface ProbeResult {
  readonly store: string;
  readonly ok: boolean;
  /** The first error, as the runtime reports it. */
  readonly error?: string;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function exercise(store: ProbedStore): Promise<void> {
  const id = `probe-${Math.random().toString(36).slice(2)}`;
  const record: SessionRecord = { cookie: { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000).toISOString() }, cart: ['tea'] };
  await store.set(id, record);
  const read = (await store.get(id)) as { cart?: unknown } | null | undefined;
  if (JSON.stringify(read?.cart) !== '["tea"]') throw new Error(`get returned ${JSON.stringify(read)}`);
  await store.touch(id, record);
  if ((await store.claimOnce(`${id}-jti`, 60_000)) !== true) throw new Error('the first claim was refused');
  if ((await store.claimOnce(`${id}-jti`, 60_000)) !== false) throw new Error('a second claim of one key was granted');
  await store.writeLink(`${id}-link`, 'value', 60_000);
  if ((await store.readLink(`${id}-link`)) !== 'value') throw new Error('readLink lost the link');
  await store.destroy(id);
  const gone = await store.get(id);
  if (gone !== null && gone !== undefined) throw new Error('destroy left the record');
}

/** Construct the store with `make`, exercise it, close it, print the result. */
export async function probeStore(name: string, make: () => unknown): Promise<ProbeResult> {
  let store: ProbedStore | undefined;
  let result: ProbeResult;
  try {
    store = make() as ProbedStore;
    await withTimeout(exercise(store), 10_000, name);
    result = { store: name, ok: true };
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    result = { store: name, ok: false, error: message.split('\n')[0] as string };
  }
  try {
    await withTimeout(Promise.resolve(store?.close()), 5_000, `${name}.close`);
  } catch {
    // A store that failed may not close either; the result says why.
  }
  console.log(`STORE ${JSON.stringify(result)}`);
  return result;
}
