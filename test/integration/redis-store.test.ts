import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import express from 'express';
import session from 'express-session';
import { createClient, createCluster } from 'redis';
import { SharedSessionError } from 'shared-session';
import { RedisStore } from 'shared-session/redis';
import { request } from '../helpers/http.ts';
import { redisCli, startRedis, startRedisCluster, type RedisClusterServers, type RedisServer } from '../helpers/redis-server.ts';
import { describeStoreContract } from '../helpers/store-contract.ts';

declare module 'express-session' {
  interface SessionData {
    n: number;
  }
}

type Cb<T> = (callback: (error: unknown, value?: T) => void) => void;
const p = <T>(run: Cb<T>): Promise<T | undefined> =>
  new Promise((resolve, reject) => run((error, value) => (error ? reject(error instanceof Error ? error : new Error('store failed', { cause: error })) : resolve(value))));
const set = (store: RedisStore, sid: string, session: object) => p<void>((cb) => store.set(sid, session, cb));
const touch = (store: RedisStore, sid: string, session: object) => p<void>((cb) => store.touch(sid, session, cb));
const get = (store: RedisStore, sid: string) => p<Record<string, unknown> | null>((cb) => store.get(sid, cb));
const inMs = (ms: number) => ({ originalMaxAge: ms, expires: new Date(Date.now() + ms).toISOString(), httpOnly: true, path: '/' });

/** Save a session until the store takes it, for at most `limitMs`: how long that took, or undefined. */
async function untilServed(store: RedisStore, limitMs: number, pauseMs: number): Promise<number | undefined> {
  const upAt = performance.now();
  while (performance.now() - upAt < limitMs) {
    const served = await set(store, 'late', { cookie: inMs(60_000), ok: true }).then(
      () => true,
      () => false,
    );
    if (served) return performance.now() - upAt;
    await sleep(pauseMs);
  }
  return undefined;
}

describeStoreContract('RedisStore (standalone Redis; twin on a RESP2 client passed in)', async () => {
  const server = await startRedis();
  const store = new RedisStore({ url: server.url });
  // The twin covers the other way in: a client the application created and connected itself.
  const client = createClient({ url: server.url, RESP: 2, disableOfflineQueue: true });
  client.on('error', () => undefined);
  await client.connect();
  const twin = new RedisStore({ client });
  return {
    store,
    twin,
    entries: async () => (await client.sendCommand<string[]>(['KEYS', '*'])).map(String),
    close: async () => {
      await store.close();
      await twin.close();
      await client.close();
      await server.stop();
    },
  };
});

describeStoreContract('RedisStore (3-master Redis Cluster; twin on a cluster client passed in)', async () => {
  const cluster = await startRedisCluster();
  const store = new RedisStore({ cluster: { rootNodes: [...cluster.rootNodes] } });
  const client = createCluster({ rootNodes: [...cluster.rootNodes], defaults: { disableOfflineQueue: true } });
  client.on('error', () => undefined);
  await client.connect();
  const twin = new RedisStore({ client });
  return {
    store,
    twin,
    entries: async () => {
      const nodes = await Promise.all(client.masters.map((master) => client.nodeClient(master)));
      const keys = await Promise.all(nodes.map((node) => node.sendCommand<string[]>(['KEYS', '*'])));
      return keys.flat().map(String);
    },
    close: async () => {
      await store.close();
      await twin.close();
      await client.close();
      await cluster.stop();
    },
  };
});

