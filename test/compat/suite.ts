import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import express, { type ErrorRequestHandler, type Request } from 'express';
import session, { type SessionOptions, type Store } from 'express-session';
import { Client, request } from '../helpers/http.ts';
import { expectationOf } from './differences.ts';
import type { CompatStore, StoreFactory, StoreUnderTest } from './stores.ts';

/**
 * The Store compatibility suite: express-session's documented Store contract
 * (https://github.com/expressjs/session#session-store-implementation) and the behaviour
 * of its MemoryStore, run against one store, both through the store's own API and through
 * a real Express 5 + express-session app over HTTP. Where our stores deliberately differ
 * from MemoryStore, the expectation comes from `differences.ts`.
 */

const SECOND = 1000;
const DAY = 86_400 * SECOND;
const THIRTY_DAYS = 30 * DAY;
/** Default `defaultTtlSeconds` of our stores, in ms. */
const DEFAULT_TTL = DAY;
/** Slack when comparing a store's expiry with the one expected (clocks, rounding, slow CI). */
const SLACK = 5 * SECOND;
const COOKIE_NAME = 'compat.sid';

// ---------------------------------------------------------------- store API helpers

interface CookieLike {
  expires: Date | null | undefined;
  maxAge: number | null | undefined;
  originalMaxAge: number | null | undefined;
}
/** express-session's own Cookie class: what it hands a store inside every session. */
const Cookie = session.Cookie as unknown as new (options?: { maxAge?: number }) => CookieLike;

/** A cookie as express-session makes it: `maxAge` ms from now, or a browser-session cookie. */
function cookie(maxAge?: number): CookieLike {
  return new Cookie(maxAge === undefined ? {} : { maxAge });
}

/** A cookie with an absolute `expires` date (and the max age express-session derives from it). */
function cookieExpiring(expires: Date): CookieLike {
  const made = new Cookie();
  made.expires = expires;
  return made;
}

type Cb<T> = (error: unknown, value?: T) => void;
/** Run a callback-style operation; reject on an error, and after `limitMs` without an answer. */
function call<T>(run: (callback: Cb<T>) => void, limitMs = 10 * SECOND): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no callback within ${limitMs} ms`)), limitMs);
    run((error, value) => {
      clearTimeout(timer);
      if (error) reject(error instanceof Error ? error : new Error('store failed', { cause: error }));
      else resolve(value);
    });
  });
}

const get = (store: CompatStore, sid: string) => call<unknown>((cb) => store.get(sid, cb));
const set = (store: CompatStore, sid: string, data: object) => call<void>((cb) => store.set(sid, data, cb));
const destroy = (store: CompatStore, sid: string) => call<void>((cb) => store.destroy(sid, cb));
const touch = (store: CompatStore, sid: string, data: object) => call<void>((cb) => store.touch(sid, data, cb));
const all = (store: CompatStore) => call<unknown>((cb) => store.all(cb));
const length = (store: CompatStore) => call<number>((cb) => store.length(cb));
const clear = (store: CompatStore) => call<void>((cb) => store.clear(cb));

/** Null or undefined: how a store says "no such session". */
const absent = (value: unknown): boolean => value === null || value === undefined;

/** The session object as it went through JSON (what any store can give back). */
const asJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

let counter = 0;
/** A fresh session id per case, so cases never see each other's records. */
const sid = (label: string) => `compat-${label}-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;

/** Load a session as express-session does (get, then the store's createSession), as one request would. */
async function load(store: CompatStore, id: string): Promise<Record<string, unknown>> {
  const data = await get(store, id);
  assert.ok(data, `session ${id} exists`);
  return store.createSession({ sessionID: id, sessionStore: store }, data) as Record<string, unknown>;
}

function assertNear(actual: number | undefined, expected: number, what: string, slack = SLACK): void {
  assert.ok(actual !== undefined, `${what}: the store holds the session`);
  assert.ok(Math.abs(actual - expected) <= slack, `${what}: ${new Date(actual).toISOString()} should be within ${slack} ms of ${new Date(expected).toISOString()}`);
}

