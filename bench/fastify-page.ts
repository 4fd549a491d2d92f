/**
 * The Fastify adapter's page overhead: requests/s of one plain page on @fastify/session
 * alone against the same page with shared-session/fastify registered (steady state: a
 * linked browser whose session did not change; the loader mints nothing), A/B/A/B over
 * loopback, 10 connections, a SQLite store. Run:
 *   node --conditions=@shared-session/source bench/fastify-page.ts [seconds] [rounds]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { SqliteStore } from 'shared-session/sqlite';
import { startFastifySite } from '../test/helpers/fastify-site.ts';
import { Client, NAVIGATION_HEADERS } from '../test/helpers/http.ts';
import { freePort } from '../test/helpers/ports.ts';

const seconds = Number(process.argv[2] ?? 5);
const rounds = Number(process.argv[3] ?? 3);
const dir = mkdtempSync(join(tmpdir(), 'shared-session-fastify-bench-'));
const store = new SqliteStore({ path: join(dir, 'sessions.sqlite') });
const origins = [`http://hub.localhost:${await freePort()}`, `http://site.localhost:${await freePort()}`, `http://plain.localhost:${await freePort()}`];
const sites = origins.slice(0, 2);
const hub = await startFastifySite({ origin: origins[0]!, sites, store });
const shared = await startFastifySite({ origin: origins[1]!, sites, store });
// The status quo: the same app and routes on @fastify/session alone (its plugin kept out).
const plain = await startFastifySite({ origin: origins[2]!, sites, store, withoutShared: true });

async function cookieOf(origin: string): Promise<string> {
  const visitor = new Client();
  await visitor.fetch(`${origin}/add?item=tea`);
  await visitor.navigate(`${origin}/page`);
  await visitor.navigate(`${origin}/page`);
  return [...visitor.cookies(origin)].map(([name, value]) => `${name}=${value}`).join('; ');
}

async function rate(origin: string, cookie: string): Promise<number> {
  const url = new URL(origin);
  const result = await autocannon({
    url: `http://127.0.0.1:${url.port}/page`,
    headers: { ...NAVIGATION_HEADERS, host: url.host, cookie },
    connections: 10,
    duration: seconds,
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${origin}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return result.requests.average;
}

try {
  const plainCookie = await cookieOf(plain.origin);
  const sharedCookie = await cookieOf(shared.origin);
  const ratios: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const base = await rate(plain.origin, plainCookie);
    const ours = await rate(shared.origin, sharedCookie);
    ratios.push(ours / base);
    console.log(`round ${round + 1}: @fastify/session alone ${base.toFixed(0)} req/s, with shared-session ${ours.toFixed(0)} req/s, ratio ${(ours / base).toFixed(3)}`);
  }
  const sorted = [...ratios].sort((x, y) => x - y);
  console.log(`median ratio ${sorted[Math.floor(sorted.length / 2)]!.toFixed(3)}`);
} finally {
  await Promise.all([hub.close(), shared.close(), plain.close()]);
  store.close();
  rmSync(dir, { recursive: true, force: true });
}