describe('RedisStore on a Redis Cluster', () => {
  let cluster: RedisClusterServers;
  let store: RedisStore;
  before(async () => {
    cluster = await startRedisCluster();
    store = new RedisStore({ cluster: { rootNodes: [...cluster.rootNodes] } });
  });
  after(async () => {
    await store.close();
    await cluster.stop();
  });

  it('lets the process exit when closed while its clients are still connecting', async () => {
    const fixture = fileURLToPath(new URL('../fixtures/close-at-once.ts', import.meta.url));
    for (const options of [{ cluster: { rootNodes: cluster.rootNodes } }, { url: `redis://127.0.0.1:${cluster.ports[0]!}` }]) {
      // Asynchronously: a spawnSync would block this process's event loop for as long as the
      // child runs, while the suite's own store is still connecting to the cluster, and on a
      // loaded machine its cluster client then gave up ("The client is offline").
      const run = await new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) => {
        const child = execFile(process.execPath, ['--conditions=@shared-session/source', fixture, JSON.stringify(options)], { encoding: 'utf8', timeout: 10_000 }, (_error, stdout, stderr) =>
          resolve({ code: child.exitCode, signal: child.signalCode, stdout, stderr }),
        );
      });
      assert.deepEqual([run.code, run.signal, run.stdout], [0, null, 'closed\n'], `${Object.keys(options)[0]!}: ${run.stderr}`);
    }
  });

  it('spreads sessions over every master, and lists, counts and clears them across the cluster', async () => {
    await Promise.all(Array.from({ length: 300 }, (_, i) => set(store, `spread-${i}`, { cookie: inMs(60_000), i })));
    const perMaster = await Promise.all(cluster.ports.map(async (port) => Number(await redisCli(port, 'EVAL', "return #redis.call('KEYS', 'sess:{*')", '0'))));
    assert.equal(perMaster.reduce((a, b) => a + b, 0), 300);
    for (const held of perMaster) assert.ok(held > 30, `every master holds sessions: ${perMaster.join(', ')}`);
    assert.equal(await p<number>((cb) => store.length(cb)), 300);
    const listed = (await p<Record<string, { i: number }>>((cb) => store.all(cb))) ?? {};
    assert.equal(Object.keys(listed).length, 300);
    assert.equal(listed['spread-42']?.i, 42);
    await p<void>((cb) => store.clear(cb));
    assert.equal(await p<number>((cb) => store.length(cb)), 0);
    const left = await Promise.all(cluster.ports.map((port) => redisCli(port, 'EVAL', "return #redis.call('KEYS', 'sess:{*')", '0')));
    assert.deepEqual(left, cluster.ports.map(() => '0'));
  });

  it('skips tombstones, claims and links when listing, counting and clearing, and keeps tombstones through clear', async () => {
    await p<void>((cb) => store.clear(cb));
    await set(store, 'kept', { cookie: inMs(60_000) });
    await set(store, 'gone', { cookie: inMs(60_000) });
    const slow = store.createSession({ sessionID: 'gone', sessionStore: store }, (await get(store, 'gone')) as object) as Record<string, unknown>;
    await p<void>((cb) => store.destroy('gone', cb));
    await store.claimOnce('some-token', 60_000);
    await store.writeLink('some-browser', '{"sid":"kept"}', 60_000);
    assert.deepEqual(Object.keys((await p<object>((cb) => store.all(cb))) ?? {}), ['kept']);
    assert.equal(await p<number>((cb) => store.length(cb)), 1);
    await p<void>((cb) => store.clear(cb));
    assert.equal(await p<number>((cb) => store.length(cb)), 0);
    // The tombstone outlived clear(): a late save of the destroyed session is still dropped.
    slow.late = true;
    await set(store, 'gone', slow);
    assert.equal(await get(store, 'gone'), null);
  });

  it('answers 503 for the sessions of a master that is down, serves the others, and recovers', async (t) => {
    // Within the cluster's node timeout (5 s here) the other masters keep serving their slots.
    const sids = Array.from({ length: 30 }, (_, i) => `node-${i}`);
    await Promise.all(sids.map((sid) => set(store, sid, { cookie: inMs(60_000), sid })));
    const victim = cluster.nodes[1] as RedisServer;
    const owner = async (sid: string) => (await redisCli(victim.port, 'EXISTS', `sess:{${sid}}`)) === '1';
    const onVictim = (await Promise.all(sids.map(async (sid) => ((await owner(sid)) ? sid : undefined)))).filter((sid) => sid !== undefined);
    const elsewhere = sids.filter((sid) => !onVictim.includes(sid));
    assert.ok(onVictim.length > 0 && elsewhere.length > 0);
    await victim.kill();
    const started = performance.now();
    const results = await Promise.allSettled(sids.map((sid) => get(store, sid)));
    const tookMs = performance.now() - started;
    sids.forEach((sid, i) => {
      const result = results[i] as PromiseSettledResult<unknown>;
      if (onVictim.includes(sid)) assert.equal(result.status === 'rejected' && (result.reason as SharedSessionError).code, 'ERR_SHARED_SESSION_STORE_UNAVAILABLE');
      else assert.equal(result.status === 'fulfilled' && (result.value as { sid: string }).sid, sid);
    });
    assert.ok(tookMs < 1000, `answered within 1 s: ${tookMs} ms`);
    await victim.start();
    const upAt = performance.now();
    let recoveredIn: number | undefined;
    while (recoveredIn === undefined && performance.now() - upAt < 10_000) {
      await set(store, onVictim[0] as string, { cookie: inMs(60_000), back: true }).then(
        () => (recoveredIn = performance.now() - upAt),
        () => sleep(50), // the client is back at once; the node answers CLUSTERDOWN until it rejoined
      );
    }
    assert.ok(recoveredIn !== undefined, 'the restarted master serves again');
    // Without persistence the restarted master lost its sessions: they read as missing, not as errors.
    if (onVictim[1]) assert.equal(await get(store, onVictim[1]), null);
    t.diagnostic(`${onVictim.length}/30 sessions on the stopped master: 503 (all 30 answered in ${round(tookMs)} ms); served again ${round(recoveredIn)} ms after it restarted`);
  });
});

