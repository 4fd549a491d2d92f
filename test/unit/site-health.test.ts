import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { resolveOptions } from '../../src/core/options.ts';
import { SiteHealth, checkSite, checkTarget, type CheckResult } from '../../src/core/site-health.ts';
import { SharedSession, memorySharingStore, type RequestFacts, type SessionPort, type WarningEvent } from '../../src/index.ts';
import { NAVIGATION_HEADERS } from '../helpers/http.ts';
import { SHARED_SECRET } from '../helpers/sites.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

describe('the health check (over fetch)', () => {
  let server: Server;
  let port: number;
  const hits: string[] = [];
  let handler: Handler = (_req, res) => void res.writeHead(204).end();
  before(async () => {
    server = createServer((req, res) => {
      hits.push(`${req.url} ${req.headers.host}`);
      handler(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const url = (path = '/shared-session/health'): URL => new URL(`http://127.0.0.1:${port}${path}`);

  it('counts every status below 500 as up, redirects included and not followed, and a 5xx as down', async () => {
    for (const [status, up] of [[204, true], [200, true], [302, true], [404, true], [500, false], [503, false]] as const) {
      handler = (_req, res) => void res.writeHead(status, status === 302 ? { location: `http://127.0.0.1:${port}/elsewhere` } : {}).end();
      hits.length = 0;
      const result = await checkSite(url(), 1000);
      assert.equal(result.up, up, `HTTP ${status}`);
      if (!result.up) assert.equal(result.why, `it answered HTTP ${status}`);
      assert.deepEqual(hits.map((hit) => hit.split(' ')[0]), ['/shared-session/health'], `HTTP ${status}: one request, no redirect followed`);
    }
    handler = (_req, res) => void res.writeHead(204).end();
  });

  it('counts no answer within the timeout as down, from the start of the request, and says so', async () => {
    handler = () => undefined; // never answers
    const started = performance.now();
    const result = await checkSite(url(), 200);
    const elapsed = performance.now() - started;
    handler = (_req, res) => void res.writeHead(204).end();
    assert.equal(result.up, false);
    assert.ok(elapsed >= 190 && elapsed < 1000, `${Math.round(elapsed)} ms`);
    if (result.up) return;
    assert.equal(result.why, 'no answer within 200 ms');
    assert.equal((result.cause as Error).name, 'TimeoutError');
  });

  it('keeps the underlying error of a network failure (the code, not fetch’s "fetch failed")', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await checkSite(new URL(`http://127.0.0.1:${closedPort}/`), 1000);
    assert.equal(refused.up, false);
    if (!refused.up) {
      assert.equal(refused.why, 'ECONNREFUSED');
      assert.equal((refused.cause as { code?: string }).code, 'ECONNREFUSED');
    }
    const unresolved = await checkSite(new URL('https://no-such-host.invalid/'), 2000);
    assert.equal(unresolved.up, false);
    if (!unresolved.up) assert.match(String((unresolved.cause as { code?: string }).code), /^(ENOTFOUND|EAI_AGAIN)$/);
  });

  it('checks a plain-http localhost name on 127.0.0.1, whatever the resolver knows; an https one keeps its name', async () => {
    assert.equal(checkTarget(new URL('http://shop.localhost:3001/shared-session/health')).href, 'http://127.0.0.1:3001/shared-session/health');
    assert.equal(checkTarget(new URL('http://localhost:3001/x')).href, 'http://127.0.0.1:3001/x');
    assert.equal(checkTarget(new URL('https://shop.localhost:3001/x')).href, 'https://shop.localhost:3001/x');
    assert.equal(checkTarget(new URL('http://localhost.example.com/x')).href, 'http://localhost.example.com/x');
    hits.length = 0;
    assert.equal((await checkSite(new URL(`http://hub.localhost:${port}/shared-session/health`), 1000)).up, true);
    assert.equal(hits.length, 1);
  });

  it('runs one check at a time per site, keeps the verdict, and reports changes with their cause', async () => {
    const hub = `http://hub.localhost:${port}`;
    const config = resolveOptions({ sites: [hub, 'http://other.localhost:1'], secret: SHARED_SECRET, hubTimeoutMs: 300 });
    const changes: CheckResult[] = [];
    const health = new SiteHealth(config, (_site, result) => changes.push(result));
    hits.length = 0;
    const answers = await Promise.all([health.isUp(config.hub), health.isUp(config.hub), health.isUp(config.hub)]);
    assert.deepEqual(answers, [true, true, true]);
    assert.equal(await health.isUp(config.hub), true);
    assert.equal(hits.length, 1, 'one check for four questions');
    assert.equal(changes.length, 0, 'a first "up" is no change');
    // The other site is down (port 1, which fetch refuses as browsers do): reported once, with the cause.
    const other = config.sites.forOrigin('http://other.localhost:1')!;
    assert.equal(await health.isUp(other), false);
    assert.equal(await health.isUp(other), false);
    assert.equal(changes.length, 1);
    assert.equal(changes[0]!.up, false);
    assert.ok(!changes[0]!.up && changes[0]!.cause !== undefined);
  });

  it('puts the cause on the core’s HUB_UNREACHABLE warning, and serves the page without a hop', async () => {
    const hub = `http://hub.localhost:${port}`;
    const site = 'http://site.localhost:2';
    // The hub's check goes to a port where nothing listens.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const core = new SharedSession({ sites: [hub, site], secret: SHARED_SECRET, hubProbe: `http://127.0.0.1:${closedPort}/health` });
    const warnings: WarningEvent[] = [];
    core.on('warning', (event) => warnings.push(event));
    const facts: RequestFacts = { raw: undefined, method: 'GET', path: '/', search: '', host: 'site.localhost:2', https: false, header: (name) => NAVIGATION_HEADERS[name] };
    const session: SessionPort = {
      id: 'a-new-session',
      isEmpty: () => true,
      persist: () => Promise.resolve('a-new-session'),
      find: () => Promise.resolve(undefined),
      destroy: () => Promise.resolve(),
      sharingStore: memorySharingStore(),
      readNote: () => undefined,
      writeNote: () => undefined,
    };
    const handled = await core.handle(facts, session);
    assert.equal(handled.kind, 'pass', 'no hop to a hub that is down');
    const unreachable = warnings.filter((event) => event.code === 'HUB_UNREACHABLE');
    assert.equal(unreachable.length, 1);
    assert.match(unreachable[0]!.message, /did not answer its check \(ECONNREFUSED\)/);
    assert.equal((unreachable[0]!.cause as { code?: string }).code, 'ECONNREFUSED');
  });
});
