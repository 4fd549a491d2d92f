import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SharingStore } from 'shared-session';

/** The callback API every session store of this package offers (express-session's Store). */
export interface ContractStore extends SharingStore {
  createSession(req: unknown, session: object): Record<string, unknown>;
  get(sid: string): Promise<unknown>;
  get(sid: string, callback: (error: unknown, session?: unknown) => void): void;
  set(sid: string, session: object): Promise<void>;
  set(sid: string, session: object, callback: ((error?: unknown) => void) | undefined): void;
  destroy(sid: string): Promise<void>;
  destroy(sid: string, callback: ((error?: unknown) => void) | undefined): void;
  touch(sid: string, session: object): Promise<void>;
  touch(sid: string, session: object, callback: ((error?: unknown) => void) | undefined): void;
  all(): Promise<unknown>;
  all(callback: (error: unknown, sessions?: unknown) => void): void;
  length(): Promise<number>;
  length(callback: (error: unknown, length?: number) => void): void;
  clear(): Promise<void>;
  clear(callback: ((error?: unknown) => void) | undefined): void;
}

export interface StoreUnderTest {
  readonly store: ContractStore;
  /** A second, independent instance on the same backing storage (another process's view), when the store has one. */
  readonly twin?: ContractStore;
  /**
   * Every record the backing storage holds now, read from the storage itself (rows, keys
   * or record files, each named as the storage names it): what an operation really wrote.
   * Only records: no bookkeeping such as a file store's temp files or markers.
   */
  entries(): Promise<string[]>;
  close(): Promise<void>;
}

const p = <T>(run: (callback: (error: unknown, value?: T) => void) => void): Promise<T | undefined> =>
  new Promise((resolve, reject) => run((error, value) => (error ? reject(error instanceof Error ? error : new Error('store failed', { cause: error })) : resolve(value))));

const get = (store: ContractStore, sid: string) => p<unknown>((cb) => store.get(sid, cb));
const set = (store: ContractStore, sid: string, session: object) => p<void>((cb) => store.set(sid, session, cb));
const destroy = (store: ContractStore, sid: string) => p<void>((cb) => store.destroy(sid, cb));
const touch = (store: ContractStore, sid: string, session: object) => p<void>((cb) => store.touch(sid, session, cb));
const length = (store: ContractStore) => p<number>((cb) => store.length(cb));
const all = (store: ContractStore) => p<unknown>((cb) => store.all(cb));
const clear = (store: ContractStore) => p<void>((cb) => store.clear(cb));

/** Load a session the way express-session does (get, then createSession), as one request would. */
async function load(store: ContractStore, sid: string): Promise<Record<string, unknown>> {
  const data = await get(store, sid);
  assert.ok(data, `session ${sid} exists`);
  return store.createSession({ sessionID: sid, sessionStore: store }, data);
}

