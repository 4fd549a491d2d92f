/**
 * What the Koa adapter costs on a plain page: requests per second of one Koa app with
 * koa-session (over koaStore(SqliteStore)) alone, against the same app with
 * shared-session/koa mounted, for a visitor whose session is linked (the steady state,
 * every page after the first) and for an anonymous request that is no page load.
 * Each variant runs in its own child process; runs alternate A/B, round after round.
 *
 *   node --conditions=@shared-session/source bench/koa-page.ts [--rounds 5] [--seconds 2]
 *   (child) bench/koa-page.ts --serve plain|shared --store <file> --port <n>
 */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Koa from 'koa';
import session from 'koa-session';
import { koaStore, sharedSession } from 'shared-session/koa';
import { SqliteStore } from 'shared-session/sqlite';
import { Client, NAVIGATION_HEADERS, request } from '../test/helpers/http.ts';
import { freePort } from '../test/helpers/ports.ts';
import { SESSION_SECRET, SHARED_SECRET } from '../test/helpers/sites.ts';

const { values } = parseArgs({ options: { serve: { type: 'string' }, store: { type: 'string' }, port: { type: 'string' }, other: { type: 'string' }, rounds: { type: 'string' }, seconds: { type: 'string' } } });

const ORIGIN_LABEL = 'bench';

function serve(mode: string, file: string, port: number, other: number): void {
  const origins = [`http://${ORIGIN_LABEL}.localhost:${port}`, `http://other.localhost:${other}`];
  serveOne(mode, file, port, origins);
  // The other site, so that the first page load of the visitor can hop along the chain.
  if (mode === 'shared') serveOne(mode, file, other, origins);
}

function serveOne(mode: string, file: string, port: number, origins: string[]): void {
  const app = new Koa();
  app.keys = [SESSION_SECRET];
  app.use(session({ key: 'bench.sid', store: koaStore(new SqliteStore({ path: file })), sameSite: 'lax', maxAge: 3_600_000 }, app));
  const shared = mode === 'shared' ? sharedSession({ sites: origins, secret: SHARED_SECRET, hubProbe: false }) : undefined;
  if (shared) app.use(shared);
  app.use(async (ctx) => {
    if (ctx.path === '/add') {
      (ctx.session as unknown as { cart?: string[] }).cart = ['tea'];
      ctx.body = 'added\n';
      return;
    }
    const loader = shared ? await shared.loader(ctx) : '';
    ctx.type = 'html';
    ctx.body = `<!doctype html><title>page</title><p>page</p>${loader}`;
  });
  const handle = app.callback();
  createServer((req, res) => {
    // The server's CPU time so far, for CPU per request: steadier than requests per second
    // on a machine other work shares.
    if (req.url === '/__cpu') {
      const { user, system } = process.cpuUsage();
      res.end(String(user + system));
      return;
    }
    void handle(req, res);
  }).listen(port, '127.0.0.1', () => {
    if (!origins[0]!.endsWith(`:${port}`)) return;
    console.log('ready');
  });
}

async function start(mode: string, file: string, port: number): Promise<ChildProcess> {
  const other = await freePort();
  const child = spawn(process.execPath, ['--conditions=@shared-session/source', fileURLToPath(import.meta.url), '--serve', mode, '--store', file, '--port', String(port), '--other', String(other)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve) => child.stdout.once('data', () => resolve(child)));
}

interface Measured {
  readonly rps: number;
  /** Server CPU time per request, µs. */
  readonly cpu: number;
}

async function cpuOf(port: number): Promise<number> {
  return Number((await request(`http://127.0.0.1:${port}/__cpu`)).body);
}

async function measure(port: number, headers: Record<string, string>, seconds: number): Promise<Measured> {
  const before = await cpuOf(port);
  const result = await autocannon({ url: `http://127.0.0.1:${port}/page`, connections: 10, duration: seconds, headers });
  const cpu = (await cpuOf(port)) - before;
  return { rps: result.requests.average, cpu: cpu / Math.max(1, result.requests.total) };
}

const median = (list: number[]): number => [...list].sort((x, y) => x - y)[Math.floor(list.length / 2)]!;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'shared-session-koa-bench-'));
  const rounds = Number(values.rounds ?? 5);
  const seconds = Number(values.seconds ?? 2);
  const ports = { plain: await freePort(), shared: await freePort() };
  const children = [await start('plain', join(dir, 'plain.sqlite'), ports.plain), await start('shared', join(dir, 'shared.sqlite'), ports.shared)];
  try {
    // A visitor with a cart whose session is linked on each server (the shared one: a page load links it).
    const cookieFor = async (port: number): Promise<string> => {
      const visitor = new Client();
      const origin = `http://${ORIGIN_LABEL}.localhost:${port}`;
      await visitor.fetch(`${origin}/add`);
      await visitor.navigate(`${origin}/`, { headers: { 'user-agent': 'Mozilla/5.0 Firefox/150.0' } });
      return [...visitor.cookies(origin)].map(([name, value]) => `${name}=${value}`).join('; ');
    };
    const cookies = { plain: await cookieFor(ports.plain), shared: await cookieFor(ports.shared) };
    for (const mode of ['plain', 'shared'] as const) {
      // The measured request must be the steady state: a 200 page, nothing to set.
      const check = await request(`http://${ORIGIN_LABEL}.localhost:${ports[mode]}/page`, { headers: { ...NAVIGATION_HEADERS, 'user-agent': 'Mozilla/5.0 Firefox/150.0', cookie: cookies[mode] } });
      if (check.status !== 200 || check.setCookies.length > 0) throw new Error(`${mode}: not the steady state (${check.status}, ${check.setCookies.length} cookies)`);
    }
    const cases = {
      'page load, linked session': (mode: 'plain' | 'shared') => ({ ...NAVIGATION_HEADERS, 'user-agent': 'Mozilla/5.0 Firefox/150.0', cookie: cookies[mode] }),
      'anonymous, no page load': () => ({}),
    };
    for (const [name, headersOf] of Object.entries(cases)) {
      const rps: number[] = [];
      const cpu: number[] = [];
      const plain: Measured[] = [];
      const withShared: Measured[] = [];
      for (let round = 0; round < rounds; round++) {
        const host = (port: number): Record<string, string> => ({ host: `${ORIGIN_LABEL}.localhost:${port}` });
        const a = await measure(ports.plain, { ...host(ports.plain), ...headersOf('plain') }, seconds);
        const b = await measure(ports.shared, { ...host(ports.shared), ...headersOf('shared') }, seconds);
        plain.push(a);
        withShared.push(b);
        rps.push(b.rps / a.rps);
        cpu.push(b.cpu / a.cpu);
      }
      const med = (list: readonly Measured[], key: keyof Measured): string => median(list.map((item) => item[key])).toFixed(0);
      console.log(
        `${name}: koa-session alone ${med(plain, 'rps')} req/s, ${med(plain, 'cpu')} µs CPU/req; with shared-session ${med(withShared, 'rps')} req/s, ${med(withShared, 'cpu')} µs CPU/req; ` +
          `ratio req/s ${median(rps).toFixed(3)} (${Math.min(...rps).toFixed(2)}–${Math.max(...rps).toFixed(2)}), CPU/req ${median(cpu).toFixed(3)} (${Math.min(...cpu).toFixed(2)}–${Math.max(...cpu).toFixed(2)}) over ${rounds} rounds`,
      );
    }
  } finally {
    for (const child of children) child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

if (values.serve) serve(values.serve, values.store!, Number(values.port), Number(values.other));
else await main();
