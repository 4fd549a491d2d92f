/**
 * Each adapter's page overhead against its framework's own session middleware: the same
 * little app (bench/adapter-server.ts, its own process) on the framework's session alone,
 * and with shared-session's adapter, measured A/B/A/B within each round (bench/load.ts).
 *
 * The measured request is a Chromium top-level page load of a browser whose session (a
 * cart) every site already holds: the steady state, every page after the first. The
 * browser reached it as a browser would: the cart added, one page load (its hop through
 * the hub), one more (its loader's push recorded in the note); the measured page then sets
 * no cookie and has no loader script, and both variants show the cart: a page that did not
 * load the session would measure nothing.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, NAVIGATION_HEADERS, request } from '../test/helpers/http.ts';
import { pairs, type Load, type Row, type Run } from './load.ts';

export const ADAPTERS = ['express', 'fastify', 'koa', 'hono'] as const;
export type Adapter = (typeof ADAPTERS)[number];

/** Per framework: the hub first, then the site measured (ports in these origins are the load generator's to map). */
export function adapterSites(adapter: Adapter): string[] {
  return [`http://${adapter}-hub.localhost:1`, `http://${adapter}.localhost:2`];
}

const FRAMEWORK: Readonly<Record<Adapter, { readonly title: string; readonly session: string; readonly adapter: string }>> = {
  express: { title: 'Express 5', session: 'express-session', adapter: 'shared-session/express' },
  fastify: { title: 'Fastify 5', session: '@fastify/session', adapter: 'shared-session/fastify' },
  koa: { title: 'Koa 3', session: 'koa-session (over koaStore)', adapter: 'shared-session/koa' },
  hono: { title: 'Hono 4', session: '@hono/session (its storage over SqliteStore)', adapter: 'shared-session/hono (its own session layer)' },
};

export const ADAPTER_GROUP = 'Page: each adapter against its framework’s own session';

async function startServer(dir: string, secret: string): Promise<{ ports: Record<string, number>; stop(): void }> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const child = spawn(process.execPath, ['--conditions=@shared-session/source', join(root, 'bench/adapter-server.ts'), '--store', join(dir, 'adapters.sqlite'), '--secret', secret], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ports = await new Promise<Record<string, number>>((resolve, reject) => {
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const line = buffer.split('\n').find((text) => text.startsWith('{"ready"'));
      if (line) resolve((JSON.parse(line) as { ready: Record<string, number> }).ready);
    });
    child.once('exit', (code) => reject(new Error(`adapter bench server exited with ${code}`)));
  });
  return { ports, stop: () => child.kill('SIGTERM') };
}

/** A browser's cookies for `variant` of `adapter` once it reached the steady state, and the load that repeats its page. */
async function steadyLoad(adapter: Adapter, variant: string, ports: Readonly<Record<string, number>>): Promise<Load> {
  const [hub, site] = adapterSites(adapter).map((origin) => new URL(origin).host) as [string, string];
  const port = ports[variant]!;
  const client = new Client({ balance: { [site]: [port], [hub]: [ports[`${adapter}+hub`]!] } });
  await client.fetch(`http://${site}/add`);
  await client.navigate(`http://${site}/page`);
  await client.navigate(`http://${site}/page`);
  const cookie = [...client.cookies(`http://${site}`)].map(([name, value]) => `${name}=${value}`).join('; ');
  const load: Load = { port, host: site, path: '/page', headers: { ...NAVIGATION_HEADERS, cookie }, expectStatus: 200 };
  const check = await request(`http://127.0.0.1:${port}/page`, { headers: { host: site, ...load.headers } });
  if (check.status !== 200 || !check.body.includes('<li>tea</li>')) throw new Error(`${variant}: the page did not show the session's cart (${check.status})`);
  // The framework's own session cookie may come again (@fastify/session's `rolling` is on by default); none of ours may.
  const ours = check.setCookies.map((cookie) => cookie.name).filter((name) => name !== 'bench.sid');
  if (variant.endsWith('+shared') && (ours.length > 0 || check.body.includes('<script'))) {
    throw new Error(`${variant}: not the steady state (cookies ${ours.join(' / ')}, loader ${check.body.includes('<script')})`);
  }
  return load;
}

export async function adapterCase(options: { quick: boolean; rounds: number; seconds: number; secret: string; dir: string }): Promise<Row[]> {
  const server = await startServer(options.dir, options.secret);
  const run: Run = { quick: options.quick, rounds: options.rounds, seconds: options.seconds, ports: server.ports };
  const rows: Row[] = [];
  try {
    for (const adapter of ADAPTERS) {
      const { title, session, adapter: ours } = FRAMEWORK[adapter];
      const baseline = await steadyLoad(adapter, adapter, server.ports);
      const shared = await steadyLoad(adapter, `${adapter}+shared`, server.ports);
      rows.push(
        ...(await pairs(run, ADAPTER_GROUP, `${title}: ${session} alone (baseline)`, baseline, [
          { name: `${title}: ${ours}`, load: shared, note: 'browser page load, steady state' },
        ])),
      );
    }
  } finally {
    server.stop();
  }
  return rows;
}