const inMs = (ms: number) => ({ originalMaxAge: ms, expires: new Date(Date.now() + ms).toISOString(), httpOnly: true, path: '/' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The one behavioural suite every store must pass: the express-session Store methods,
 * expiry from the cookie, and the single-use claims the core relies on.
 */
export function describeStoreContract(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(`store contract: ${name}`, () => {
    let subject: StoreUnderTest;
    let store: ContractStore;
    before(async () => {
      subject = await open();
      store = subject.store;
    });
    after(() => subject.close());

    it('returns nothing for an unknown id, quickly', async () => {
      const started = performance.now();
      assert.equal(await get(store, 'no-such-id'), null);
      assert.ok(performance.now() - started < 1000);
    });

    it('stores and returns a session, cookie included', async () => {
      const session = { cookie: inMs(60_000), user: 'alice', cart: ['tea'], nested: { a: [1, 2, { b: null }] } };
      await set(store, 'sid-1', session);
      assert.deepEqual(await get(store, 'sid-1'), session);
    });

    it('overwrites on set and forgets on destroy', async () => {
      await set(store, 'sid-2', { cookie: inMs(60_000), n: 1 });
      await set(store, 'sid-2', { cookie: inMs(60_000), n: 2 });
      assert.equal(((await get(store, 'sid-2')) as { n: number }).n, 2);
      await destroy(store, 'sid-2');
      assert.equal(await get(store, 'sid-2'), null);
      await destroy(store, 'sid-2'); // destroying twice is not an error
    });

    it('expires a session when its cookie expires', async () => {
      await set(store, 'sid-short', { cookie: inMs(300), user: 'x' });
      assert.ok(await get(store, 'sid-short'));
      await sleep(450);
      assert.equal(await get(store, 'sid-short'), null);
    });

    it('extends the expiry on touch, keeping the data', async () => {
      const session = { cookie: inMs(400), user: 'touchy' };
      await set(store, 'sid-touch', session);
      await touch(store, 'sid-touch', { ...session, cookie: inMs(60_000) });
      await sleep(550);
      const back = (await get(store, 'sid-touch')) as { user: string } | null;
      assert.equal(back?.user, 'touchy');
    });

    it('does not bring back an expired session on touch', async () => {
      await set(store, 'sid-gone', { cookie: inMs(200), user: 'late' });
      await sleep(300);
      await touch(store, 'sid-gone', { cookie: inMs(60_000), user: 'late' });
      assert.equal(await get(store, 'sid-gone'), null);
    });

    it('counts, lists and clears live sessions', async () => {
      await clear(store);
      await set(store, 'a', { cookie: inMs(60_000), v: 'a' });
      await set(store, 'b', { cookie: inMs(60_000), v: 'b' });
      await set(store, 'expired', { cookie: inMs(100), v: 'x' });
      await sleep(200);
      assert.equal(await length(store), 2);
      const listed = (await all(store)) as Record<string, { v: string }>;
      assert.deepEqual(Object.keys(listed).sort(), ['a', 'b']);
      assert.equal(listed.a?.v, 'a');
      await clear(store);
      assert.equal(await length(store), 0);
    });

    it('keeps a session without cookie expiry for the default lifetime', async () => {
      await set(store, 'sid-browser', { cookie: { originalMaxAge: null, expires: null, httpOnly: true, path: '/' }, user: 'b' });
      assert.equal(((await get(store, 'sid-browser')) as { user: string }).user, 'b');
    });

    it('keeps both changes when two requests change different keys of one session', async () => {
      await set(store, 'race-keys', { cookie: inMs(60_000), user: 'alice', cart: ['tea'] });
      const first = await load(store, 'race-keys');
      const second = await load(subject.twin ?? store, 'race-keys');
      first.cart = ['tea', 'milk'];
      second.theme = 'dark';
      await set(store, 'race-keys', first);
      await set(subject.twin ?? store, 'race-keys', second);
      const back = (await get(store, 'race-keys')) as Record<string, unknown>;
      assert.deepEqual([back.user, back.cart, back.theme], ['alice', ['tea', 'milk'], 'dark']);
    });

    it('lets the last save win when two requests change the same key, and keeps removals', async () => {
      await set(store, 'race-same', { cookie: inMs(60_000), cart: ['a'], note: 'x' });
      const first = await load(store, 'race-same');
      const second = await load(store, 'race-same');
      first.cart = ['first'];
      second.cart = ['second'];
      delete second.note;
      await set(store, 'race-same', first);
      await set(store, 'race-same', second);
      const back = (await get(store, 'race-same')) as Record<string, unknown>;
      assert.deepEqual(back.cart, ['second']);
      assert.equal('note' in back, false);
    });

    it('keeps a destroyed session destroyed, whatever request saves later', async () => {
      await set(store, 'race-logout', { cookie: inMs(60_000), user: 'alice' });
      const slow = await load(store, 'race-logout');
      await destroy(subject.twin ?? store, 'race-logout');
      slow.cart = ['late'];
      await set(store, 'race-logout', slow);
      await touch(store, 'race-logout', slow);
      assert.equal(await get(store, 'race-logout'), null);
    });

    it('refuses every save of a destroyed id for tombstoneSeconds, also of a copy of the session (as @fastify/session makes) and of a new one', async () => {
      // A request that loaded the session before the logout and finishes after it must not
      // bring it back. Only express-session marks what it loaded; @fastify/session copies
      // the data into a new object, so a late save cannot be told from a new session.
      // (express-session's MemoryStore stores a new one: test/compat/differences.ts.)
      await set(store, 'reborn', { cookie: inMs(60_000), user: 'alice' });
      const copy = { ...((await get(store, 'reborn')) as object) } as Record<string, unknown>;
      await destroy(subject.twin ?? store, 'reborn');
      copy.cart = ['late'];
      await set(store, 'reborn', copy);
      assert.equal(await get(store, 'reborn'), null);
      await store.set('reborn', { cookie: inMs(60_000), user: 'mallory' });
      await set(subject.twin ?? store, 'reborn', { cookie: { originalMaxAge: 0, expires: new Date(0), path: '/' }, user: 'past' });
      await set(store, 'reborn', copy);
      assert.equal(await get(store, 'reborn'), null);
    });

    it('writes nothing for a repeated save of one request that changes only the cookie\'s expiry, and writes a real change', async () => {
      await set(store, 'repeat', { cookie: inMs(60_000), n: 1 });
      const session = await load(store, 'repeat');
      session.n = 2;
      await set(store, 'repeat', session);
      const stored = (await get(store, 'repeat')) as { n: number; cookie: { expires: string } };
      assert.equal(stored.n, 2);
      await sleep(5);
      session.cookie = inMs(60_000); // the same lifetime, a few ms on: what save-first's second save looks like
      await set(store, 'repeat', session);
      assert.equal(((await get(store, 'repeat')) as { cookie: { expires: string } }).cookie.expires, stored.cookie.expires, 'the repeat wrote nothing');
      session.n = 3;
      await set(store, 'repeat', session);
      assert.equal(((await get(store, 'repeat')) as { n: number }).n, 3);
    });

    it('stores a new cookie lifetime saved right after another save (remember-me after the login save)', async () => {
      for (const remember of [inMs(60_000), { originalMaxAge: null, expires: null, httpOnly: true, path: '/' }]) {
        await set(store, 'remember', { cookie: inMs(400), user: 'alice' });
        const session = await load(store, 'remember');
        session.passport = { user: 'alice' };
        await set(store, 'remember', session); // Passport's req.login() saves
        session.cookie = remember; // then the app: req.session.cookie.maxAge = 30 days (or expires = false)
        await set(store, 'remember', session);
        await sleep(550);
        const back = (await get(store, 'remember')) as { cookie: { originalMaxAge: unknown } } | null;
        assert.ok(back, `the session outlives the lifetime of the first save (${String(remember.originalMaxAge)})`);
        assert.equal(back.cookie.originalMaxAge, remember.originalMaxAge);
      }
    });

    it('stores a new cookie lifetime on touch (express-session touches when only the cookie changed)', async () => {
      await set(store, 'touch-life', { cookie: inMs(400), user: 'alice' });
      const session = await load(store, 'touch-life');
      session.cookie = inMs(60_000);
      await touch(store, 'touch-life', session);
      await sleep(550);
      const back = (await get(store, 'touch-life')) as { cookie: { originalMaxAge: unknown } } | null;
      assert.equal(back?.cookie.originalMaxAge, 60_000, 'the next request builds its cookie from the stored one');
      // express-session recomputes originalMaxAge on each request, a millisecond off at times:
      // the same lifetime, so a plain touch (the stored cookie stays as it was).
      const next = await load(store, 'touch-life');
      next.cookie = { ...inMs(60_000), originalMaxAge: 59_999 };
      await touch(store, 'touch-life', next);
      assert.equal(((await get(store, 'touch-life')) as { cookie: { originalMaxAge: unknown } }).cookie.originalMaxAge, 60_000);
    });

    it('takes an expiry already past as no session, and an expiry that is no date as none', async () => {
      await set(store, 'past', { cookie: inMs(60_000), user: 'alice' });
      await set(store, 'past', { cookie: { originalMaxAge: 0, expires: new Date(0), httpOnly: true, path: '/' }, user: 'alice' });
      assert.equal(await get(store, 'past'), null);
      await set(store, 'past-new', { cookie: { originalMaxAge: -1000, expires: new Date(Date.now() - 1000).toISOString(), path: '/' } });
      assert.equal(await get(store, 'past-new'), null);
      await set(store, 'invalid', { cookie: { originalMaxAge: null, expires: new Date(Number.NaN), path: '/' }, user: 'i' });
      assert.equal(((await get(store, 'invalid')) as { user: string }).user, 'i');
      await set(store, 'garbled', { cookie: { originalMaxAge: null, expires: 'not a date', path: '/' }, user: 'g' });
      assert.equal(((await get(store, 'garbled')) as { user: string }).user, 'g');
    });

    it('answers a Promise from every method called without a callback', async () => {
      const session = { cookie: inMs(60_000), user: 'p' };
      await store.set('promised', session);
      assert.deepEqual(await store.get('promised'), session);
      assert.equal(await store.get('no-such-id'), null);
      await store.touch('promised', { cookie: inMs(120_000), user: 'p' });
      assert.ok((await store.length()) >= 1);
      assert.equal(((await store.all()) as Record<string, { user: string }>).promised?.user, 'p');
      await store.destroy('promised');
      assert.equal(await store.get('promised'), null);
      await store.clear();
      assert.equal(await store.length(), 0);
    });

    it('takes a callback argument passed as undefined as the callback API: no Promise, nothing to crash on', () => {
      // express-session's req.session.destroy() passes its own missing callback on.
      assert.equal(store.destroy('no-such-id', undefined), undefined);
      assert.equal(store.set('cb-undefined', { cookie: inMs(60_000) }, undefined), undefined);
    });

    it('calls each callback once, outside its own promises: a throw in it is an uncaught exception', async () => {
      // node:test listens for uncaught exceptions to fail the running test: stand in for it.
      const listeners = process.rawListeners('uncaughtException');
      process.removeAllListeners('uncaughtException');
      const rejections: unknown[] = [];
      const onRejection = (reason: unknown) => void rejections.push(reason);
      process.on('unhandledRejection', onRejection);
      try {
        const caught = new Promise<unknown>((resolve) => process.once('uncaughtException', resolve));
        let calls = 0;
        store.get('no-such-id', () => {
          calls += 1;
          throw new Error('thrown by the app');
        });
        const error = await Promise.race([caught, sleep(2000).then(() => 'nothing')]);
        await sleep(50);
        assert.equal((error as Error).message, 'thrown by the app');
        assert.equal(calls, 1);
        assert.deepEqual(rejections, []);
      } finally {
        process.off('unhandledRejection', onRejection);
        process.removeAllListeners('uncaughtException');
        for (const listener of listeners) process.on('uncaughtException', listener as (error: Error) => void);
      }
    });

    it('writes nothing when destroying an id that was never stored', async () => {
      // A logout without a cookie, or a bot's made-up id: a tombstone for each would let
      // anonymous requests fill the store without bound.
      const before = new Set(await subject.entries());
      await set(store, 'probe-stored', { cookie: inMs(60_000), user: 'p' });
      const afterSave = await subject.entries();
      assert.ok(afterSave.some((entry) => !before.has(entry)), 'the probe sees what a save writes');
      const known = new Set(afterSave);
      const sids = Array.from({ length: 20 }, (_, i) => `never-stored-${i}`);
      await Promise.all(sids.map((sid, i) => destroy(i % 2 ? (subject.twin ?? store) : store, sid)));
      await Promise.all(sids.map((sid) => destroy(store, sid))); // twice: still nothing
      assert.deepEqual((await subject.entries()).filter((entry) => !known.has(entry)), []);
      // No tombstone: a session created under such an id later is kept.
      await set(store, 'never-stored-0', { cookie: inMs(60_000), user: 'new' });
      assert.equal(((await get(store, 'never-stored-0')) as { user: string }).user, 'new');
    });

    it('leaves a tombstone when destroying a stored session: a late save stays refused, also after destroying it again', async () => {
      await set(store, 'tomb-kept', { cookie: inMs(60_000), user: 'alice' });
      const slow = await load(store, 'tomb-kept');
      await destroy(subject.twin ?? store, 'tomb-kept');
      // The second destroy finds the tombstone and no session: it writes nothing, and must not remove it.
      await destroy(store, 'tomb-kept');
      slow.cart = ['late'];
      await set(store, 'tomb-kept', slow);
      assert.equal(await get(store, 'tomb-kept'), null);
      await set(subject.twin ?? store, 'tomb-kept', { cookie: inMs(60_000), user: 'mallory' });
      assert.equal(await get(store, 'tomb-kept'), null);
    });

    it('leaves a tombstone when destroying a session whose record expired but is still stored', async (t) => {
      const before = new Set(await subject.entries());
      await set(store, 'tomb-expired', { cookie: inMs(250), user: 'alice' });
      const record = (await subject.entries()).filter((entry) => !before.has(entry));
      const slow = await load(store, 'tomb-expired');
      await sleep(350);
      const stored = new Set(await subject.entries());
      if (!record.some((entry) => stored.has(entry))) return t.skip('this store deletes expired records itself (no record, nothing to destroy)');
      await destroy(subject.twin ?? store, 'tomb-expired');
      slow.cookie = inMs(60_000);
      slow.cart = ['late'];
      await set(store, 'tomb-expired', slow);
      assert.equal(await get(store, 'tomb-expired'), null);
    });

    it('keeps a destroyed session destroyed after a touch with a short or past expiry', async () => {
      // A touch racing a logout must not shorten or end the tombstone: a late save would
      // then find no trace of the destroy and write the session back.
      for (const [sid, expiresIn] of [['touch-tomb-past', -60_000], ['touch-tomb-short', 50]] as const) {
        await set(store, sid, { cookie: inMs(60_000), user: 'alice' });
        const slow = await load(store, sid);
        await destroy(subject.twin ?? store, sid);
        await touch(store, sid, { ...slow, cookie: inMs(expiresIn) });
        await new Promise((resolve) => setTimeout(resolve, 120));
        slow.cart = ['late'];
        await set(store, sid, slow);
        assert.equal(await get(store, sid), null, sid);
      }
    });

    it('keeps a destroyed session destroyed when saves race the destroy', async () => {
      const other = subject.twin ?? store;
      const sids = Array.from({ length: 60 }, (_, i) => `race-destroy-${i}`);
      await Promise.all(
        sids.map(async (sid) => {
          await set(store, sid, { cookie: inMs(60_000), n: 0 });
          const [a, b] = [await load(store, sid), await load(other, sid)];
          a.n = 1;
          b.m = 2;
          await Promise.all([set(store, sid, a), destroy(other, sid), set(other, sid, b)]);
        }),
      );
      const back = await Promise.all(sids.map((sid) => get(store, sid)));
      assert.equal(back.filter(Boolean).length, 0);
    });

    it('writes the whole session when its record vanished between load and save', async () => {
      await set(store, 'vanishing', { cookie: inMs(250), user: 'v', cart: ['kept'] });
      const loaded = await load(store, 'vanishing');
      await sleep(350);
      loaded.cookie = inMs(60_000);
      loaded.theme = 'new';
      await set(store, 'vanishing', loaded);
      const back = (await get(store, 'vanishing')) as Record<string, unknown>;
      assert.deepEqual([back.user, back.cart, back.theme], ['v', ['kept'], 'new']);
    });

    it('writes only what changed since the previous save of the same request', async () => {
      await set(store, 'twice', { cookie: inMs(60_000), a: 1, b: 1 });
      const request = await load(store, 'twice');
      const other = await load(store, 'twice');
      request.a = 2;
      await set(store, 'twice', request);
      other.b = 3;
      await set(store, 'twice', other);
      request.c = 4; // b is unchanged in this request since its first save: it must not undo b = 3
      await set(store, 'twice', request);
      const back = (await get(store, 'twice')) as Record<string, unknown>;
      assert.deepEqual([back.a, back.b, back.c], [2, 3, 4]);
    });

    it('grants a claim exactly once, and again only after it expired', async () => {
      assert.equal(await store.claimOnce('claim-1', 300), true);
      assert.equal(await store.claimOnce('claim-1', 300), false);
      assert.equal(await store.claimOnce('claim-2', 300), true);
      await sleep(400);
      assert.equal(await store.claimOnce('claim-1', 300), true);
    });

    it('grants one claim out of 200 racing calls', async () => {
      const stores = subject.twin ? [store, subject.twin] : [store];
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => (stores[i % stores.length] as ContractStore).claimOnce('race', 10_000)));
      assert.equal(results.filter(Boolean).length, 1);
    });

    it('grants an expired claim to exactly one of 200 racing calls', async () => {
      assert.equal(await store.claimOnce('reclaim', 100), true);
      await sleep(200);
      const stores = subject.twin ? [store, subject.twin] : [store];
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => (stores[i % stores.length] as ContractStore).claimOnce('reclaim', 10_000)));
      assert.equal(results.filter(Boolean).length, 1);
    });

    it('deletes an expired claim from the storage within seconds, on its own timer', async () => {
      // Claims are written per accepted token and live seconds: a burst must not leave its
      // dead claims until the general prune (every pruneIntervalSeconds, 600 by default).
      const before = new Set(await subject.entries());
      assert.equal(await store.claimOnce('short-lived-claim', 1000), true);
      let left = (await subject.entries()).filter((entry) => !before.has(entry));
      assert.equal(left.length, 1, 'the claim is one record');
      const expired = Date.now() + 1000;
      // The claim prune runs every 5 s (claimPruneIntervalSeconds): gone within 10 s of expiry.
      while (left.length > 0 && Date.now() < expired + 10_000) {
        await sleep(250);
        const now = new Set(await subject.entries());
        left = left.filter((entry) => now.has(entry));
      }
      assert.deepEqual(left, []);
    });

    it('keeps a link record per browser, overwrites it, and expires it', async () => {
      assert.equal(await store.readLink('browser-1'), undefined);
      await store.writeLink('browser-1', '{"sid":"a"}', 60_000);
      await store.writeLink('browser-2', '{"sid":"b"}', 300);
      assert.equal(await store.readLink('browser-1'), '{"sid":"a"}');
      await store.writeLink('browser-1', '{"sid":"c"}', 60_000);
      assert.equal(await store.readLink('browser-1'), '{"sid":"c"}');
      assert.equal(await store.readLink('browser-2'), '{"sid":"b"}');
      await sleep(400);
      assert.equal(await store.readLink('browser-2'), undefined);
      if (subject.twin) assert.equal(await subject.twin.readLink('browser-1'), '{"sid":"c"}');
    });

    it('shares sessions and claims with a second instance on the same storage', { skip: false }, async (t) => {
      if (!subject.twin) return t.skip('this store has no shared backing storage');
      await set(store, 'shared', { cookie: inMs(60_000), user: 'both' });
      assert.equal(((await get(subject.twin, 'shared')) as { user: string }).user, 'both');
      assert.equal(await store.claimOnce('twin-claim', 10_000), true);
      assert.equal(await subject.twin.claimOnce('twin-claim', 10_000), false);
    });
  });
}
