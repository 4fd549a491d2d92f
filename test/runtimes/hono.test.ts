/**
 * `shared-session/hono` served by Bun, Deno and workerd themselves, driven from Node over
 * real HTTP (test/helpers/http.ts `Client`), and which of our stores runs on which runtime.
 *
 * - Bun and Deno: test/runtimes/hono-server.ts, two sites on two `Bun.serve`/`Deno.serve`
 *   servers in one process, each with its own store instance on one SQLite file or one
 *   Redis: a cart and a login seen across the hop, a push accepted, its replay refused.
 * - workerd: test/runtimes/hono-worker.ts, both sites in one Worker (`workerd serve`, one
 *   socket per site) on an in-memory store: the same flow.
 * - Stores: test/runtimes/store-probe.ts per store and runtime; the table in
 *   docs/ARCHITECTURE.md ("Runtimes") is what this asserts.
 *
 * The bundles go under node_modules/.cache, not the system tmpdir: the Redis and PostgreSQL
 * stores load their peer (`redis`, `pg`) with `require` at run time, as an application's
 * bundle would, and it must find the installed one (nothing downloads: Bun runs with
 * `--no-install`).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Client, request } from '../helpers/http.ts';
import { freePort } from '../helpers/ports.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres-server.ts';
import { scriptLoad } from '../helpers/push.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import type { ProbeResult } from './store-probe.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'node_modules/.bin');
const CONDITIONS = ['@shared-session/web-platform', '@shared-session/source'];
const BUN_ENV = { BUN_RUNTIME_TRANSPILER_CACHE_PATH: '0', DO_NOT_TRACK: '1' };

let dir = '';
let redis: RedisServer | undefined;
let postgres: TestDatabase | undefined;
const children = new Set<ChildProcess>();

const denoEnv = (): Record<string, string> => ({ DENO_DIR: join(dir, 'deno'), DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' });
/** Deno's permissions: loopback only, read for node_modules (the stores' peers), write for the scratch directory. */
const denoArgs = (): string[] => ['run', '--no-prompt', '--no-config', '--allow-env', '--allow-net=127.0.0.1', '--allow-read', `--allow-write=${dir}`];

const RUNTIMES = {
  Node: { command: () => process.execPath, args: (): string[] => [], env: (): Record<string, string> => ({}) },
  Bun: { command: () => join(BIN, 'bun'), args: (): string[] => ['--no-install'], env: (): Record<string, string> => BUN_ENV },
  Deno: { command: () => join(BIN, 'deno'), args: denoArgs, env: denoEnv },
} as const;
type Runtime = keyof typeof RUNTIMES;

