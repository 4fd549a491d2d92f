/**
 * `npm run bench`: what sharing costs per request, against the status quo, measured as
 * ratios inside each round (these machines drift by tens of percent between runs).
 *
 *   node --conditions=source bench/run.ts [--quick] [--rounds N] [--seconds S] [--out file]
 *
 * The server runs in its own process (bench/server.ts); this process is the load
 * generator (autocannon). Cases run interleaved, A/B/A/B, round after round; the table
 * gives medians with min–max over rounds, and each ratio is computed within its round.
 */
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { deriveKeys } from '../src/core/keys.ts';
import { Purpose, Sealer } from '../src/core/token.ts';
import { Client, NAVIGATION_HEADERS } from '../test/helpers/http.ts';
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
/** Requests per HTTP case in a quick run. */
const QUICK_REQUESTS = 200;
const wanted = (name: string): boolean => !only || only.includes(name);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SECRET = 'P4isnpB1t+sP9Ikuo4/FXft3FTKOQvabQH2RdjfpWaKKpRTm+BIpEvhlT9BPti5v';
const sealer = new Sealer(deriveKeys(SECRET));

interface Row {
  readonly group: string;
  readonly name: string;
  readonly unit: string;
  readonly values: number[];
  /** Per-round ratio to the group's baseline. */
  readonly ratios?: number[];
  /** Per-pair ratio of the server's CPU time per request, baseline over variant: the same cost, without the machine's noise. */
  readonly cpuRatios?: number[];
  readonly target?: string;
  readonly note?: string;
}
const rows: Row[] = [];

