/**
 * The benchmark's server process: every variant app on its own loopback port, so the
 * load generator (bench/run.ts, another process) can interleave them round by round.
 * Prints one JSON line `{"ready": {variant: port, …}}` when all listen.
 *
 *   baseline      express-session only: the status quo
 *   shared2/5     + shared-session, 2 or 5 sites; GET /page renders the loader
 *   receiver      a receiving site: /shared-session/<token>.js, and GET /bare?sid= (the same store read and Set-Cookie, by hand)
 *   hub, site     two sites for the hop
 */
import express, { type Express, type Request } from 'express';
import session from 'express-session';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { sharedSession, type SharedSessionMiddleware } from 'shared-session/express';
import { SqliteStore } from 'shared-session/sqlite';
import { EMPTY_NOTE, NOTE_KEY, withHolder, writeNote, type Note } from '../src/core/note.ts';

const { values } = parseArgs({ options: { store: { type: 'string' }, secret: { type: 'string' } } });
export const SESSION_SECRET = 'bench-session-secret-0123456789abcdefghijkl';
const secret = values.secret!;
const stores: SqliteStore[] = [];

function sites(count: number, first: string): string[] {
  return [first, ...Array.from({ length: count - 1 }, (_, i) => `http://other${i + 1}.localhost:${9000 + i}`)];
}

interface Variant {
  readonly app: Express;
  readonly origin?: string | undefined;
}

function base(options: { shared?: SharedSessionMiddleware }): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  const store = new SqliteStore({ path: values.store! });
  stores.push(store);
  app.use(session({ secret: SESSION_SECRET, store, resave: false, saveUninitialized: false, name: 'bench.sid', cookie: { maxAge: 3_600_000, sameSite: 'lax' } }));
  if (options.shared) app.use(options.shared);
  return app;
}

/** A page like most: a little HTML around session data; the loader when shared-session is on. */
function page(app: Express, shared?: SharedSessionMiddleware): void {
  // `?loader=0`: the same page without the loader (shared-session still mounted).
  app.get('/page', async (req, res) => {
    const loader = shared && req.query.loader !== '0' ? await shared.loader(req, res) : '';
    const cart = (req.session as unknown as { cart?: string[] }).cart ?? [];
    res.type('html').send(`<!doctype html><title>shop</title><h1>Cart</h1><ul>${cart.map((item) => `<li>${item}</li>`).join('')}</ul>${loader}`);
  });
  // A session to load: `held=all` links it and marks every site as holding it (the steady state).
  app.get('/setup', (req: Request, res) => {
    const data = req.session as unknown as Record<string, unknown>;
    data.cart = ['tea', 'milk'];
    if (req.query.held === 'all' && shared) {
      const linked: Note = { ...EMPTY_NOTE, key: 'benchmarkbenchmarkbenc' };
      data[NOTE_KEY] = writeNote(shared.core.config.sites.all.reduce((note, site) => withHolder(note, site.noteId, 'held'), linked));
    }
    res.json({ id: req.sessionID });
  });
}

const variants: Record<string, Variant> = {};
variants.baseline = { app: base({}) };
page(variants.baseline.app);
for (const count of [2, 5]) {
  const origin = 'http://bench.localhost:1';
  const shared = sharedSession({ sites: sites(count, origin), secret, hubProbe: false });
  const app = base({ shared });
  page(app, shared);
  variants[`shared${count}`] = { app, origin };
}
{
  // The receiving site of the push: its origin is second of the sites, the sender first.
  const origins = ['http://sender.localhost:1', 'http://receiver.localhost:2'];
  const shared = sharedSession({ sites: origins, secret, hop: false });
  const app = base({ shared });
  app.get('/bare', (req, res, next) => {
    // By hand what the push does after its checks: read the session, adopt it, let express-session set the cookie.
    const sid = typeof req.query.sid === 'string' ? req.query.sid : '';
    req.sessionStore.get(sid, (error, data) => {
      if (error || !data) return next(error ?? new Error('no session'));
      req.sessionID = sid;
      req.sessionStore.createSession(req, data);
      res.type('text/javascript').send('');
    });
  });
  page(app, shared);
  variants.receiver = { app, origin: origins[1] };
}
for (const [name, index] of [['hub', 0], ['site', 1]] as const) {
  const origins = ['http://hub.localhost:1', 'http://site.localhost:2'];
  const shared = sharedSession({ sites: origins, secret, hubProbe: false });
  const app = base({ shared });
  page(app, shared);
  variants[name] = { app, origin: origins[index] };
}

const ports: Record<string, number> = {};
await Promise.all(
  Object.entries(variants).map(
    ([name, variant]) =>
      new Promise<void>((resolve) => {
        const server = createServer(variant.app);
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
  for (const store of stores) store.close();
  // exit() after the event loop turn, so that --cpu-prof can write its profile.
  setImmediate(() => process.exit(0));
});