function spawnIn(command: string, args: readonly string[], env: Record<string, string>): ChildProcess {
  const child = spawn(command, args, { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function run(command: string, args: readonly string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawnIn(command, args, env);
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

async function bundle(outfile: string, options: { entry?: string; contents?: string; platform: 'node' | 'neutral'; conditions?: readonly string[] }): Promise<void> {
  await build({
    ...(options.entry ? { entryPoints: [join(ROOT, 'test/runtimes', options.entry)] } : { stdin: { contents: options.contents ?? '', resolveDir: join(ROOT, 'test/runtimes'), loader: 'ts' } }),
    outfile: join(dir, outfile),
    bundle: true,
    format: 'esm',
    platform: options.platform,
    mainFields: ['module', 'main'],
    conditions: [...(options.conditions ?? []), ...CONDITIONS],
    target: 'es2022',
    logLevel: 'error',
  });
}

interface Running {
  stop(): Promise<void>;
}

/** Start a long-running child and wait until `ready(out)` says it serves. */
async function serve(command: string, args: readonly string[], env: Record<string, string>, ready: (out: string) => boolean | Promise<boolean>): Promise<Running> {
  const child = spawnIn(command, args, env);
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  const deadline = Date.now() + 30_000;
  while (!(await ready(out))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`${command} did not start (exit ${child.exitCode}):\n${out}`);
    }
    await sleep(50);
  }
  return { stop };
}

async function origins(): Promise<[string, string]> {
  return [`http://x.localhost:${await freePort()}`, `http://y.localhost:${await freePort()}`];
}

async function me(visitor: Client, origin: string): Promise<{ user: string | null; cart: string[] }> {
  return JSON.parse((await visitor.fetch(`${origin}/me`)).body) as { user: string | null; cart: string[] };
}

function scriptSources(html: string): string[] {
  return [...html.matchAll(/<script[^>]*\ssrc="([^"]+)"/g)].map((match) => (match[1] as string).replaceAll('&amp;', '&'));
}

/**
 * The flow every runtime must serve, x being the hub: a cart made on x reaches y through
 * the hop; a login on y reaches x after a navigation; a push from x's page to y is accepted
 * once and its replay refused (TOKEN_REPLAYED in y's `rejected` event), and y takes the
 * pushed session on its next page load, without a hop.
 */
async function shareAndPush([x, y]: readonly [string, string]): Promise<void> {
  const visitor = new Client();
  await visitor.fetch(`${x}/add?item=tea`);
  const hop = await visitor.navigate(`${y}/plain`);
  assert.ok(
    hop.some((step) => step.url.startsWith(`${x}/`)),
    `the navigation to y went through the hub: ${hop.map((step) => `${step.status} ${step.url}`).join(' → ')}`,
  );
  assert.equal(hop.at(-1)?.status, 200);
  assert.deepEqual(await me(visitor, y), { user: null, cart: ['tea'] }, 'the cart reaches y through the hop');

  assert.equal((await visitor.post(`${y}/login`, { user: 'ann' })).status, 303);
  await visitor.navigate(`${y}/`);
  await visitor.navigate(`${x}/plain`);
  assert.deepEqual(await me(visitor, x), { user: 'ann', cart: ['tea'] }, 'the login on y reaches x');

  // A push as test/integration/push.test.ts makes one: a browser y knows (a first page
  // there) logs in on x; the next page load on x links the session, and its loader pushes
  // it to y.
  const pusher = new Client();
  await pusher.navigate(`${y}/`);
  assert.equal((await pusher.post(`${x}/login`, { user: 'pia' })).status, 303);
  const page = (await pusher.navigate(`${x}/`)).at(-1)!;
  assert.match(String(page.headers['content-type']), /^text\/html/);
  const src = scriptSources(page.body).find((source) => source.startsWith(`${y}/`));
  assert.ok(src, `x's page loads a push to y: ${page.body}`);
  const pushed = await pusher.fetch(src, { headers: scriptLoad(x) });
  assert.equal(pushed.headers['shared-session-reason'], 'ACCEPTED', pushed.body);
  const replayed = await pusher.fetch(src, { headers: scriptLoad(x) });
  assert.equal(replayed.status, 403);
  assert.equal(replayed.headers['shared-session-reason'], 'TOKEN_REFUSED');
  assert.equal(replayed.setCookies.length, 0, 'a refusal sets no cookie');
  const events = JSON.parse((await request(`${y}/events`)).body) as { rejected: string[] };
  assert.deepEqual(events.rejected, ['TOKEN_REPLAYED'], 'y saw exactly one refusal: the replay');
  const taken = await pusher.navigate(`${y}/plain`);
  assert.equal(taken.length, 1, 'the voucher saves the hop: y answers at once');
  assert.equal((await me(pusher, y)).user, 'pia', 'y takes the pushed session');

  // Bun's implicit text/plain survives the middleware (it used to go out as application/octet-stream).
  const plain = await visitor.fetch(`${x}/add?item=jam`);
  assert.match(String(plain.headers['content-type']), /^text\/plain/);
}

before(async () => {
  mkdirSync(join(ROOT, 'node_modules/.cache'), { recursive: true });
  dir = mkdtempSync(join(ROOT, 'node_modules/.cache/shared-session-runtimes-'));
  [redis, postgres] = await Promise.all([startRedis(), createTestDatabase()]);
  await Promise.all([
    bundle('hono-server.mjs', { entry: 'hono-server.ts', platform: 'node' }),
    // What Cloudflare's bundler resolves for a Worker.
    bundle('hono-worker.js', { entry: 'hono-worker.ts', platform: 'neutral', conditions: ['workerd', 'worker', 'browser'] }),
  ]);
});

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await redis?.stop();
  await postgres?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('shared-session/hono on the runtimes’ own servers', () => {
  for (const runtime of ['Bun', 'Deno'] as const) {
    for (const store of ['sqlite', 'redis'] as const) {
      it(`${runtime}: two ${runtime === 'Bun' ? 'Bun.serve' : 'Deno.serve'} sites on one ${store === 'sqlite' ? 'SQLite file' : 'Redis'}: hop, login, push, replay refused`, async () => {
        const sites = await origins();
        const spec = RUNTIMES[runtime];
        const server = await serve(
          spec.command(),
          [...spec.args(), 'hono-server.mjs'],
          { ...spec.env(), SITES: JSON.stringify(sites), STORE: store, SQLITE_PATH: join(dir, `${runtime}.sqlite`), REDIS_URL: redis!.url },
          (out) => out.includes(`READY ${runtime}`),
        );
        try {
          await shareAndPush(sites);
        } finally {
          await server.stop();
        }
      });
    }
  }

  it('workerd: both sites in one Worker on an in-memory store: hop, login, push, replay refused', async () => {
    const sites = await origins();
    // globalOutbound = main: the Worker's own fetch() (the core's check that the hub answers
    // before a hop) comes back to the Worker itself, as a service binding would; workerd
    // refuses a Worker's connections to 127.0.0.1 otherwise, and no hop would ever start.
    const sockets = sites.map((origin, index) => `(name = "site${index}", address = "127.0.0.1:${new URL(origin).port}", http = (), service = "main")`).join(', ');
    writeFileSync(
      join(dir, 'sites.capnp'),
      `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (services = [(name = "main", worker = .sites)], sockets = [${sockets}]);
const sites :Workerd.Worker = (modules = [(name = "worker.js", esModule = embed "hono-worker.js")], compatibilityDate = "2025-01-01", globalOutbound = "main", bindings = [(name = "SITES", text = ${JSON.stringify(JSON.stringify(sites))})]);
`,
    );
    const server = await serve(join(BIN, 'workerd'), ['serve', 'sites.capnp'], {}, async () => {
      try {
        return (await request(`${sites[1]}/me`)).status === 200;
      } catch {
        return false;
      }
    });
    try {
      await shareAndPush(sites);
    } finally {
      await server.stop();
    }
  });
});

/**
 * The stores on each runtime, one bundle per store (a Worker that fails to load one
 * `node:` module would otherwise hide the others). Node, Bun and Deno run every store;
 * workerd (nodejs_compat) runs none, each for its own measured reason, asserted so that
 * this test fails, and the table is revisited, the day one of them starts to run.
 */
describe('which of our stores runs on which runtime (docs/ARCHITECTURE.md, “Runtimes”)', () => {
  // In a Worker, node:fs is workerd's own in-memory file system: only /tmp is writable.
  const stores = (worker = false): Record<string, [entry: string, options: object]> => ({
    SqliteStore: ['sqlite', { path: join(dir, 'probe.sqlite') }],
    FileStore: ['file', { directory: worker ? '/tmp/shared-session-probe' : join(dir, 'probe-files') }],
    RedisStore: ['redis', { url: redis!.url }],
    PostgresStore: ['postgres', { connectionString: postgres!.connectionString }],
  });
  const source = (name: string, entry: string, options: object, worker: boolean): string =>
    `import { ${name} } from 'shared-session/${entry}';
import { probeStore } from './store-probe.ts';
const make = () => new ${name}(${JSON.stringify(options)});
${worker ? `export default { async test() { await probeStore('${name}', make); } };` : `await probeStore('${name}', make);\nglobalThis.process?.exit(0);`}
`;
  const result = (name: string, out: string): ProbeResult => {
    const line = out.split('\n').find((text) => text.startsWith('STORE {'));
    if (line) return JSON.parse(line.slice(6)) as ProbeResult;
    // The module failed to load: the runtime's own first error line.
    return { store: name, ok: false, error: out.split('\n').find((text) => /Error/.test(text))?.trim() ?? out.trim() };
  };

  before(async () => {
    await Promise.all(
      Object.entries(stores()).flatMap(([name, [entry, options]]) => [
        bundle(`probe-${name}.mjs`, { contents: source(name, entry, options, false), platform: 'node' }),
        bundle(`probe-${name}.worker.js`, { contents: source(name, entry, stores(true)[name]![1], true), platform: 'node', conditions: ['workerd', 'worker'] }),
      ]),
    );
  });

  for (const runtime of ['Node', 'Bun', 'Deno'] as const satisfies readonly Runtime[]) {
    it(`${runtime}: SqliteStore, FileStore, RedisStore and PostgresStore all run`, async () => {
      const spec = RUNTIMES[runtime];
      const results = await Promise.all(Object.keys(stores()).map(async (name) => result(name, await run(spec.command(), [...spec.args(), `probe-${name}.mjs`], spec.env()))));
      assert.deepEqual(results, Object.keys(stores()).map((store) => ({ store, ok: true })));
    });
  }

  it('workerd (nodejs_compat, node:fs on): none runs, each for its own reason', async () => {
    const expected: Record<string, RegExp> = {
      SqliteStore: /No such module "node:sqlite"/,
      // node:fs is workerd's in-memory file system (per request, never shared); the store's timers are unref()'d, which a Worker's are not.
      FileStore: /timer\.unref is not a function/,
      // The peer is loaded with createRequire(import.meta.url): a Worker module has no URL.
      RedisStore: /createRequire|must be a file URL/,
      PostgresStore: /createRequire|must be a file URL/,
    };
    for (const name of Object.keys(stores())) {
      writeFileSync(
        join(dir, `probe-${name}.capnp`),
        `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (services = [(name = "main", worker = .probe)]);
const probe :Workerd.Worker = (modules = [(name = "worker.js", esModule = embed "probe-${name}.worker.js")], compatibilityDate = "2025-11-01", compatibilityFlags = ["nodejs_compat", "enable_nodejs_fs_module"]);
`,
      );
    }
    const results = await Promise.all(Object.keys(stores()).map(async (name) => result(name, await run(join(BIN, 'workerd'), ['test', '--verbose', `probe-${name}.capnp`]))));
    for (const probe of results) {
      assert.equal(probe.ok, false, `${probe.store} runs on workerd now: update the table`);
      assert.match(probe.error ?? '', expected[probe.store]!, probe.store);
    }
  });
});