describe('RedisStore on a Redis Cluster that is down when the app starts', () => {
  it('fails at once, keeps trying, and serves once the cluster is up', async (t) => {
    const cluster = await startRedisCluster();
    await Promise.all(cluster.nodes.map((node) => node.kill()));
    const store = new RedisStore({ cluster: { rootNodes: [...cluster.rootNodes] } });
    try {
      const started = performance.now();
      await assert.rejects(get(store, 'x'), { code: 'ERR_SHARED_SESSION_STORE_UNAVAILABLE' });
      const failedIn = performance.now() - started;
      assert.ok(failedIn < 1000, `failed in ${failedIn} ms`);
      await Promise.all(cluster.nodes.map((node) => node.start())); // each node rejoins from its nodes.conf
      const servedIn = await untilServed(store, 30_000, 100);
      assert.ok(servedIn !== undefined, 'serves once the cluster is up');
      assert.equal((await get(store, 'late'))?.ok, true);
      t.diagnostic(`first request failed after ${round(failedIn)} ms; served ${round(servedIn)} ms after the nodes restarted`);
    } finally {
      await store.close();
      await cluster.stop();
    }
  });
});

describe('RedisStore on one Redis', () => {
  let server: RedisServer;
  let store: RedisStore;
  before(async () => {
    server = await startRedis();
    store = new RedisStore({ url: server.url });
  });
  after(async () => {
    await store.close();
    await server.stop();
  });

  it('keeps one versioned string per session, and merges a save into a record another save changed', async () => {
    await set(store, 'layout', { cookie: inMs(60_000), user: 'alice', cart: ['tea'] });
    assert.equal(await redisCli(server.port, 'TYPE', 'sess:{layout}'), 'string');
    const stored = await redisCli(server.port, 'GET', 'sess:{layout}');
    assert.match(stored, /^[A-Za-z0-9_-]{8}:\{/);
    assert.deepEqual((JSON.parse(stored.slice(9)) as { cart: unknown }).cart, ['tea']);
    const ttl = Number(await redisCli(server.port, 'PTTL', 'sess:{layout}'));
    assert.ok(ttl > 55_000 && ttl <= 60_000, `expiry from the cookie: ${ttl}`);
    // Another writer's save in between (a new version with another key) survives this save.
    const loaded = store.createSession({ sessionID: 'layout', sessionStore: store }, (await get(store, 'layout')) as object) as Record<string, unknown>;
    const other = JSON.parse(stored.slice(9)) as Record<string, unknown>;
    other.theme = 'dark';
    await redisCli(server.port, 'SET', 'sess:{layout}', `otherver:${JSON.stringify(other)}`, 'PX', '60000');
    loaded.cart = ['tea', 'milk'];
    await set(store, 'layout', loaded);
    assert.deepEqual(await get(store, 'layout'), { cookie: JSON.parse(JSON.stringify(loaded.cookie)) as unknown, user: 'alice', cart: ['tea', 'milk'], theme: 'dark' });
    const merged = await redisCli(server.port, 'GET', 'sess:{layout}');
    assert.ok(!merged.startsWith('otherver:') && merged !== stored, 'a new version');
    // Its next save merges again (its view lacks `theme`), and keeps the other writer's key.
    loaded.user = 'alice2';
    await set(store, 'layout', loaded);
    assert.deepEqual(((await get(store, 'layout')) as Record<string, unknown>).theme, 'dark');
  });

  it('moves only the expiry on touch, and never creates a record', async () => {
    await set(store, 'touchy', { cookie: inMs(60_000), n: 1 });
    const before = await redisCli(server.port, 'GET', 'sess:{touchy}');
    await touch(store, 'touchy', { cookie: inMs(120_000), n: 1 });
    assert.equal(await redisCli(server.port, 'GET', 'sess:{touchy}'), before);
    assert.ok(Number(await redisCli(server.port, 'PTTL', 'sess:{touchy}')) > 110_000);
    await touch(store, 'never-saved', { cookie: inMs(120_000) });
    assert.equal(await redisCli(server.port, 'EXISTS', 'sess:{never-saved}'), '0');
  });

  it('leaves a tombstone in the session key on destroy, and keeps claims and links under the prefix', async () => {
    await set(store, 'doomed', { cookie: inMs(60_000) });
    await p<void>((cb) => store.destroy('doomed', cb));
    assert.equal(await redisCli(server.port, 'GET', 'sess:{doomed}'), 't');
    const ttl = Number(await redisCli(server.port, 'PTTL', 'sess:{doomed}'));
    assert.ok(ttl > 3_500_000 && ttl <= 3_600_000, `tombstone lives tombstoneSeconds: ${ttl}`);
    assert.equal(await store.claimOnce('jti-1', 5000), true);
    assert.equal(await redisCli(server.port, 'EXISTS', 'sess:claim:jti-1'), '1');
    await store.writeLink('bid-1', 'v', 5000);
    assert.equal(await redisCli(server.port, 'GET', 'sess:link:bid-1'), 'v');
  });

  it('runs its scripts again after Redis forgot them (SCRIPT FLUSH, as after a restart)', async () => {
    await set(store, 'flush', { cookie: inMs(60_000), n: 1 });
    await redisCli(server.port, 'SCRIPT', 'FLUSH');
    await set(store, 'flush', { cookie: inMs(60_000), n: 2 });
    await redisCli(server.port, 'SCRIPT', 'FLUSH');
    await touch(store, 'flush', { cookie: inMs(60_000), n: 2 });
    await redisCli(server.port, 'SCRIPT', 'FLUSH');
    await p<void>((cb) => store.destroy('flush', cb));
    assert.equal(await get(store, 'flush'), null);
  });

  it('keeps stores with different prefixes apart', async () => {
    const other = new RedisStore({ url: server.url, prefix: 'app2:' });
    try {
      await p<void>((cb) => store.clear(cb));
      await set(store, 'mine', { cookie: inMs(60_000) });
      await set(other, 'theirs', { cookie: inMs(60_000) });
      assert.deepEqual(Object.keys((await p<object>((cb) => other.all(cb))) ?? {}), ['theirs']);
      await p<void>((cb) => other.clear(cb));
      assert.equal(await p<number>((cb) => store.length(cb)), 1);
      assert.equal(await redisCli(server.port, 'EXISTS', 'app2:{theirs}'), '0');
    } finally {
      await other.close();
    }
  });

  it('stores a session with thousands of top-level keys', async () => {
    const big: Record<string, unknown> = { cookie: inMs(60_000) };
    for (let i = 0; i < 5000; i++) big[`k${i}`] = i;
    await set(store, 'big', big);
    const loaded = store.createSession({ sessionID: 'big', sessionStore: store }, (await get(store, 'big')) as object) as Record<string, unknown>;
    for (let i = 0; i < 5000; i++) loaded[`k${i}`] = -i;
    for (let i = 0; i < 3000; i++) delete loaded[`k${i}`];
    await set(store, 'big', loaded);
    const back = (await get(store, 'big')) ?? {};
    assert.equal(Object.keys(back).length, 2001);
    assert.equal(back.k4999, -4999);
  });

  it('validates its options', () => {
    const code = { code: 'ERR_SHARED_SESSION_OPTION' };
    assert.throws(() => new RedisStore(undefined as never), code);
    assert.throws(() => new RedisStore({}), /`url` is missing/);
    assert.throws(() => new RedisStore({ url: server.url, cluster: { rootNodes: [{ url: server.url }] } }), /`cluster` cannot be combined with `url`/);
    assert.throws(() => new RedisStore({ url: 'http://127.0.0.1:6379' }), /`url` must be a redis:\/\/ or rediss:\/\/ URL/);
    assert.throws(() => new RedisStore({ cluster: { rootNodes: [] } }), /`cluster` must be node-redis cluster options/);
    assert.throws(() => new RedisStore({ client: {} as never }), /`client` must be a node-redis client/);
    assert.throws(() => new RedisStore({ url: server.url, prefix: 'sess:{x}:' }), /`prefix`/);
    assert.throws(() => new RedisStore({ url: server.url, prefix: 7 as never }), /`prefix`/);
    assert.throws(() => new RedisStore({ url: server.url, operationTimeoutMs: 0 }), /operationTimeoutMs/);
    assert.throws(() => new RedisStore({ url: server.url, tombstoneSeconds: -1 }), SharedSessionError);
  });

  it('warns about a client passed in that would queue commands during an outage', async () => {
    const warnings: string[] = [];
    const listener = (warning: Error) => warnings.push(warning.message);
    process.on('warning', listener);
    try {
      const queueing = new RedisStore({ client: createClient({ url: server.url }) });
      const fine = new RedisStore({ client: createClient({ url: server.url, disableOfflineQueue: true }) });
      await sleep(50); // warnings are emitted on the next tick
      assert.equal(warnings.filter((message) => message.includes('disableOfflineQueue')).length, 1);
      await queueing.close();
      await fine.close();
    } finally {
      process.off('warning', listener);
    }
  });

  it('starts while Redis is down: 503 at once, then serves as soon as Redis is up', async (t) => {
    const late = await startRedis();
    await late.kill();
    const early = new RedisStore({ url: late.url });
    try {
      const started = performance.now();
      await assert.rejects(get(early, 'x'), { code: 'ERR_SHARED_SESSION_STORE_UNAVAILABLE' });
      const failedIn = performance.now() - started;
      assert.ok(failedIn < 1000, `failed in ${failedIn} ms`);
      await late.start();
      const servedIn = await untilServed(early, 5000, 20);
      assert.ok(servedIn !== undefined, 'serves within 5 s of Redis coming up');
      assert.deepEqual((await get(early, 'late'))?.ok, true);
      t.diagnostic(`first request failed after ${round(failedIn)} ms; served ${round(servedIn)} ms after Redis came up`);
    } finally {
      await early.close();
      await late.stop();
    }
  });

  it('fails at once with a 503-type error on a client passed in that is not connected', async () => {
    const client = createClient({ url: server.url, disableOfflineQueue: true });
    const idle = new RedisStore({ client });
    const started = performance.now();
    await assert.rejects(p((cb) => idle.get('x', cb)), { code: 'ERR_SHARED_SESSION_STORE_UNAVAILABLE', status: 503 });
    assert.ok(performance.now() - started < 500);
    await idle.close();
  });
});

interface Hit {
  readonly path: string;
  readonly started: number;
  readonly ms: number;
  /** The status, or 0 when the connection broke before a whole response arrived. */
  readonly status: number;
  readonly body: string;
}

/** A real Express app: express-session on the store, a counter in the session. */
async function startApp(store: RedisStore): Promise<{ url: string; close(): Promise<void> }> {
  const app = express();
  app.set('env', 'test'); // Express's error handler would log each of the 503s
  app.use(session({ store, name: 'sid', secret: 'redis-store-test-secret-0123456789', resave: false, saveUninitialized: false, cookie: { maxAge: 3_600_000 } }));
  app.get('/count', (req, res) => {
    req.session.n = (req.session.n ?? 0) + 1;
    res.json({ id: req.sessionID, n: req.session.n });
  });
  app.get('/peek', (req, res) => {
    res.json({ id: req.sessionID, n: req.session.n ?? null });
  });
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A browser with one cookie jar. */
function visitor(base: string) {
  let cookie: string | undefined;
  return async (path: string): Promise<Hit> => {
    const started = performance.now();
    try {
      const res = await request(`${base}${path}`, cookie ? { headers: { cookie } } : {});
      const set = res.headers['set-cookie']?.[0];
      if (set && res.status === 200) cookie = set.split(';')[0];
      return { path, started, ms: performance.now() - started, status: res.status, body: res.body };
    } catch {
      return { path, started, ms: performance.now() - started, status: 0, body: '' };
    }
  };
}

/** Requests one after another until `stop()`, each recorded. */
function stream(hit: (path: string) => Promise<Hit>, paths: readonly string[]) {
  const hits: Hit[] = [];
  let running = true;
  const done = (async () => {
    for (let i = 0; running; i++) hits.push(await hit(paths[i % paths.length] as string));
  })();
  return {
    hits,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const round = (ms: number) => Math.round(ms * 10) / 10;

for (const persist of [false, true]) {
  describe(`RedisStore behind Express while Redis ${persist ? 'with an append-only file' : 'without persistence'} goes away`, () => {
    it('answers 503 quickly while Redis is down, and recovers by itself when it is back', async (t) => {
      const redis = await startRedis({ persist });
      const store = new RedisStore({ url: redis.url });
      const app = await startApp(store);
      let load: ReturnType<typeof stream> | undefined;
      try {
        // A visitor whose session exists before the fault.
        const alice = visitor(app.url);
        let first: { id: string; n: number } | undefined;
        for (let i = 0; i < 3; i++) first = JSON.parse((await alice('/count')).body) as { id: string; n: number };
        assert.equal(first?.n, 3);

        // A stream of requests by another visitor with a session: saves and touches.
        const bob = visitor(app.url);
        assert.equal((await bob('/count')).status, 200);
        load = stream(bob, ['/count', '/peek']);
        await sleep(500);
        const killedAt = performance.now();
        await redis.kill('SIGKILL');
        await sleep(700);
        // A new visitor (no cookie) during the outage: a page that needs no session works. A
        // page that creates a session answers 200 although the save failed: express-session
        // saves after the page was rendered and only passes the error on (see the report).
        const freshPeek = await visitor(app.url)('/peek');
        const freshCount = await visitor(app.url)('/count');
        assert.equal(freshPeek.status, 200);
        assert.ok(freshCount.ms < 1000, `no hang: ${JSON.stringify(freshCount)}`);
        await sleep(Math.max(0, killedAt + 1500 - performance.now()));
        const restartedAt = performance.now();
        await redis.start();
        const upAt = performance.now();
        let recoveredAt: number | undefined;
        for (const deadline = performance.now() + 10_000; performance.now() < deadline; await sleep(20)) {
          const ok = load.hits.find((hit) => hit.started > upAt && hit.status === 200);
          if (ok) {
            recoveredAt = ok.started + ok.ms;
            break;
          }
        }
        await sleep(300);
        await load.stop();

        const before = load.hits.filter((hit) => hit.started + hit.ms < killedAt);
        // Requests that began before the kill may have loaded the session and then failed to
        // save it: express-session has sent the 200 head by then, so the connection breaks.
        const down = load.hits.filter((hit) => hit.started > killedAt + 300 && hit.started + hit.ms < restartedAt);
        const failed = load.hits.filter((hit) => hit.status !== 200);
        assert.ok(before.length > 5 && before.every((hit) => hit.status === 200), 'all good before the fault');
        assert.ok(down.length > 10, `a stream of requests while Redis was down: ${down.length}`);
        assert.deepEqual([...new Set(down.map((hit) => hit.status))], [503], 'every request while Redis was down: 503');
        for (const hit of failed) assert.ok(hit.started < killedAt + 300 || hit.status === 503, `only 503 after the kill: ${JSON.stringify(hit)}`);
        const worst = Math.max(...down.map((hit) => hit.ms));
        assert.ok(worst < 1000, `every 503 arrived within 1 s: the slowest took ${worst} ms`);
        assert.ok(recoveredAt !== undefined, 'requests succeed again after Redis restarted, without restarting the app');
        assert.ok(recoveredAt - upAt < 5000, `recovered within 5 s of Redis answering: ${recoveredAt - upAt} ms`);
        const broken = load.hits.filter((hit) => hit.status === 0).length;
        t.diagnostic(
          `persist=${persist}: ${load.hits.length} requests; ${down.length} while down, all 503, median ${round(median(down.map((hit) => hit.ms)))} ms, ` +
            `slowest ${round(worst)} ms; broken connections at the kill: ${broken}; Redis restart took ${round(upAt - restartedAt)} ms; ` +
            `first 200 ${round(recoveredAt - upAt)} ms after Redis answered; a new visitor's page that failed to save: ${freshCount.status || 'broken connection'} after ${round(freshCount.ms)} ms`,
        );

        // The session from before the fault: kept if Redis kept it, else a fresh one.
        const again = JSON.parse((await alice('/count')).body) as { id: string; n: number };
        if (persist) assert.deepEqual(again, { id: first?.id, n: 4 }, 'Redis replayed its append-only file: the session lives on');
        else {
          assert.notEqual(again.id, first?.id, 'Redis lost its data: a fresh session, not an error');
          assert.equal(again.n, 1);
          assert.deepEqual(JSON.parse((await alice('/count')).body), { id: again.id, n: 2 }, 'and the fresh session is kept');
        }
      } finally {
        await load?.stop();
        await app.close();
        await store.close();
        await redis.stop();
      }
    });
  });
}

describe('RedisStore behind Express while Redis hangs', () => {
  it('answers 503 after operationTimeoutMs, and serves again once Redis runs', async (t) => {
    const redis = await startRedis();
    const store = new RedisStore({ url: redis.url, operationTimeoutMs: 300 });
    const app = await startApp(store);
    try {
      const carol = visitor(app.url);
      assert.equal((await carol('/count')).status, 200);
      redis.pause();
      const hung = [await carol('/peek'), await carol('/count'), await carol('/peek')];
      redis.resume();
      for (const hit of hung) {
        assert.equal(hit.status, 503);
        assert.ok(hit.ms >= 250 && hit.ms < 1300, `503 after the 300 ms limit: ${hit.ms} ms`);
      }
      await sleep(100);
      const back = await carol('/count');
      assert.equal(back.status, 200);
      t.diagnostic(`hung Redis: 503 after ${hung.map((hit) => round(hit.ms)).join(', ')} ms (operationTimeoutMs 300); then ${back.status} in ${round(back.ms)} ms`);
    } finally {
      await app.close();
      await store.close();
      await redis.stop();
    }
  });
});