/** Call `run` with a counting callback; after the first call, wait `settleMs` for a second one. */
async function countCalls(run: (callback: Cb<unknown>) => void, settleMs = 300): Promise<{ calls: number; error: unknown }> {
  let calls = 0;
  let error: unknown;
  await call<unknown>((cb) =>
    run((e, v) => {
      calls++;
      if (calls === 1) {
        error = e;
        cb(null, v);
      }
    }),
  );
  await sleep(settleMs);
  return { calls, error };
}

// ---------------------------------------------------------------- the app

interface App {
  readonly url: string;
  close(): Promise<void>;
}

const SESSION_SECRET = 'compat-suite-session-secret-not-for-production';

function data(req: Request): Record<string, unknown> {
  return req.session as unknown as Record<string, unknown>;
}

/** A real Express 5 app with express-session on `store`, listening on a free port of 127.0.0.1. */
async function startApp(store: CompatStore, options: Partial<SessionOptions> = {}): Promise<App> {
  const app = express();
  app.use(
    session({
      name: COOKIE_NAME,
      secret: SESSION_SECRET,
      store: store as unknown as Store,
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: 3_600_000 },
      ...options,
    }),
  );
  app.get('/set', (req, res) => {
    for (const [key, value] of Object.entries(req.query)) data(req)[key] = value;
    res.json({ id: req.sessionID });
  });
  app.get('/get', (req, res) => {
    res.json({ id: req.sessionID, session: req.session });
  });
  app.get('/noop', (req, res) => {
    res.json({ id: req.sessionID });
  });
  app.get('/expires-in', (req, res) => {
    req.session.cookie.expires = new Date(Date.now() + Number(req.query.ms));
    data(req).mark = 'expires';
    res.json({ id: req.sessionID });
  });
  app.get('/regenerate', (req, res, next) => {
    const old = req.sessionID;
    req.session.regenerate((error) => {
      if (error) return next(error);
      data(req).user = 'alice';
      res.json({ old, id: req.sessionID });
    });
  });
  app.get('/destroy', (req, res, next) => {
    req.session.destroy((error) => (error ? next(error) : res.json({ destroyed: true })));
  });
  // Remember-me at login: the session is saved, then "keep me logged in" lengthens the cookie only.
  app.get('/login-remember', (req, res, next) => {
    data(req).user = 'alice';
    req.session.save((error) => {
      if (error) return next(error);
      req.session.cookie.maxAge = THIRTY_DAYS;
      req.session.save((again) => (again ? next(again) : res.json({ id: req.sessionID })));
    });
  });
  // Remember-me later: a request that changes nothing but the cookie's max age.
  app.get('/remember', (req, res) => {
    req.session.cookie.maxAge = THIRTY_DAYS;
    res.json({ id: req.sessionID });
  });
  // A slow request: it loaded the session at its start, changes it after `ms`.
  app.get('/slow-set', (req, res) => {
    setTimeout(() => {
      data(req).late = 'written';
      res.json({ id: req.sessionID });
    }, Number(req.query.ms));
  });
  app.get('/save', (req, res, next) => {
    data(req).saved = Date.now();
    req.session.save((error) => (error ? next(error) : res.json({ id: req.sessionID })));
  });
  const onError: ErrorRequestHandler = (error: { status?: number; message?: string }, _req, res, _next) => {
    res.status(typeof error.status === 'number' ? error.status : 500).json({ error: String(error.message) });
  };
  app.use(onError);
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Run `body` with an app on `store`, closing it after. */
async function withApp(store: CompatStore, options: Partial<SessionOptions>, body: (app: App, client: Client) => Promise<void>): Promise<void> {
  const app = await startApp(store, options);
  try {
    await body(app, new Client());
  } finally {
    await app.close();
  }
}

