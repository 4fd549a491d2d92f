/**
 * The core on other runtimes' Web Crypto: test/runtimes/smoke.ts, bundled once by esbuild
 * with the `@shared-session/web-platform` condition (so `#platform` is
 * src/core/platform/web.ts), run as a child process on Node, Bun, Deno and workerd, each
 * installed from the npm registry (packages `bun`, `deno`, `workerd`: their binaries ship
 * inside the packages, nothing downloads at run time). Run: `npm run test:runtimes`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { SmokeResult } from './smoke.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'node_modules/.bin');
const vectors = JSON.parse(readFileSync(join(ROOT, 'test/vectors/tokens.json'), 'utf8')) as { secrets: object; tokens: unknown[]; refusals: unknown[] };
/** Every check smoke.ts makes: a key id per secret, a seal and an open per token, one per refusal, six of the façades. */
const CHECKS = Object.keys(vectors.secrets).length + 2 * vectors.tokens.length + vectors.refusals.length + 6;

let dir = '';
after(() => rmSync(dir, { recursive: true, force: true }));

function run(command: string, args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

function assertSmoke(code: number | null, out: string): void {
  const line = out.split('\n').find((text) => text.includes('SMOKE {'));
  assert.ok(line, `no result line (exit ${code}):\n${out}`);
  const result = JSON.parse(line.slice(line.indexOf('SMOKE {') + 6)) as SmokeResult;
  assert.deepEqual(result.failures, []);
  assert.equal(result.checks.length, CHECKS, 'every check ran');
  assert.equal(result.platform, 'Web Crypto');
  assert.equal(code, 0, out);
}

describe('the core on each runtime’s Web Crypto (test/runtimes/smoke.ts)', () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shared-session-runtimes-'));
    for (const [entry, out] of [['entry.ts', 'entry.mjs'], ['worker.ts', 'worker.js']] as const) {
      await build({
        entryPoints: [join(ROOT, 'test/runtimes', entry)],
        outfile: join(dir, out),
        bundle: true,
        format: 'esm',
        platform: 'neutral',
        mainFields: ['module', 'main'],
        conditions: ['@shared-session/web-platform', '@shared-session/source'],
        target: 'es2022',
        logLevel: 'error',
      });
    }
    writeFileSync(
      join(dir, 'config.capnp'),
      `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (services = [(name = "main", worker = .smoke)]);
const smoke :Workerd.Worker = (modules = [(name = "worker.js", esModule = embed "worker.js")], compatibilityDate = "2025-01-01");
`,
    );
  });

  it('Node, on Web Crypto', async () => {
    const { code, out } = await run(process.execPath, ['entry.mjs']);
    assertSmoke(code, out);
  });

  it('Bun', async () => {
    const { code, out } = await run(join(BIN, 'bun'), ['entry.mjs'], { BUN_RUNTIME_TRANSPILER_CACHE_PATH: '0', DO_NOT_TRACK: '1' });
    assertSmoke(code, out);
  });

  it('Deno', async () => {
    const { code, out } = await run(join(BIN, 'deno'), ['run', '--no-prompt', '--no-config', 'entry.mjs'], { DENO_DIR: join(dir, 'deno'), DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' });
    assertSmoke(code, out);
  });

  it('workerd', async () => {
    const { code, out } = await run(join(BIN, 'workerd'), ['test', '--verbose', 'config.capnp']);
    assertSmoke(code, out);
  });
});

/**
 * What each runtime resolves `#platform` to by the conditions it sets itself, on dist/
 * (`npm run build` first; `npm run test:runtimes` does). Bun sets `bun` and `node`, Deno
 * `deno` and `node`; Cloudflare's bundler `workerd`, `worker` and `browser`, never `node`.
 */
describe('the platform each runtime picks (package.json imports, on dist/)', () => {
  const probe = join(ROOT, 'test/runtimes/which-platform.ts');
  const picked = (out: string): string | undefined => /PLATFORM (.+)/.exec(out)?.[1]?.trim();

  before(() => {
    assert.ok(readFileSync(join(ROOT, 'dist/core/platform/web.js'), 'utf8').length > 0, 'dist/ is built (npm run build)');
  });

  it('Node: node:crypto (the `node` condition)', async () => {
    assert.equal(picked((await run(process.execPath, [probe])).out), 'node:crypto');
  });

  it('Node with --conditions=@shared-session/web-platform: Web Crypto', async () => {
    assert.equal(picked((await run(process.execPath, ['--conditions=@shared-session/web-platform', probe])).out), 'Web Crypto');
  });

  it('Bun: node:crypto (Bun sets `node`; its node:crypto is native and synchronous)', async () => {
    assert.equal(picked((await run(join(BIN, 'bun'), [probe])).out), 'node:crypto');
  });

  it('Deno: Web Crypto (the `deno` condition comes before `node`)', async () => {
    const { out } = await run(join(BIN, 'deno'), ['run', '--no-prompt', '--allow-read', probe], { DENO_DIR: join(dir, 'deno'), DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' });
    assert.equal(picked(out), 'Web Crypto', out);
  });

  it('a Workers bundle (esbuild with workerd, worker, browser): Web Crypto', async () => {
    const outfile = join(dir, 'which-platform.mjs');
    await build({ entryPoints: [probe], outfile, bundle: true, format: 'esm', platform: 'neutral', conditions: ['workerd', 'worker', 'browser'], logLevel: 'error' });
    assert.equal(picked((await run(process.execPath, [outfile])).out), 'Web Crypto');
  });
});
