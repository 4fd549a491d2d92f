/**
 * `npm run bench` cannot rot: the test command runs it once, briefly, and checks that every
 * case ran and reported a measurement. It asserts nothing about speed (these machines are
 * too noisy for timed assertions; the ratios are for the README's table).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Row {
  group: string;
  name: string;
  unit: string;
  values: number[];
  ratios?: number[];
  cpuRatios?: number[];
  redirects?: number;
  target?: string;
}

interface Calls {
  name: string;
  requests: number;
  perRequest: Record<string, number>;
}

interface Written {
  store: string;
  kind: string;
  requests: number;
  counted: Record<string, number>;
  perThousand: Record<string, number>;
}

it('runs every benchmark case once and writes the table and the JSON', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shared-session-bench-smoke-'));
  const out = join(dir, 'quick.json');
  const child = spawn(process.execPath, ['--conditions=@shared-session/source', join(ROOT, 'bench/run.ts'), '--quick', '--seconds', '0.3', '--out', out], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, 'bench/run.ts exits cleanly');

  const result = JSON.parse(readFileSync(out, 'utf8')) as { machine: string; quick: boolean; rows: Row[]; rowsWritten: Written[]; storeCalls: Calls[]; markdown: string };
  rmSync(dir, { recursive: true, force: true });
  assert.equal(result.quick, true);
  assert.match(result.machine, /Node v\d+/);

  const groups = new Set(result.rows.map((row) => row.group));
  for (const group of ['Token', 'Page: sharing against the status quo', 'Page: each adapter against its framework’s own session', 'Page: the loader alone', 'Script endpoint', 'Hop', 'Stores']) {
    assert.ok(groups.has(group), `the ${group} case ran`);
  }
  for (const row of result.rows) {
    assert.ok(row.values.length > 0 && row.values.every((value) => Number.isFinite(value) && value > 0), `${row.group} / ${row.name} measured something: ${row.values.join(', ')}`);
    for (const ratio of [...(row.ratios ?? []), ...(row.cpuRatios ?? [])]) assert.ok(Number.isFinite(ratio) && ratio > 0, `${row.name}: ratio ${ratio}`);
  }
  // Every adapter against its framework's own session middleware: a baseline and a ratio each.
  const adapterRows = result.rows.filter((row) => row.group === 'Page: each adapter against its framework’s own session');
  for (const [framework, session, adapter] of [
    ['Express', 'express-session', 'shared-session/express'],
    ['Fastify', '@fastify/session', 'shared-session/fastify'],
    ['Koa', 'koa-session', 'shared-session/koa'],
    ['Hono', '@hono/session', 'shared-session/hono'],
  ] as const) {
    const baseline = adapterRows.find((row) => row.name.startsWith(framework) && row.name.includes(`${session} `) && row.name.endsWith('(baseline)'));
    const ours = adapterRows.find((row) => row.name.startsWith(framework) && row.name.includes(adapter));
    assert.ok(baseline && !baseline.ratios, `${framework}: ${session} alone measured as the baseline`);
    assert.ok(ours?.ratios?.length && ours.cpuRatios?.length, `${framework}: ${adapter} measured against it`);
  }
  // The token case reports Web Crypto beside node:crypto (issue 10), each against the node:crypto floor.
  const webRows = result.rows.filter((row) => row.group === 'Token' && row.name.includes('Web Crypto'));
  assert.equal(webRows.length, 2, 'the Web Crypto floor and shared-session on Web Crypto were measured');
  for (const row of webRows) assert.ok(row.ratios?.length, `${row.name} has ratios`);
  // Every target named in the issue has its row, with a ratio to judge it by.
  const targets = result.rows.filter((row) => row.target).map((row) => `${row.group}: ${row.target}`);
  for (const target of ['Page: sharing against the status quo: ≥ 0.95', 'Page: the loader alone: ≥ 0.95', 'Script endpoint: ≥ 0.90', 'Token: ≤ 1.5', 'Stores: ≥ 1.0']) {
    assert.ok(targets.includes(target), `a row carries the target ${target}`);
  }
  for (const row of result.rows.filter((r) => r.target)) assert.ok(row.ratios?.length, `${row.name} has ratios`);
  // Every store was measured, ours beside connect-redis on one Redis.
  for (const store of ['connect-redis 10', 'RedisStore', 'SqliteStore', 'FileStore', 'PostgresStore']) {
    for (const kind of ['get', 'set', 'touch']) assert.ok(result.rows.some((row) => row.name.startsWith(`${store}, ${kind}`)), `${store} ${kind} measured`);
  }
  // The hop's navigations (a first page, the steady state, a login's follow-up with and without the push) said how many redirects they took.
  const hops = result.rows.filter((row) => row.group === 'Hop' && row.ratios);
  assert.ok(hops.length >= 5, 'every navigation of the hop case was timed');
  for (const row of hops) assert.ok(Number.isInteger(row.redirects) && row.redirects! >= 0, `${row.name}: redirects counted`);
  // Rows written: every kind of anonymous request on every store, counted and normalised.
  const kinds = new Set(result.rowsWritten.map((written) => written.kind));
  assert.ok(kinds.size >= 5, 'page loads with and without a session, a hop, a push, a logout');
  for (const store of ['SQLite', 'File', 'Redis', 'PostgreSQL']) {
    for (const kind of kinds) {
      const written = result.rowsWritten.find((w) => w.store === store && w.kind === kind);
      assert.ok(written && written.requests > 0, `${store}: ${kind} sent`);
      for (const what of ['sessions', 'tombstones', 'links', 'claims']) {
        assert.ok(Number.isFinite(written.counted[what]) && Number.isFinite(written.perThousand[what]), `${store}: ${kind}: ${what} counted`);
      }
    }
  }
  // Store calls per page load: express-session alone, the steady state, and the other situations of PROTOCOL.md §7.2.
  assert.ok(result.storeCalls.length >= 3, 'store calls counted');
  for (const calls of result.storeCalls) {
    assert.ok(calls.requests > 0 && Object.values(calls.perRequest).every((value) => Number.isFinite(value) && value >= 0), `${calls.name}: calls counted`);
  }
  // The Markdown tables went to standard output, one line per row.
  const [timings, rest] = result.markdown.split('\n| rows written per 1,000 requests');
  const [counts, calls] = rest!.split('\n| store calls per page load');
  const tableLines = (text: string | undefined): string[] => (text ?? '').split('\n').filter((line) => line.startsWith('| '));
  assert.equal(tableLines(timings).filter((line) => !line.startsWith('| **') && !line.startsWith('| case')).length, result.rows.length);
  assert.equal(tableLines(counts).length, kinds.size);
  assert.equal(tableLines(calls).length, result.storeCalls.length);
  assert.ok(stdout.includes(result.markdown.split('\n')[0]!), 'the table is printed');
});