async function json<T>(client: Client, url: string): Promise<{ status: number; body: T; response: Awaited<ReturnType<Client['fetch']>> }> {
  const response = await client.fetch(url);
  return { status: response.status, body: JSON.parse(response.body) as T, response };
}

const sessionCookie = (response: Awaited<ReturnType<Client['fetch']>>) => response.setCookies.find((c) => c.name === COOKIE_NAME);

// ---------------------------------------------------------------- the suite

/** The whole compatibility suite for one store of the matrix. */
export function describeCompat(factory: StoreFactory): void {
  describe(`compat: ${factory.name}`, () => {
    let subject: StoreUnderTest;
    let store: CompatStore;
    before(async () => {
      subject = await factory.open();
      store = subject.store;
      // Every app of the suite adds express-session's connect/disconnect listeners to the store.
      (store as Partial<EventEmitter>).setMaxListeners?.(100);
    });
    after(() => subject.close());

    describe('Store API, callback form', () => {
      it('get of an unknown id answers null or undefined, without error', async () => {
        const value = await get(store, sid('unknown'));
        assert.ok(value === null || value === undefined, `got ${JSON.stringify(value)}`);
      });

      it('set, then get, returns the session as saved (through JSON)', async () => {
        const id = sid('roundtrip');
        const saved = { cookie: cookie(60_000), user: 'alice', cart: ['tea', 'cake'], nested: { a: [1, 2, { b: null }], s: 'ü €' } };
        await set(store, id, saved);
        assert.deepEqual(await get(store, id), asJson(saved));
      });

      it('set overwrites, destroy forgets, destroy of an unknown id succeeds', async () => {
        const id = sid('overwrite');
        await set(store, id, { cookie: cookie(60_000), n: 1 });
        await set(store, id, { cookie: cookie(60_000), n: 2 });
        assert.equal((await get(store, id) as { n: number }).n, 2);
        await destroy(store, id);
        assert.ok(absent(await get(store, id)));
        await destroy(store, sid('never-stored'));
      });

      it('touch moves the store expiry to the cookie it is given', async () => {
        const id = sid('touch');
        await set(store, id, { cookie: cookie(60_000), n: 1 });
        assertNear(await subject.expiryOf(id), Date.now() + 60_000, 'after set');
        await touch(store, id, { cookie: cookie(600_000), n: 1 });
        assertNear(await subject.expiryOf(id), Date.now() + 600_000, 'after touch');
        assert.equal((await get(store, id) as { n: number }).n, 1);
      });

      it(`touch with a cookie expiring sooner: store expiry ${expectationOf('touch with a shorter expiry', factory.kind).expect}`, async () => {
        const { expect } = expectationOf('touch with a shorter expiry', factory.kind);
        const id = sid('touch-shorter');
        await set(store, id, { cookie: cookie(600_000), n: 1 });
        await touch(store, id, { cookie: cookie(60_000), n: 1 });
        assertNear(await subject.expiryOf(id), Date.now() + (expect === 'shortened' ? 60_000 : 600_000), `after touch (${expect})`);
      });

      it(`get after touch answers the ${expectationOf('cookie read back after touch', factory.kind).expect}`, async () => {
        const { expect } = expectationOf('cookie read back after touch', factory.kind);
        const id = sid('touch-cookie');
        const saved = cookie(60_000);
        await set(store, id, { cookie: saved, n: 1 });
        await sleep(20); // so that the touched cookie's expires differs
        const touched = cookie(600_000);
        await touch(store, id, { cookie: touched, n: 1 });
        const read = (await get(store, id)) as { cookie: unknown };
        assert.deepEqual(read.cookie, asJson(expect === 'touched cookie' ? touched : saved));
      });

      it('all, length and clear', async () => {
        await clear(store);
        assert.equal(await length(store), 0);
        const [a, b] = [sid('all-a'), sid('all-b')];
        await set(store, a, { cookie: cookie(60_000), n: 'a' });
        await set(store, b, { cookie: cookie(60_000), n: 'b' });
        assert.equal(await length(store), 2);
        const listed = (await all(store)) as Record<string, { n: string }>;
        assert.deepEqual(Object.keys(listed).sort(), [a, b].sort());
        assert.equal(listed[a]?.n, 'a');
        assert.equal(listed[b]?.n, 'b');
        await clear(store);
        assert.equal(await length(store), 0);
        assert.ok(absent(await get(store, a)));
      });

      it('expiry from cookie.maxAge: there before, gone after 1500 ms (also from all and length)', async () => {
        await clear(store);
        const id = sid('maxage');
        await set(store, id, { cookie: cookie(1500), n: 1 });
        assert.ok(await get(store, id));
        assertNear(await subject.expiryOf(id), Date.now() + 1500, 'store expiry');
        await sleep(1800);
        assert.ok(absent(await get(store, id)), 'expired session still answered');
        assert.equal(await length(store), 0);
        assert.deepEqual(Object.keys((await all(store)) as object), []);
      });

      it('expiry from an absolute cookie.expires date', async () => {
        const id = sid('expires');
        const at = new Date(Date.now() + 1500);
        await set(store, id, { cookie: cookieExpiring(at), n: 1 });
        assert.ok(await get(store, id));
        assertNear(await subject.expiryOf(id), at.getTime(), 'store expiry', 50);
        await sleep(1800);
        assert.ok(absent(await get(store, id)), 'expired session still answered');
      });

      it(`browser-session cookie (expires null): stored, store expiry ${expectationOf('browser-session cookie: store expiry', factory.kind).expect}`, async () => {
        const { expect } = expectationOf('browser-session cookie: store expiry', factory.kind);
        const id = sid('browser-session');
        const browser = cookie();
        assert.equal(browser.expires ?? null, null);
        await set(store, id, { cookie: browser, n: 1 });
        assert.deepEqual(await get(store, id), asJson({ cookie: browser, n: 1 }));
        const expiry = await subject.expiryOf(id);
        if (expect === 'none') assert.equal(expiry, Infinity);
        else assertNear(expiry, Date.now() + DEFAULT_TTL, 'default TTL');
      });

      it('an expiry already in the past (new Date(0)): set succeeds, get answers nothing', async () => {
        const id = sid('past');
        await set(store, id, { cookie: cookieExpiring(new Date(0)), n: 1 });
        assert.ok(absent(await get(store, id)));
      });

      it('an Invalid Date expiry: set succeeds, get answers without error', async () => {
        const id = sid('invalid-date');
        const invalid = cookie(60_000);
        invalid.expires = new Date(Number.NaN);
        try {
          await set(store, id, { cookie: invalid, n: 1 });
          await get(store, id);
        } finally {
          // Whatever the store made of it must not break the cases after this one.
          await destroy(store, id).catch(() => undefined);
          await clear(store).catch(() => undefined);
        }
      });

      it(`destroy, then set of a new session object under that id: ${expectationOf('save after destroy', factory.kind).expect}`, async () => {
        const { expect } = expectationOf('save after destroy', factory.kind);
        const id = sid('destroy-set');
        await set(store, id, { cookie: cookie(60_000), n: 1 });
        await destroy(store, id);
        await set(store, id, { cookie: cookie(60_000), n: 2 });
        const after = (await get(store, id)) as { n: number } | null | undefined;
        if (expect === 'stored') assert.equal(after?.n, 2);
        else assert.ok(absent(after), `destroyed session came back: ${JSON.stringify(after)}`);
      });

      it(`destroy, then a late save of a session loaded before it: ${expectationOf('save after destroy', factory.kind).expect}`, async () => {
        const { expect } = expectationOf('save after destroy', factory.kind);
        const id = sid('late-save');
        await set(store, id, { cookie: cookie(60_000), n: 1 });
        const loaded = await load(store, id);
        await destroy(store, id);
        loaded.n = 2;
        await set(store, id, loaded); // succeeds either way: the request cannot tell
        const after = (await get(store, id)) as { n: number } | null | undefined;
        if (expect === 'stored') assert.equal(after?.n, 2);
        else assert.ok(absent(after), `destroyed session came back: ${JSON.stringify(after)}`);
      });

      it('every method calls its callback exactly once', async () => {
        const id = sid('once');
        const record = { cookie: cookie(60_000), n: 1 };
        const runs: Record<string, (cb: Cb<unknown>) => void> = {
          set: (cb) => store.set(id, record, cb),
          get: (cb) => store.get(id, cb),
          'get (unknown id)': (cb) => store.get(sid('once-unknown'), cb),
          touch: (cb) => store.touch(id, record, cb),
          all: (cb) => store.all(cb),
          length: (cb) => store.length(cb),
          destroy: (cb) => store.destroy(id, cb),
          clear: (cb) => store.clear(cb),
        };
        for (const [method, run] of Object.entries(runs)) {
          const { calls, error } = await countCalls(run);
          assert.equal(error ?? null, null, `${method} answered an error`);
          assert.equal(calls, 1, `${method} called its callback ${calls} times`);
        }
      });
    });

    describe('Store API, promise form', () => {
      const { expect, reason } = expectationOf('promise API', factory.kind);
      if (expect === 'absent') {
        it('has no promise API (differences.ts)', () => {
          // Observed: MemoryStore hands the missing callback to setImmediate, which throws.
          assert.throws(() => (store as unknown as { get(sid: string): unknown }).get(sid('promise')), TypeError, reason);
        });
        return;
      }
      it('each method without a callback answers a Promise of its result', async () => {
        type PromiseStore = {
          get(sid: string): unknown;
          set(sid: string, data: object): unknown;
          touch(sid: string, data: object): unknown;
          destroy(sid: string): unknown;
          all(): unknown;
          length(): unknown;
          clear(): unknown;
        };
        const promised = store as unknown as PromiseStore;
        const thenable = (value: unknown, method: string): Promise<unknown> => {
          assert.ok(value instanceof Promise || typeof (value as { then?: unknown } | null)?.then === 'function', `${method}() without a callback returned ${String(value)}, not a Promise`);
          return value as Promise<unknown>;
        };
        const id = sid('promise');
        const record = { cookie: cookie(60_000), n: 1 };
        assert.equal(await thenable(promised.set(id, record), 'set'), undefined);
        assert.deepEqual(await thenable(promised.get(id), 'get'), asJson(record));
        assert.ok(absent(await thenable(promised.get(sid('promise-unknown')), 'get')));
        await thenable(promised.touch(id, { cookie: cookie(600_000), n: 1 }), 'touch');
        assertNear(await subject.expiryOf(id), Date.now() + 600_000, 'after touch');
        assert.ok(((await thenable(promised.length(), 'length')) as number) >= 1);
        assert.ok(id in ((await thenable(promised.all(), 'all')) as object));
        await thenable(promised.destroy(id), 'destroy');
        assert.ok(absent(await get(store, id)));
        await thenable(promised.clear(), 'clear');
        assert.equal(await length(store), 0);
      });
      it('a failing operation rejects its Promise (no callback, no unhandled rejection elsewhere)', async (t) => {
        const broken = await subject.broken();
        if (!broken) return t.skip('no backend');
        t.after(() => broken.close());
        const rejected = (broken.store as unknown as { get(sid: string): unknown }).get(sid('promise-broken'));
        assert.ok(rejected instanceof Promise, 'get() without a callback returned no Promise');
        await assert.rejects(rejected as Promise<unknown>);
      });
    });

    describe('errors', () => {
      const backend = expectationOf('backend unavailable', factory.kind);

      it(`a store whose backend is gone answers an error to every callback, once (${backend.expect})`, async (t) => {
        const broken = await subject.broken();
        if (backend.expect === 'not applicable' || !broken) return t.skip(backend.reason);
        t.after(() => broken.close());
        const id = sid('broken');
        const record = { cookie: cookie(60_000), n: 1 };
        const runs: Record<string, (cb: Cb<unknown>) => void> = {
          get: (cb) => broken.store.get(id, cb),
          set: (cb) => broken.store.set(id, record, cb),
          touch: (cb) => broken.store.touch(id, record, cb),
          destroy: (cb) => broken.store.destroy(id, cb),
          all: (cb) => broken.store.all(cb),
          length: (cb) => broken.store.length(cb),
          clear: (cb) => broken.store.clear(cb),
        };
        for (const [method, run] of Object.entries(runs)) {
          const { calls, error } = await countCalls(run);
          assert.ok(error, `${method} on a gone backend answered no error`);
          assert.equal(calls, 1, `${method} called its callback ${calls} times`);
        }
      });

      it('over HTTP, a failing store makes express-session answer 5xx (next(err)), not hang', async (t) => {
        const broken = await subject.broken();
        if (backend.expect === 'not applicable' || !broken) return t.skip(backend.reason);
        t.after(() => broken.close());
        // A visitor with a session, made on the working store…
        let cookieHeader = '';
        await withApp(store, {}, async (app, client) => {
          await json(client, `${app.url}/set?n=1`);
          cookieHeader = `${COOKIE_NAME}=${client.cookies(app.url).get(COOKIE_NAME)}`;
        });
        // …comes back to a site whose store is gone.
        await withApp(broken.store, {}, async (app) => {
          const started = performance.now();
          const loading = await request(`${app.url}/get`, { headers: { cookie: cookieHeader } });
          assert.ok(loading.status >= 500 && loading.status < 600, `load: status ${loading.status}`);
          const saving = await request(`${app.url}/save`);
          assert.ok(saving.status >= 500 && saving.status < 600, `explicit save: status ${saving.status}`);
          assert.ok(performance.now() - started < 10 * SECOND, 'answered within 10 s');
        });
      });

      it('an exception thrown inside a store callback surfaces as an uncaught exception; no callback is called twice', async () => {
        const child = fileURLToPath(new URL('./throwing-callback.ts', import.meta.url));
        const stdout = await new Promise<string>((resolve, reject) => {
          execFile(process.execPath, ['--conditions=@shared-session/source', child, JSON.stringify(subject.spec)], { timeout: 60 * SECOND }, (error, out, err) =>
            error ? reject(new Error(`child failed: ${err || error.message}`)) : resolve(out),
          );
        });
        const results = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, { surfaced: string; calls: number; error: string | null }>;
        const wrong = Object.entries(results).filter(([, r]) => r.surfaced !== 'uncaughtException' || r.calls !== 1 || r.error !== null);
        assert.equal(Object.keys(results).length, 7);
        assert.deepEqual(Object.fromEntries(wrong), {}, 'every callback exception must be an uncaughtException, each callback called once, without error');
      });
    });

    describe('through Express 5 + express-session over HTTP', () => {
      it('a session round trip: cookie, store record, same id on the next request', async () => {
        await withApp(store, {}, async (app, client) => {
          const first = await json<{ id: string }>(client, `${app.url}/set?user=alice`);
          assert.ok(sessionCookie(first.response), 'Set-Cookie on the first save');
          assert.equal((await get(store, first.body.id) as { user: string }).user, 'alice');
          const second = await json<{ id: string; session: { user: string } }>(client, `${app.url}/get`);
          assert.equal(second.body.id, first.body.id);
          assert.equal(second.body.session.user, 'alice');
        });
      });

      it('unknown session id in the cookie (a destroyed record): a fresh session, no error', async () => {
        await withApp(store, {}, async (app, client) => {
          const first = await json<{ id: string }>(client, `${app.url}/set?user=alice`);
          await destroy(store, first.body.id);
          const next = await json<{ id: string; session: { user?: string } }>(client, `${app.url}/get`);
          assert.equal(next.status, 200);
          assert.notEqual(next.body.id, first.body.id);
          assert.equal(next.body.session.user, undefined);
        });
      });

      it('cookie.maxAge 1500 ms: the store forgets the session after it', async () => {
        await withApp(store, { cookie: { maxAge: 1500 } }, async (app, client) => {
          const first = await json<{ id: string }>(client, `${app.url}/set?user=alice`);
          assertNear(await subject.expiryOf(first.body.id), Date.now() + 1500, 'store expiry');
          await sleep(1800);
          assert.ok(absent(await get(store, first.body.id)));
          const later = await json<{ id: string; session: { user?: string } }>(client, `${app.url}/get`);
          assert.equal(later.body.session.user, undefined);
        });
      });

      it('an absolute cookie.expires set by the app: Set-Cookie Expires and store expiry agree', async () => {
        await withApp(store, {}, async (app, client) => {
          const first = await json<{ id: string }>(client, `${app.url}/expires-in?ms=120000`);
          const expected = Date.now() + 120_000;
          const sent = sessionCookie(first.response);
          assertNear(sent?.expires?.getTime(), expected, 'Set-Cookie Expires');
          assertNear(await subject.expiryOf(first.body.id), expected, 'store expiry');
        });
      });

      it(`browser-session cookie (no maxAge): no Expires/Max-Age sent; store expiry ${expectationOf('browser-session cookie: store expiry', factory.kind).expect}`, async () => {
        const { expect } = expectationOf('browser-session cookie: store expiry', factory.kind);
        await withApp(store, { cookie: {} }, async (app, client) => {
          const first = await json<{ id: string }>(client, `${app.url}/set?user=alice`);
          const sent = sessionCookie(first.response);
          assert.ok(sent, 'Set-Cookie');
          assert.equal(sent.expires, undefined);
          assert.equal(sent.maxAge, undefined);
          const expiry = await subject.expiryOf(first.body.id);
          if (expect === 'none') assert.equal(expiry, Infinity);
          else assertNear(expiry, Date.now() + DEFAULT_TTL, 'default TTL');
          const again = await json<{ id: string; session: { user: string } }>(client, `${app.url}/get`);
          assert.equal(again.body.session.user, 'alice');
        });
      });

      it('rolling: every response re-sends the cookie and pushes the store expiry', async () => {
        await withApp(store, { rolling: true, cookie: { maxAge: 60_000 } }, async (app, client) => {
          const first = await json<{ id: string }>(client, `${app.url}/set?user=alice`);
          const before = await subject.expiryOf(first.body.id);
          const sentBefore = sessionCookie(first.response)?.expires?.getTime();
          await sleep(1200);
          const next = await json<{ id: string }>(client, `${app.url}/noop`);
          const sent = sessionCookie(next.response);
          assert.ok(sent, 'rolling: Set-Cookie on an unchanged session');
          assert.ok(sentBefore !== undefined && (sent.expires?.getTime() ?? 0) >= sentBefore + 1000, 'cookie expiry moved');
          const afterExpiry = await subject.expiryOf(first.body.id);
          assert.ok(before !== undefined && afterExpiry !== undefined && afterExpiry >= before + 1000, `store expiry moved: ${before} → ${afterExpiry}`);
          assertNear(afterExpiry, Date.now() + 60_000, 'store expiry');
        });
      });

      it('resave: false: an unchanged session is touched (store expiry moves), no Set-Cookie', async () => {
        await withApp(store, { cookie: { maxAge: 60_000 } }, async (app, client) => {
          const first = await json<{ id: string }>(client, `${app.url}/set?user=alice`);
          const before = await subject.expiryOf(first.body.id);
          await sleep(1200);
          const next = await json<{ id: string }>(client, `${app.url}/noop`);
          assert.equal(sessionCookie(next.response), undefined, 'no Set-Cookie without rolling');
          const afterExpiry = await subject.expiryOf(first.body.id);
          assert.ok(before !== undefined && afterExpiry !== undefined && afterExpiry >= before + 1000, `store expiry moved by touch: ${before} → ${afterExpiry}`);
          assert.equal((await get(store, first.body.id) as { user: string }).user, 'alice');
        });
      });

      it('req.session.regenerate: the old id is gone from the store, the new id holds the data', async () => {
        await withApp(store, {}, async (app, client) => {
          const first = await json<{ id: string }>(client, `${app.url}/set?cart=tea`);
          const regenerated = await json<{ old: string; id: string }>(client, `${app.url}/regenerate`);
          assert.equal(regenerated.body.old, first.body.id);
          assert.notEqual(regenerated.body.id, first.body.id);
          assert.ok(absent(await get(store, first.body.id)), 'old id still stored');
          assert.equal((await get(store, regenerated.body.id) as { user: string }).user, 'alice');
          const next = await json<{ id: string; session: { user: string } }>(client, `${app.url}/get`);
          assert.equal(next.body.id, regenerated.body.id);
        });
      });

      it('req.session.destroy: gone from the store, the next request has a fresh session', async () => {
        await withApp(store, {}, async (app, client) => {
          const first = await json<{ id: string }>(client, `${app.url}/set?user=alice`);
          const destroyed = await json<{ destroyed: boolean }>(client, `${app.url}/destroy`);
          assert.equal(destroyed.status, 200);
          assert.ok(absent(await get(store, first.body.id)));
          const next = await json<{ id: string; session: { user?: string } }>(client, `${app.url}/get`);
          assert.equal(next.body.session.user, undefined);
        });
      });

      it(`a slow request that loaded the session saves after another request destroyed it: ${expectationOf('save after destroy', factory.kind).expect}`, async () => {
        const { expect } = expectationOf('save after destroy', factory.kind);
        await withApp(store, {}, async (app, client) => {
          const first = await json<{ id: string }>(client, `${app.url}/set?user=alice`);
          const slow = client.fetch(`${app.url}/slow-set?ms=400`);
          await sleep(100); // the slow request has loaded the session
          const logout = await json<{ destroyed: boolean }>(client, `${app.url}/destroy`);
          assert.equal(logout.status, 200);
          assert.equal((await slow).status, 200);
          const after = (await get(store, first.body.id)) as { user?: string; late?: string } | null | undefined;
          if (expect === 'stored') assert.deepEqual([after?.user, after?.late], ['alice', 'written']);
          else assert.ok(absent(after), `the destroyed session came back: ${JSON.stringify(after)}`);
        });
      });

      it('remember-me at login: a second save changing only cookie.maxAge to 30 days is stored', async () => {
        await withApp(store, {}, async (app, client) => {
          const login = await json<{ id: string }>(client, `${app.url}/login-remember`);
          assert.equal(login.status, 200);
          assertNear(sessionCookie(login.response)?.expires?.getTime(), Date.now() + THIRTY_DAYS, 'Set-Cookie Expires');
          assertNear(await subject.expiryOf(login.body.id), Date.now() + THIRTY_DAYS, 'store expiry (30 days)');
        });
      });

      it('remember-me in a later request: changing only cookie.maxAge to 30 days moves the store expiry', async () => {
        await withApp(store, {}, async (app, client) => {
          const first = await json<{ id: string }>(client, `${app.url}/set?user=alice`);
          assertNear(await subject.expiryOf(first.body.id), Date.now() + 3_600_000, 'store expiry (1 hour)');
          await json(client, `${app.url}/remember`);
          assertNear(await subject.expiryOf(first.body.id), Date.now() + THIRTY_DAYS, 'store expiry (30 days)');
        });
      });
    });
  });
}
