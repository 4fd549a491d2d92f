/**
 * The benchmark's server process: every variant app (bench/apps.ts) on its own loopback
 * port, so the load generator (bench/run.ts, another process) can interleave them round by
 * round. Prints one JSON line `{"ready": {variant: port, …}}` when all listen.
 *
 *   baseline      express-session only: the status quo
 *   shared2/5     + shared-session, 2 or 5 sites (bench.localhost:1 first)
 *   receiver      a receiving site of the push: /shared-session/<token>.js, and GET /bare (one claim and a Set-Cookie, by hand)
 *   hub, site     two sites for the hop
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import type { Express } from 'express';
import type { ExpressSharedSessionOptions } from 'shared-session/express';
import { SqliteStore } from 'shared-session/sqlite';
import { cookieNames } from '../src/core/cookies.ts';
import { randomId } from '../src/core/random.ts';
import { Purpose } from '../src/core/token.ts';
import { benchApp, benchShared, type BenchShared } from './apps.ts';

const { values } = parseArgs({ options: { store: { type: 'string' }, secret: { type: 'string' } } });
const secret = values.secret!;
const stores: SqliteStore[] = [];

function sites(count: number, first: string): string[] {
  return [first, ...Array.from({ length: count - 1 }, (_, i) => `http://other${i + 1}.localhost:${9000 + i}`)];
}

function store(): SqliteStore {
  const opened = new SqliteStore({ path: values.store! });
  stores.push(opened);
  return opened;
}

/** The bench app of `origin`, one of `origins`, with shared-session. */
function sharedApp(origins: readonly string[], origin: string, options: Partial<ExpressSharedSessionOptions> = {}): { app: Express; shared: BenchShared } {
  const shared = benchShared({ sites: origins, secret, ...options }, origin);
  return { app: benchApp(store(), shared), shared };
}

const apps: Record<string, Express> = { baseline: benchApp(store()) };
for (const count of [2, 5]) {
  const origin = 'http://bench.localhost:1';
  // No health checks: the other sites do not exist, and no case here hops.
  apps[`shared${count}`] = sharedApp(sites(count, origin), origin, { hubProbe: false }).app;
}
{
  // The receiving site of the push: its origin is second of the sites, the sender first.
  const origins = ['http://sender.localhost:1', 'http://receiver.localhost:2'];
  const receiver = sharedApp(origins, origins[1]!, { hop: false });
  const { config } = receiver.shared;
  const site = config.sites.forOrigin(origins[1]!)!;
  // What the endpoint does once its checks pass, by hand: one single-use claim in the same
  // store, and a Set-Cookie as long as the voucher's.
  const voucherLength = (await config.sealer.seal(Purpose.voucher, { src: origins[0], dst: origins[1], iat: Date.now(), sid: randomId(24) })).length;
  const cookie = `${cookieNames(site).voucher}=${'v'.repeat(voucherLength)}; Max-Age=3600; Path=/; HttpOnly; Secure; SameSite=None`;
  const claims = stores.at(-1)!;
  receiver.app.get('/bare', (_req, res, next) => {
    claims.claimOnce(`bare:${randomId()}`, 34_000).then((claimed) => {
      if (!claimed) return next(new Error('a fresh claim was refused'));
      res.setHeader('set-cookie', cookie);
      res.type('text/javascript').send('');
    }, next);
  });
  apps.receiver = receiver.app;
}
{
  const origins = ['http://hub.localhost:1', 'http://site.localhost:2'];
  // No health checks: the origins' ports are not where the apps listen (the load generator maps them).
  apps.hub = sharedApp(origins, origins[0]!, { hubProbe: false }).app;
  apps.site = sharedApp(origins, origins[1]!, { hubProbe: false }).app;
}

const ports: Record<string, number> = {};
await Promise.all(
  Object.entries(apps).map(
    ([name, app]) =>
      new Promise<void>((resolve) => {
        const server = createServer(app);
        server.listen(0, '127.0.0.1', () => {
          ports[name] = (server.address() as AddressInfo).port;
          resolve();
        });
      }),
  ),
);
// The control port: this process's CPU time, read around each measurement. CPU time per
// request is what a variant costs; time the machine takes away from the process is not in it.
const control = createServer((_req, res) => {
  const { user, system } = process.cpuUsage();
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ cpuMicros: user + system }));
});
await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
ports.control = (control.address() as AddressInfo).port;
console.log(JSON.stringify({ ready: ports }));
process.on('SIGTERM', () => {
  for (const opened of stores) opened.close();
  // exit() after the event loop turn, so that --cpu-prof can write its profile.
  setImmediate(() => process.exit(0));
});
