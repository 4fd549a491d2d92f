/**
 * One demo site in this process. Started by `demo/start.ts`, or by hand:
 *
 *   node --conditions=@shared-session/source demo/server.ts --origin http://shop.localhost:3001 \
 *     --sites http://shop.localhost:3001,http://blog.localhost:3002 --store demo/data/sessions.sqlite
 *
 * `--framework express|fastify|hono` picks what serves the site (default express: demo/app.ts;
 * demo/fastify-app.ts, demo/hono-app.ts); every framework serves the same pages over the
 * same store. `--store` takes a SQLite path, `file:<dir>`, `redis://…`, `redis-cluster://h:p,h:p`,
 * `postgres://…` (see demo/store.ts).
 *
 * Secrets come from SHARED_SESSION_SECRET and SESSION_SECRET; DEMO_HOP=off turns the hop
 * off (only the script push is left).
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import { parseArgs } from 'node:util';
import { createDemoApp, type DemoSiteOptions } from './app.ts';
import { createFastifyDemo } from './fastify-app.ts';
import { createHonoDemo } from './hono-app.ts';
import { FRAMEWORKS, type Framework } from './page.ts';
import { openStore } from './store.ts';

const { values } = parseArgs({
  options: {
    origin: { type: 'string' },
    sites: { type: 'string' },
    store: { type: 'string' },
    framework: { type: 'string', default: 'express' },
    // Serve the site on another port too (a second process of the same site, behind one balancer).
    'listen-port': { type: 'string' },
  },
});

function required(name: string, value: string | undefined): string {
  if (!value) {
    console.error(`demo/server.ts: --${name} is required`);
    process.exit(2);
  }
  return value;
}

const origin = required('origin', values.origin);
const sites = required('sites', values.sites).split(',');
const storePath = required('store', values.store);
const secret = required('SHARED_SESSION_SECRET', process.env.SHARED_SESSION_SECRET);
const sessionSecret = required('SESSION_SECRET', process.env.SESSION_SECRET);

const framework = values.framework as Framework;
if (!FRAMEWORKS.includes(framework)) {
  console.error(`demo/server.ts: --framework takes ${FRAMEWORKS.join(', ')} (got ${values.framework})`);
  process.exit(2);
}

const opened = await openStore(storePath);
const siteOptions: DemoSiteOptions = { origin, sites, secret, sessionSecret, store: opened.store, sharingStore: opened.sharingStore, hop: process.env.DEMO_HOP !== 'off' };
let app: RequestListener;
let closeApp = (): Promise<void> => Promise.resolve();
if (framework === 'fastify') {
  const fastify = await createFastifyDemo(siteOptions);
  app = fastify.listener;
  closeApp = () => fastify.close();
} else if (framework === 'hono') {
  app = createHonoDemo(siteOptions).listener;
} else {
  app = createDemoApp(siteOptions).app;
}
const port = Number(values['listen-port'] ?? (new URL(origin).port || 80));

// Browsers resolve *.localhost to 127.0.0.1 or ::1, whichever they try first: serve both.
const servers: Server[] = [];
let listening = 0;
for (const host of ['127.0.0.1', '::1']) {
  const server = createServer(app);
  servers.push(server);
  server.on('error', (error: NodeJS.ErrnoException) => {
    // A machine without IPv6 loopback still serves the demo on IPv4.
    if (host === '::1' && (error.code === 'EADDRNOTAVAIL' || error.code === 'EAFNOSUPPORT')) return ready();
    console.error(`${origin}: cannot listen on ${host}:${port}: ${error.message}`);
    process.exit(1);
  });
  server.listen(port, host, ready);
}

function ready(): void {
  if (++listening === 2) console.log(`ready ${origin}`);
}

function stop(): void {
  for (const server of servers) {
    server.close();
    server.closeAllConnections();
  }
  void closeApp()
    .then(() => opened.close())
    .finally(() => process.exit(0));
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
