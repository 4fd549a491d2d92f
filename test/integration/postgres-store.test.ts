import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { SharedSessionError } from 'shared-session';
import { PostgresStore, postgresSchema } from 'shared-session/postgres';
import { request } from '../helpers/http.ts';
import { createTestDatabase, startPostgresCluster, type PostgresCluster, type TestDatabase } from '../helpers/postgres-server.ts';
import { describeStoreContract } from '../helpers/store-contract.ts';

describeStoreContract('PostgresStore (one database, two pools)', async () => {
  const db = await createTestDatabase();
  const store = new PostgresStore({ connectionString: db.connectionString });
  // The twin runs on a pool the test owns: the other way to configure the store.
  const pool = new pg.Pool({ connectionString: db.connectionString });
  const twin = new PostgresStore({ pool });
  return {
    store,
    twin,
    entries: async () => {
      const result = await pool.query<{ entry: string }>(
        `SELECT 'sessions:' || sid AS entry FROM shared_session_sessions UNION ALL SELECT 'claims:' || key FROM shared_session_claims
         UNION ALL SELECT 'links:' || bid FROM shared_session_links`,
      );
      return result.rows.map((row) => row.entry);
    },
    close: async () => {
      await store.close();
      await twin.close();
      await pool.end();
      await db.drop();
    },
  };
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const inMs = (ms: number) => ({ originalMaxAge: ms, expires: new Date(Date.now() + ms).toISOString(), httpOnly: true, path: '/' });
const call = <T>(run: (callback: (error: unknown, value?: T) => void) => void): Promise<T | undefined> =>
  new Promise((resolve, reject) => run((error, value) => (error ? reject(error instanceof Error ? error : new Error('store failed', { cause: error })) : resolve(value))));
const get = (store: PostgresStore, sid: string) => call<Record<string, unknown> | null>((cb) => store.get(sid, cb));
const set = (store: PostgresStore, sid: string, session: object) => call<void>((cb) => store.set(sid, session, cb));
const destroy = (store: PostgresStore, sid: string) => call<void>((cb) => store.destroy(sid, cb));
/** Load a session as express-session does, so that its save writes only what changed. */
async function load(store: PostgresStore, sid: string): Promise<Record<string, unknown>> {
  const data = await get(store, sid);
  assert.ok(data, `session ${sid} exists`);
  return store.createSession({ sessionID: sid, sessionStore: store }, data) as Record<string, unknown>;
}
const isUnavailable = (error: unknown) => error instanceof SharedSessionError && error.code === 'ERR_SHARED_SESSION_STORE_UNAVAILABLE' && error.status === 503;
const quantile = (values: number[], q: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))] ?? NaN;