async function startServer(dir: string): Promise<{ ports: Record<string, number>; stop(): void }> {
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...profile, '--conditions=source', join(ROOT, 'bench/server.ts'), '--store', join(dir, 'bench.sqlite'), '--secret', SECRET], {
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

interface Load {
  readonly port: number;
  readonly host: string;
  readonly path?: string;
  readonly headers?: Record<string, string>;
  /** A fresh path for every request (single-use tokens). */
  readonly nextPath?: () => string;
  /** The status every response must have: a benchmark of errors measures nothing. */
  readonly expectStatus: number;
}

let controlPort = 0;

async function serverCpuMicros(): Promise<number> {
  const response = await new Client().fetch(`http://127.0.0.1:${controlPort}/`);
  return (JSON.parse(response.body) as { cpuMicros: number }).cpuMicros;
}

interface Measured {
  /** Requests per second. */
  readonly rps: number;
  /** The server's CPU time per request, µs. */
  readonly cpu: number;
}

/** Requests per second of one autocannon run against one variant, and the server's CPU time per request. */
async function rps(load: Load): Promise<Measured> {
  const cpuBefore = await serverCpuMicros();
  const result = await autocannon({
    url: `http://127.0.0.1:${load.port}${load.path ?? '/'}`,
    connections: 10,
    // Quick runs (the test command's smoke run) send a fixed number of requests, and
    // autocannon checks for the end every 20 ms: by duration, a run takes at least a second.
    ...(quick ? { amount: QUICK_REQUESTS, sampleInt: 20 } : { duration: seconds }),
    headers: { host: load.host, ...load.headers },
    ...(load.nextPath
      ? {
          requests: [
            {
              setupRequest: (request) => {
                request.path = load.nextPath!();
                return request;
              },
            },
          ],
        }
      : {}),
  });
  const cpu = ((await serverCpuMicros()) - cpuBefore) / Math.max(1, result.requests.total);
  const bad = load.expectStatus === 200 ? result.non2xx : result['2xx'];
  if (result.errors > 0 || (load.expectStatus === 200 ? bad : result.non2xx - result['4xx'] + bad) > 0) {
    throw new Error(`${load.host}${load.path ?? ''}: ${result.errors} errors, ${result.non2xx} non-2xx of ${result.requests.total}`);
  }
  // Requests over the run's own wall time (autocannon's per-second average needs whole seconds).
  const elapsedSeconds = (new Date(result.finish).getTime() - new Date(result.start).getTime()) / 1000;
  return { rps: result.requests.total / Math.max(elapsedSeconds, 0.001), cpu };
}

async function pageCase(ports: Record<string, number>): Promise<void> {
  const at = (variant: string) => ({ port: ports[variant] as number, host: 'bench.localhost:1' });
  // Every variant's request carries a session cookie of its own app (same data).
  const cookieFor = async (variant: string, held: 'all' | 'none') => {
    const client = new Client({ balance: { 'bench.localhost:1': [ports[variant] as number] } });
    await client.fetch(`http://bench.localhost:1/setup?held=${held}`);
    const jar = client.cookies('http://bench.localhost:1');
    // Page loads of a browser the site knows: one navigation gives it the link cookie.
    await client.fetch('http://bench.localhost:1/page', { headers: NAVIGATION_HEADERS });
    return { cookie: [...jar].map(([name, value]) => `${name}=${value}`).join('; '), sessionOnly: `bench.sid=${jar.get('bench.sid')}` };
  };
  interface PageCase {
    name: string;
    variant: string;
    held: 'all' | 'none';
    navigation?: boolean;
    loader?: boolean;
    target?: string;
    note?: string;
  }
  const prepare = (c: PageCase) => cookieFor(c.variant, c.held).then((cookies) => ({ ...c, cookies }));
  const load = (c: PageCase & { cookies: { cookie: string; sessionOnly: string } }): Load => ({
    ...at(c.variant),
    path: c.loader === false ? '/page?loader=0' : '/page',
    headers: c.navigation ? { ...NAVIGATION_HEADERS, cookie: c.cookies.cookie } : { cookie: c.cookies.sessionOnly },
    expectStatus: 200,
  });
  const variant = (c: Awaited<ReturnType<typeof prepare>>) => ({ name: c.name, load: load(c), target: c.target, note: c.note });

  // The whole cost of sharing, against the status quo: express-session alone.
  const statusQuo = await prepare({ name: 'express-session page, no shared-session (baseline)', variant: 'baseline', held: 'none' });
  const whole = await Promise.all(
    (
      [
        { name: 'shared-session mounted, page without the loader', variant: 'shared5', held: 'all', loader: false },
        { name: 'with loader, 2 sites, first visit', variant: 'shared2', held: 'none', note: 'mints 1 token per page' },
        { name: 'with loader, 5 sites, first visit', variant: 'shared5', held: 'none', note: 'mints 4 tokens per page' },
        { name: 'with loader, 2 sites, steady state', variant: 'shared2', held: 'all' },
        { name: 'with loader, 5 sites, steady state', variant: 'shared5', held: 'all' },
        { name: 'with loader, 5 sites, steady, browser page load', variant: 'shared5', held: 'all', navigation: true, note: 'Fetch Metadata: the link is read from the store' },
      ] satisfies PageCase[]
    ).map(prepare),
  );
  rows.push(...(await pairs('Page: sharing against the status quo', statusQuo.name, load(statusQuo), whole.map(variant))));

  // The loader's own cost: the same app and session, the page rendered with and without it.
  const withoutLoader = await prepare({ name: 'shared-session mounted, page without the loader (baseline)', variant: 'shared5', held: 'all', loader: false });
  const loaderOnly = await Promise.all(
    ([{ name: 'the same page with the loader, 5 sites, steady state', variant: 'shared5', held: 'all', target: '≥ 0.95' }] satisfies PageCase[]).map(prepare),
  );
  rows.push(...(await pairs('Page: the loader alone', withoutLoader.name, load(withoutLoader), loaderOnly.map(variant))));
}

/**
 * A/B/A/B: each variant measured right after its own run of the baseline, round after
 * round, and its ratio taken to that baseline: on these machines speed changes within
 * seconds, so only neighbouring measurements compare.
 */
async function pairs(group: string, baselineName: string, baseline: Load, variants: readonly { name: string; load: Load; target?: string | undefined; note?: string | undefined }[]): Promise<Row[]> {
  // BENCH_CASE=<index> runs one variant alone (no baseline), for a CPU profile of just that path.
  const alone = process.env.BENCH_CASE === undefined ? undefined : Number(process.env.BENCH_CASE);
  const base: number[] = [];
  const results = variants.map(() => ({ values: [] as number[], ratios: [] as number[], cpuRatios: [] as number[] }));
  for (let round = 0; round < rounds; round++) {
    for (const [index, variant] of variants.entries()) {
      if (alone !== undefined && alone !== index) continue;
      const a = alone === undefined ? await rps(baseline) : { rps: 1, cpu: 1 };
      const b = await rps(variant.load);
      base.push(a.rps);
      results[index]!.values.push(b.rps);
      results[index]!.ratios.push(b.rps / a.rps);
      results[index]!.cpuRatios.push(a.cpu / b.cpu);
    }
  }
  return [
    { group, name: baselineName, unit: 'req/s', values: base.length ? base : [0] },
    ...variants.map((variant, index) => ({
      group,
      name: variant.name,
      unit: 'req/s',
      values: results[index]!.values.length ? results[index]!.values : [0],
      ratios: results[index]!.ratios.length ? results[index]!.ratios : [0],
      cpuRatios: results[index]!.cpuRatios.length ? results[index]!.cpuRatios : [0],
      ...(variant.target ? { target: variant.target } : {}),
      ...(variant.note ? { note: variant.note } : {}),
    })),
  ];
}

async function pushCase(ports: Record<string, number>): Promise<void> {
  const host = 'receiver.localhost:2';
  const port = ports.receiver as number;
  // A session to share: created on the receiver's store (the sender's is the same store).
  const client = new Client({ balance: { [host]: [port] } });
  const { id } = JSON.parse((await client.fetch(`http://${host}/setup?held=none`)).body) as { id: string };
  let n = 0;
  const token = () => sealer.seal(Purpose.push, { sid: id, src: 'http://sender.localhost:1', dst: 'http://receiver.localhost:2', iat: Date.now(), jti: `bench-${process.pid}-${n++}` });
  const forged = Buffer.from(token(), 'base64url');
  forged[40] = (forged[40] as number) ^ 1;
  const invalid = forged.toString('base64url');
  const headers = { referer: 'http://sender.localhost:1/' };
  rows.push(
    ...(await pairs('Script endpoint', 'bare route: same store read + Set-Cookie (baseline)', { port, host, path: `/bare?sid=${id}`, expectStatus: 200 }, [
      { name: 'script endpoint, fresh valid tokens', load: { port, host, headers, nextPath: () => `/shared-session/${token()}.js`, expectStatus: 200 }, target: '≥ 0.90' },
      { name: 'script endpoint, invalid tokens (refused)', load: { port, host, headers, path: `/shared-session/${invalid}.js`, expectStatus: 403 } },
    ])),
  );
}

async function hopCase(ports: Record<string, number>): Promise<void> {
  const balance = { 'hub.localhost:1': [ports.hub as number], 'site.localhost:2': [ports.site as number] };
  const visits = quick ? 20 : 300;
  const first: number[] = [];
  const later: number[] = [];
  const plain: number[] = [];
  let redirects = 0;
  for (let round = 0; round < rounds; round++) {
    const f: number[] = [];
    const l: number[] = [];
    const p: number[] = [];
    for (let i = 0; i < visits; i++) {
      const visitor = new Client({ balance });
      await visitor.fetch('http://hub.localhost:1/setup?held=none');
      await visitor.fetch('http://hub.localhost:1/page', { headers: NAVIGATION_HEADERS });
      let started = performance.now();
      const steps = await visitor.navigate('http://site.localhost:2/page');
      f.push(performance.now() - started);
      redirects = steps.length - 1;
      started = performance.now();
      await visitor.navigate('http://site.localhost:2/page');
      l.push(performance.now() - started);
      started = performance.now();
      await new Client({ balance }).fetch('http://site.localhost:2/page');
      p.push(performance.now() - started);
    }
    first.push(median(f));
    later.push(median(l));
    plain.push(median(p));
  }
  rows.push({ group: 'Hop', name: 'page without session or hop (baseline)', unit: 'ms', values: plain });
  rows.push({ group: 'Hop', name: `first visit: the hop, ${redirects} redirects + the page`, unit: 'ms', values: first, ratios: first.map((v, i) => v / (plain[i] as number)) });
  rows.push({ group: 'Hop', name: 'later visit: no redirect, link read', unit: 'ms', values: later, ratios: later.map((v, i) => v / (plain[i] as number)) });
}

function tokenCase(): void {
  const result = benchToken(rounds, quick ? 5_000 : 100_000);
  rows.push({ group: 'Token', name: 'AES-256-GCM seal + open, KeyObject (floor)', unit: 'µs/op', values: result.floorNs.map((ns) => ns / 1000) });
  rows.push({ group: 'Token', name: 'shared-session seal + open', unit: 'µs/op', values: result.oursNs.map((ns) => ns / 1000), ratios: result.ratios, target: '≤ 1.5' });
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
controlPort = server.ports.control as number;
try {
  if (wanted('token')) tokenCase();
  if (wanted('page')) await pageCase(server.ports);
  if (wanted('push')) await pushCase(server.ports);
  if (wanted('hop')) await hopCase(server.ports);
  if (wanted('stores')) rows.push(...(await benchStores({ rounds, seconds, quick })).map((row: StoreRow) => ({ group: 'Stores', ...row })));
} finally {
  server.stop();
  rmSync(dir, { recursive: true, force: true });
}

const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
const markdown = `${table()}\n\n${rounds} round(s); HTTP cases ${seconds} s each, every variant right after its own baseline run (A/B/A/B), the ratio taken per pair; 10 connections (autocannon, another process); ${machine}.`;
console.log(markdown);
const out = values.out ?? join(ROOT, 'bench/results', quick ? 'quick.json' : 'latest.json');
mkdirSync(join(out, '..'), { recursive: true });
writeFileSync(out, `${JSON.stringify({ machine, rounds, seconds, quick, rows, markdown }, null, 2)}\n`);
