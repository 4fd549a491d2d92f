/**
 * `npm run bench`: what sharing costs per request, against the status quo, measured as
 * ratios inside each round (these machines drift by tens of percent between runs).
 *
 *   node --conditions=@shared-session/source bench/run.ts [--quick] [--rounds N] [--seconds S] [--out file] [--only page,adapters,push,hop,token,stores,rows,calls]
 *
 * The server runs in its own process (bench/server.ts); this process is the load
 * generator (autocannon). Cases run interleaved, A/B/A/B, round after round; the table
 * gives medians with min–max over rounds, and each ratio is computed within its round.
 * The adapters' case (bench/adapters.ts) compares each framework's page with its own
 * session middleware alone and with our adapter. Then two counts, not timed: rows written per 1,000 anonymous requests on every store
 * (bench/rows.ts), and store calls per page load (bench/calls.ts).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { adapterCase } from './adapters.ts';
import { callsTable, storeCalls, type CallsPerRequest } from './calls.ts';
import { hopCase } from './hop.ts';
import type { Row, Run } from './load.ts';
import { pageCase, pushCase } from './pages.ts';
import { rowsTable, rowsWritten, type Written } from './rows.ts';
import { fmt, median, ratioText, spread } from './stats.ts';
import { benchStores, type StoreRow } from './stores.ts';
import { benchToken } from './token.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    out: { type: 'string' },
    only: { type: 'string' },
  },
});
const quick = values.quick;
const rounds = Number(values.rounds ?? (quick ? 1 : 9));
const seconds = Number(values.seconds ?? (quick ? 0.5 : 1.5));
const only = values.only?.split(',');
const wanted = (name: string): boolean => !only || only.includes(name);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SECRET = 'P4isnpB1t+sP9Ikuo4/FXft3FTKOQvabQH2RdjfpWaKKpRTm+BIpEvhlT9BPti5v';
const rows: Row[] = [];

async function startServer(dir: string): Promise<{ ports: Record<string, number>; stop(): void }> {
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...profile, '--conditions=@shared-session/source', join(ROOT, 'bench/server.ts'), '--store', join(dir, 'bench.sqlite'), '--secret', SECRET], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ports = await new Promise<Record<string, number>>((resolve, reject) => {
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const line = buffer.split('\n').find((text) => text.startsWith('{"ready"'));
      if (line) resolve((JSON.parse(line) as { ready: Record<string, number> }).ready);
    });
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  return { ports, stop: () => child.kill('SIGTERM') };
}

async function tokenCase(): Promise<void> {
  const result = await benchToken(rounds, quick ? 5_000 : 100_000);
  rows.push({ group: 'Token', name: 'AES-256-GCM seal + open, KeyObject (floor)', unit: 'µs/op', values: result.floorNs.map((ns) => ns / 1000) });
  rows.push({ group: 'Token', name: 'shared-session seal + open', unit: 'µs/op', values: result.oursNs.map((ns) => ns / 1000), ratios: result.ratios, target: '≤ 1.5' });
  rows.push({ group: 'Token', name: 'AES-256-GCM seal + open, Web Crypto CryptoKey', unit: 'µs/op', values: result.webFloorNs.map((ns) => ns / 1000), ratios: result.webFloorRatios, note: 'ratio to the KeyObject floor' });
  rows.push({ group: 'Token', name: 'shared-session seal + open on Web Crypto', unit: 'µs/op', values: result.webOursNs.map((ns) => ns / 1000), ratios: result.webOursRatios, note: 'src/core/platform/web.ts; ratio to the KeyObject floor' });
}

function table(): string {
  const lines = ['| case | result (median, min–max) | ratio to baseline (median, min–max) | CPU-time ratio (median, min–max) | target |', '|---|---|---|---|---|'];
  let group = '';
  for (const row of rows) {
    if (row.group !== group) {
      group = row.group;
      lines.push(`| **${group}** | | | | |`);
    }
    const [low, high] = spread(row.values);
    const digits = row.unit === 'req/s' ? 0 : 2;
    const name = row.note ? `${row.name} (${row.note})` : row.name;
    lines.push(
      `| ${name} | ${fmt(median(row.values), digits)} ${row.unit} (${fmt(low, digits)}–${fmt(high, digits)}) | ${row.ratios ? ratioText(row.ratios) : '—'} | ${row.cpuRatios ? ratioText(row.cpuRatios) : '—'} | ${row.target ?? ''} |`,
    );
  }
  return lines.join('\n');
}

const dir = mkdtempSync(join(tmpdir(), 'shared-session-bench-'));
const server = await startServer(dir);
const run: Run = { quick, rounds, seconds, ports: server.ports };
try {
  if (wanted('token')) await tokenCase();
  if (wanted('page')) rows.push(...(await pageCase(run)));
  // Each adapter against its framework's own session middleware (its own server process).
  if (wanted('adapters')) rows.push(...(await adapterCase({ quick, rounds, seconds, secret: SECRET, dir })));
  if (wanted('push')) rows.push(...(await pushCase(run, SECRET)));
  if (wanted('hop')) rows.push(...(await hopCase(run)));
  if (wanted('stores')) rows.push(...(await benchStores({ rounds, seconds, quick })).map((row: StoreRow) => ({ group: 'Stores', ...row })));
} finally {
  server.stop();
  rmSync(dir, { recursive: true, force: true });
}
// Counts, not timings: after the timed cases, so that their stores never share the machine with them.
const written: Written[] = wanted('rows') ? await rowsWritten({ quick, secret: SECRET }) : [];
const calls: CallsPerRequest[] = wanted('calls') ? await storeCalls({ quick, secret: SECRET }) : [];

const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
const rowsMarkdown = written.length ? `\n\n${rowsTable(written)}\n\nStored rows, keys or files counted before and after each kind's requests (long-lived: sessions, tombstones, link records; claims live seconds), normalised to 1,000 requests.` : '';
const callsMarkdown = calls.length ? `\n\n${callsTable(calls)}\n\nCalls of the store's methods per navigation (redirects included), counted by a wrapper around one SqliteStore; express-session's and shared-session's together.` : '';
const markdown = `${table()}\n\n${rounds} round(s); HTTP cases ${seconds} s each, every variant right after its own baseline run (A/B/A/B), the ratio taken per pair; 10 connections (autocannon, another process); ${machine}.${rowsMarkdown}${callsMarkdown}`;
console.log(markdown);
const out = values.out ?? join(ROOT, 'bench/results', quick ? 'quick.json' : 'latest.json');
mkdirSync(join(out, '..'), { recursive: true });
writeFileSync(out, `${JSON.stringify({ machine, rounds, seconds, quick, rows, rowsWritten: written, storeCalls: calls, markdown }, null, 2)}\n`);