describe('PostgresStore specifics', () => {
  let db: TestDatabase;
  let admin: pg.Pool;
  before(async () => {
    db = await createTestDatabase();
    admin = new pg.Pool({ connectionString: db.connectionString });
  });
  after(async () => {
    await admin.end();
    await db.drop();
  });
  const tableCount = async (prefix: string) =>
    Number((await admin.query<{ n: string }>(`SELECT count(*) AS n FROM pg_tables WHERE tablename LIKE $1`, [`${prefix}\\_%`])).rows[0]?.n);

  it('validates its options', () => {
    const option = (name: string) => (error: unknown) =>
      error instanceof SharedSessionError && error.code === 'ERR_SHARED_SESSION_OPTION' && error.message.includes(`\`${name}\``);
    const connectionString = db.connectionString;
    assert.throws(() => new PostgresStore(undefined as never), option('options'));
    assert.throws(() => new PostgresStore({}), option('pool'));
    assert.throws(() => new PostgresStore({ pool: admin, connectionString }), option('pool'));
    assert.throws(() => new PostgresStore({ pool: {} as pg.Pool }), option('pool'));
    assert.throws(() => new PostgresStore({ pool: new pg.Client({ connectionString }) as unknown as pg.Pool }), option('pool'));
    assert.throws(() => new PostgresStore({ connectionString: '' }), option('connectionString'));
    assert.throws(() => new PostgresStore({ connectionString, tablePrefix: 'x; DROP TABLE y' }), option('tablePrefix'));
    assert.throws(() => new PostgresStore({ connectionString, tablePrefix: '' }), option('tablePrefix'));
    assert.throws(() => new PostgresStore({ connectionString, createTables: 'yes' as never }), option('createTables'));
    assert.throws(() => new PostgresStore({ connectionString, pruneIntervalSeconds: -1 }), option('pruneIntervalSeconds'));
    assert.throws(() => new PostgresStore({ connectionString, claimPruneIntervalSeconds: -1 }), option('claimPruneIntervalSeconds'));
    assert.throws(() => new PostgresStore({ connectionString, defaultTtlSeconds: -5 }), option('defaultTtlSeconds'));
    assert.throws(() => new PostgresStore({ connectionString, operationTimeoutMs: 0 }), option('operationTimeoutMs'));
    assert.throws(() => postgresSchema('bad-prefix'), option('tablePrefix'));
  });

  it('creates its tables once when several processes start at once', async () => {
    // Without the advisory lock, CREATE TABLE IF NOT EXISTS racing on a fresh database can
    // fail with a unique violation on pg_type; each round is a fresh prefix.
    for (let round = 0; round < 4; round++) {
      const tablePrefix = `race_${round}`;
      const stores = Array.from({ length: 8 }, () => new PostgresStore({ connectionString: db.connectionString, tablePrefix }));
      const results = await Promise.allSettled(stores.map((store, i) => store.claimOnce(`first-${i}`, 60_000)));
      await Promise.all(stores.map((store) => store.close()));
      assert.deepEqual(
        results.map((r) => r.status),
        stores.map(() => 'fulfilled'),
        results.map((r) => (r.status === 'rejected' ? String((r.reason as Error).cause) : 'ok')).join('\n'),
      );
      assert.equal(await tableCount(tablePrefix), 3);
    }
  });

  it('uses tables from postgresSchema() with createTables: false, and never creates them', async () => {
    const store = new PostgresStore({ pool: admin, tablePrefix: 'migrated', createTables: false });
    await assert.rejects(get(store, 'x'), (error) => isUnavailable(error) && /migrated_sessions/.test(String((error as Error).cause)));
    assert.equal(await tableCount('migrated'), 0);
    await admin.query(postgresSchema('migrated'));
    await admin.query(postgresSchema('migrated')); // a migration run twice is harmless
    await set(store, 'sid', { cookie: inMs(60_000), user: 'm' });
    assert.equal((await get(store, 'sid'))?.user, 'm');
    assert.equal(await store.claimOnce('k', 1000), true);
    await store.close();
    assert.equal((await admin.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one, 1, 'close() leaves a pool it did not create open');
  });

  it('keeps a destroyed session destroyed when saves race the destroy', async () => {
    // Saves and destroys of one id in flight at once, over two pools: a delete-then-insert
    // design lets most of these saves bring the session back.
    const store = new PostgresStore({ connectionString: db.connectionString, tablePrefix: 'racing' });
    const twin = new PostgresStore({ connectionString: db.connectionString, tablePrefix: 'racing' });
    const sids = Array.from({ length: 300 }, (_, i) => `race-${i}`);
    for (let i = 0; i < sids.length; i += 30) {
      await Promise.all(
        sids.slice(i, i + 30).map(async (sid) => {
          await set(store, sid, { cookie: inMs(60_000), n: 0 });
          const [a, b] = [await load(store, sid), await load(twin, sid)];
          a.n = 1;
          b.m = 2;
          await Promise.all([set(store, sid, a), destroy(twin, sid), set(twin, sid, b)]);
        }),
      );
    }
    const back = await Promise.all(sids.map((sid) => get(store, sid)));
    assert.equal(back.filter(Boolean).length, 0);
    await Promise.all([store.close(), twin.close()]);
  });

  it('keeps every change when many requests change different keys at once', async () => {
    const store = new PostgresStore({ connectionString: db.connectionString });
    const twin = new PostgresStore({ connectionString: db.connectionString });
    await set(store, 'many', { cookie: inMs(60_000), base: true });
    const loaded = await Promise.all(Array.from({ length: 40 }, (_, i) => load(i % 2 ? twin : store, 'many')));
    await Promise.all(
      loaded.map((session, i) => {
        session[`key${i}`] = i;
        if (i === 0) delete session.base;
        return set(i % 2 ? twin : store, 'many', session);
      }),
    );
    const back = (await get(store, 'many')) ?? {};
    assert.deepEqual(
      Array.from({ length: 40 }, (_, i) => back[`key${i}`]),
      Array.from({ length: 40 }, (_, i) => i),
    );
    assert.equal('base' in back, false);
    await Promise.all([store.close(), twin.close()]);
  });

  it('prunes expired sessions, tombstones, claims and links, in batches', async () => {
    const store = new PostgresStore({ connectionString: db.connectionString, tablePrefix: 'pruned', pruneIntervalSeconds: 0 });
    await set(store, 'old', { cookie: { expires: new Date(Date.now() - 1000) } });
    await set(store, 'new', { cookie: inMs(60_000) });
    await store.writeLink('old-link', 'x', 1);
    await store.claimOnce('old-claim', 1);
    await admin.query(`INSERT INTO pruned_sessions SELECT 'bulk-' || i, '{}', now() - interval '1 minute' FROM generate_series(1, 2500) AS i`);
    await admin.query(`INSERT INTO pruned_sessions VALUES ('tomb', '{}', now() - interval '1 second', true)`);
    await sleep(20);
    assert.equal(await store.prune(), 2501, 'live-session rows (tombstones are not counted)');
    const left = await admin.query<{ sid: string }>('SELECT sid FROM pruned_sessions');
    assert.deepEqual(
      left.rows.map((row) => row.sid),
      ['new'],
    );
    assert.equal(Number((await admin.query<{ n: string }>('SELECT (SELECT count(*) FROM pruned_links) + (SELECT count(*) FROM pruned_claims) AS n')).rows[0]?.n), 0);
    assert.equal(await store.prune(), 0);
    await store.close();
  });

  it('prunes on its timer', async () => {
    const store = new PostgresStore({ connectionString: db.connectionString, tablePrefix: 'timed', pruneIntervalSeconds: 0.3 });
    await set(store, 'old', { cookie: { expires: new Date(Date.now() - 1000) } });
    let rows = 1;
    for (let waited = 0; rows > 0 && waited < 10_000; waited += 200) {
      await sleep(200);
      rows = Number((await admin.query<{ n: string }>('SELECT count(*) AS n FROM timed_sessions')).rows[0]?.n);
    }
    assert.equal(rows, 0);
    await store.close();
  });

  it('ends the pool it created on close, and fails with 503 afterwards', async () => {
    const store = new PostgresStore({ connectionString: db.connectionString });
    assert.equal(await get(store, 'nothing'), null);
    await store.close();
    await store.close(); // twice is fine
    await assert.rejects(get(store, 'nothing'), isUnavailable);
  });
});

/** The app of the fault test, in its own process so that a crash shows as an exit. */
const FAULT_APP = `
import express from 'express';
import session from 'express-session';
import { PostgresStore } from 'shared-session/postgres';
const store = new PostgresStore({ connectionString: process.argv[1], pruneIntervalSeconds: 0 });
const app = express();
app.use(session({ store, secret: 'fault-test-secret-0123456789', resave: false, saveUninitialized: false, cookie: { maxAge: 3600000 } }));
// Saves before answering, so that a failed save is the answer (express-session's own save
// at the end of the response comes after the status is sent).
app.get('/count', (req, res, next) => {
  req.session.count = (req.session.count ?? 0) + 1;
  req.session.save((error) => (error ? next(error) : res.json({ count: req.session.count })));
});
app.get('/peek', (req, res) => res.json({ count: req.session.count ?? null }));
const server = app.listen(0, '127.0.0.1', () => console.log('port ' + server.address().port));
`;

interface Sample {
  visitor: number;
  at: number;
  ms: number;
  status: number | 'hang' | 'error';
}

describe('PostgresStore when PostgreSQL fails (a throwaway cluster)', () => {
  let cluster: PostgresCluster;
  before(async () => {
    cluster = await startPostgresCluster();
  });
  after(() => cluster.destroy());

  it('an Express app answers 503 quickly while PostgreSQL is down, then recovers with the sessions', async (t) => {
    const app: ChildProcess = spawn(process.execPath, ['--conditions=@shared-session/source', '--input-type=module', '-e', FAULT_APP, cluster.connectionString], {
      env: { ...process.env, NODE_ENV: 'test' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    app.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        app.stdout?.on('data', (chunk: Buffer) => {
          const match = /port (\d+)/.exec(chunk.toString());
          if (match) resolve(Number(match[1]));
        });
        app.once('exit', (code) => reject(new Error(`app exited (${code}): ${stderr}`)));
      });
      const cookies: string[] = [];
      const hit = async (visitor: number, path = '/count') => {
        const started = performance.now();
        const response = await Promise.race([
          request(`http://127.0.0.1:${port}${path}`, { headers: cookies[visitor] ? { cookie: cookies[visitor] } : {} }),
          sleep(10_000).then(() => 'hang' as const),
        ]).catch(() => 'error' as const);
        const ms = performance.now() - started;
        if (typeof response === 'string') return { status: response, ms, body: '' };
        const setCookie = response.headers['set-cookie']?.[0];
        if (setCookie) cookies[visitor] = setCookie.split(';')[0] as string;
        return { status: response.status, ms, body: response.body };
      };

      // Four visitors with three saves each, before anything fails.
      const visitors = [0, 1, 2, 3];
      for (const visitor of visitors) {
        for (let i = 1; i <= 3; i++) assert.deepEqual(JSON.parse((await hit(visitor)).body), { count: i });
      }

      // A stream of requests from every visitor; PostgreSQL stops for three seconds in the middle.
      const samples: Sample[] = [];
      let streaming = true;
      const origin = performance.now();
      const workers = visitors.map(async (visitor) => {
        while (streaming) {
          const at = performance.now() - origin;
          const { status, ms } = await hit(visitor);
          samples.push({ visitor, at, ms, status });
          await sleep(25);
        }
      });
      await sleep(1000);
      const stopAt = performance.now() - origin;
      await cluster.stop('fast');
      const stoppedAt = performance.now() - origin;
      await sleep(3000);
      const startAt = performance.now() - origin;
      await cluster.start();
      const startedAt = performance.now() - origin;
      // Until every visitor has had two good answers since the restart (at most 20 s).
      const recovered = () => visitors.every((v) => samples.filter((s) => s.visitor === v && s.at >= startedAt && s.status === 200).length >= 2);
      for (let waited = 0; !recovered() && waited < 20_000; waited += 100) await sleep(100);
      streaming = false;
      await Promise.all(workers);

      const statuses = new Set(samples.map((s) => s.status));
      const failed = samples.filter((s) => s.status !== 200);
      const down = samples.filter((s) => s.at >= stoppedAt && s.at + s.ms <= startAt);
      const firstGood = visitors.map((v) => samples.find((s) => s.visitor === v && s.at >= startedAt && s.status === 200));
      const recoveryMs = Math.max(...firstGood.map((s) => (s ? s.at + s.ms - startedAt : Infinity)));
      const failMs = failed.map((s) => s.ms);
      t.diagnostic(
        `${samples.length} requests, ${down.length} while PostgreSQL was down; stop took ${Math.round(stoppedAt - stopAt)} ms, start ${Math.round(startedAt - startAt)} ms; ${failed.length} answered 503: ` +
          `median ${quantile(failMs, 0.5).toFixed(1)} ms, p99 ${quantile(failMs, 0.99).toFixed(1)} ms, max ${Math.max(...failMs).toFixed(1)} ms; ` +
          `all requests max ${Math.max(...samples.map((s) => s.ms)).toFixed(1)} ms; ` +
          `first success after the restart (pg_ctl start returned) within ${recoveryMs.toFixed(1)} ms`,
      );

      assert.deepEqual([...statuses].filter((s) => s !== 200 && s !== 503), [], `only 200 and 503, never a 500, a hang or a reset:\n${stderr}`);
      assert.ok(down.length > 0 && down.every((s) => s.status === 503), 'every request while PostgreSQL was down failed with 503');
      assert.ok(Math.max(...failMs) < 2500, `each 503 within the 2000 ms operation timeout (max ${Math.max(...failMs)} ms)`);
      assert.ok(recoveryMs < 5000, `requests succeed again within 5 s of the restart (${recoveryMs} ms)`);
      assert.equal(app.exitCode, null, `the app is still running:\n${stderr}`);

      // Every save that was answered 200 is there: PostgreSQL kept the sessions written before the fault.
      for (const visitor of visitors) {
        const ok = samples.filter((s) => s.visitor === visitor && s.status === 200).length;
        const notOk = samples.filter((s) => s.visitor === visitor && s.status !== 200).length;
        const { count } = JSON.parse((await hit(visitor, '/peek')).body) as { count: number };
        assert.ok(count >= 3 + ok && count <= 3 + ok + notOk, `visitor ${visitor}: count ${count}, ${ok} saves answered 200`);
      }
    } finally {
      app.kill('SIGTERM');
    }
  });

  it('a server that stops answering fails operations at the time limit, and a crash is survived', async (t) => {
    // A pool without connectionTimeoutMillis and without an 'error' listener of its own:
    // the store's time limit and listener are all there is.
    const pool = new pg.Pool({ connectionString: cluster.connectionString, max: 4 });
    const store = new PostgresStore({ pool, operationTimeoutMs: 800 });
    const errors: unknown[] = [];
    store.on('error', (error) => errors.push(error));
    try {
      await set(store, 'kept', { cookie: inMs(3_600_000), user: 'survivor' });
      const op = async () => {
        const started = performance.now();
        const outcome = await get(store, 'kept').then(
          (value) => (value ? 'ok' : 'missing'),
          (error: unknown) => (isUnavailable(error) ? 'unavailable' : `other: ${String(error)}`),
        );
        return { outcome, ms: performance.now() - started };
      };

      cluster.pause();
      let paused;
      try {
        paused = await Promise.all([op(), op(), op()]);
      } finally {
        cluster.resume();
      }
      const resumedAt = performance.now();
      let back = await op();
      while (back.outcome !== 'ok' && performance.now() - resumedAt < 10_000) back = await op();
      const resumeMs = performance.now() - resumedAt;

      await cluster.stop('immediate');
      const crashed = await op();
      await cluster.start();
      const restartedAt = performance.now();
      let again = await op();
      while (again.outcome !== 'ok' && performance.now() - restartedAt < 10_000) again = await op();
      const restartMs = performance.now() - restartedAt;

      t.diagnostic(
        `server paused: ${paused.map((p) => `${p.outcome} in ${p.ms.toFixed(0)} ms`).join(', ')}; back ${resumeMs.toFixed(0)} ms after resuming; ` +
          `crashed: ${crashed.outcome} in ${crashed.ms.toFixed(1)} ms; back ${restartMs.toFixed(0)} ms after restarting; ${errors.length} idle-connection errors reported`,
      );
      for (const p of paused) {
        assert.equal(p.outcome, 'unavailable');
        assert.ok(p.ms >= 700 && p.ms < 2000, `failed at the 800 ms time limit (${p.ms} ms)`);
      }
      assert.equal(back.outcome, 'ok');
      assert.equal(crashed.outcome, 'unavailable');
      assert.ok(crashed.ms < 800, `a refused connection fails at once (${crashed.ms} ms)`);
      assert.equal(again.outcome, 'ok', 'the session written before the crash is still there');
      assert.ok(errors.length > 0, "the idle connections' errors reached the store's 'error' listener");
    } finally {
      await store.close();
      await pool.end();
    }
  });
});
