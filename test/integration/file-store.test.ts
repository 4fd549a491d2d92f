import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SharedSessionError } from 'shared-session';
import { FileStore } from 'shared-session/file';
import { describeStoreContract } from '../helpers/store-contract.ts';

function tempDir(): { base: string; directory: string; cleanup: () => void } {
  const base = mkdtempSync(join(tmpdir(), 'shared-session-file-'));
  return { base, directory: join(base, 'store'), cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

/** The store's file name of a key (its documented layout): SHA-256 of the UTF-16 code units. */
const nameOf = (key: string) => createHash('sha256').update(key, 'utf16le').digest('hex');

const p = <T>(run: (callback: (error: unknown, value?: T) => void) => void): Promise<T | undefined> =>
  new Promise((resolve, reject) => run((error, value) => (error ? reject(error instanceof Error ? error : new Error('store failed', { cause: error })) : resolve(value))));
const get = (store: FileStore, sid: string) => p<unknown>((cb) => store.get(sid, cb));
const set = (store: FileStore, sid: string, session: object) => p<void>((cb) => store.set(sid, session, cb));
const destroy = (store: FileStore, sid: string) => p<void>((cb) => store.destroy(sid, cb));
const inMs = (ms: number) => ({ originalMaxAge: ms, expires: new Date(Date.now() + ms).toISOString(), httpOnly: true, path: '/' });
const hourAgo = () => new Date(Date.now() - 3_600_000);

const isUnavailable = (error: unknown): boolean =>
  error instanceof SharedSessionError && error.code === 'ERR_SHARED_SESSION_STORE_UNAVAILABLE' && error.status === 503;

function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

function summary(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  return `median ${percentile(sorted, 0.5).toFixed(2)} ms, p99 ${percentile(sorted, 0.99).toFixed(2)} ms, max ${(sorted.at(-1) ?? Number.NaN).toFixed(2)} ms (n=${sorted.length})`;
}

/**
 * Start one process per entry of `argsPerChild` running `script` (an ES module that prints
 * `ready`, waits for a line on stdin, then prints its result), let them all start before
 * any races, and resolve what each printed after `ready`.
 */
async function race(script: string, argsPerChild: readonly (readonly string[])[]): Promise<string[]> {
  const children = argsPerChild.map((args) => {
    const child = spawn(process.execPath, ['--conditions=@shared-session/source', '--input-type=module', '-e', script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    let markReady = (): void => undefined;
    const ready = new Promise<void>((resolve) => (markReady = resolve));
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready\n')) markReady();
    });
    const done = new Promise<string>((resolve, reject) =>
      child.on('exit', (code) => (code === 0 ? resolve(out.slice(out.indexOf('ready\n') + 6).trim()) : reject(new Error(`child exited with ${code}`)))),
    );
    done.catch(() => undefined); // awaited below; a crash before `ready` must not go unhandled
    return { child, ready, done };
  });
  await Promise.all(children.map(({ ready, done }) => Promise.race([ready, done.then(() => Promise.reject(new Error('child exited before it was ready')))])));
  for (const { child } of children) child.stdin.end('go\n');
  return Promise.all(children.map(({ done }) => done));
}

/** The record files and lock files of a store's directory, as `<subdirectory>/<name>` (no temp files, no markers). */
function recordsIn(directory: string): string[] {
  return readdirSync(directory, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /^([0-9a-f]{64}\.json|[sl]-[0-9a-f]{64})$/.test(entry.name))
    .map((entry) => `${entry.parentPath.slice(directory.length + 1)}/${entry.name}`);
}

describeStoreContract('FileStore (one directory, two instances)', () => {
  const dir = tempDir();
  const store = new FileStore({ directory: dir.directory });
  const twin = new FileStore({ directory: dir.directory });
  return Promise.resolve({
    store,
    twin,
    entries: () => Promise.resolve(recordsIn(dir.directory)),
    close: () => {
      store.close();
      twin.close();
      dir.cleanup();
      return Promise.resolve();
    },
  });
});

describe('FileStore specifics', () => {
  it('validates its options', () => {
    const dir = tempDir();
    const option = (pattern: RegExp) => (error: unknown) =>
      error instanceof SharedSessionError && error.code === 'ERR_SHARED_SESSION_OPTION' && pattern.test(error.message);
    assert.throws(() => new FileStore(undefined as never), option(/`options`/));
    assert.throws(() => new FileStore({} as never), option(/`directory`/));
    assert.throws(() => new FileStore({ directory: '' }), option(/`directory`/));
    assert.throws(() => new FileStore({ directory: 'a\0b' }), option(/`directory`/));
    assert.throws(() => new FileStore({ directory: dir.directory, pruneIntervalSeconds: -1 }), option(/`pruneIntervalSeconds`/));
    assert.throws(() => new FileStore({ directory: dir.directory, claimPruneIntervalSeconds: -1 }), option(/`claimPruneIntervalSeconds`/));
    assert.throws(() => new FileStore({ directory: dir.directory, defaultTtlSeconds: 0 }), option(/`defaultTtlSeconds`/));
    assert.throws(() => new FileStore({ directory: dir.directory, lockStaleMs: 0 }), option(/`lockStaleMs`/));
    // A lock must outlive the time limit of the holder's operation, or a live holder's lock is broken.
    assert.throws(() => new FileStore({ directory: dir.directory, lockStaleMs: 1500 }), option(/`lockStaleMs` must be longer than operationTimeoutMs \(2000\)/));
    assert.throws(() => new FileStore({ directory: dir.directory, operationTimeoutMs: 5000, lockStaleMs: 5000 }), option(/`lockStaleMs`/));
    assert.throws(() => new FileStore({ directory: dir.directory, fileMode: 0o400 }), option(/`fileMode`/));
    assert.throws(() => new FileStore({ directory: dir.directory, fileMode: 0o1777 }), option(/`fileMode`/));
    assert.throws(() => new FileStore({ directory: dir.directory, fileMode: 1.5 }), option(/`fileMode`/));
    writeFileSync(join(dir.base, 'a-file'), 'x');
    assert.throws(() => new FileStore({ directory: join(dir.base, 'a-file') }), option(/`directory` cannot be used: .*a-file.* \((EEXIST|ENOTDIR)\)/));
    new FileStore({ directory: dir.directory, operationTimeoutMs: 5000, pruneIntervalSeconds: 0, fileMode: 0o660 }).close();
    dir.cleanup();
  });

  it('creates the directory and keeps session files private to their owner', async () => {
    const dir = tempDir();
    const directory = join(dir.directory, 'nested', 'deeper');
    const store = new FileStore({ directory, pruneIntervalSeconds: 0 });
    assert.deepEqual(readdirSync(directory).sort(), ['claims', 'links', 'locks', 'sessions', 'tombstones']);
    assert.equal(statSync(join(directory, 'sessions')).mode & 0o777, 0o700);
    await set(store, 'sid', { cookie: inMs(60_000), user: 'alice' });
    const files = readdirSync(join(directory, 'sessions'));
    assert.deepEqual(files, [`${nameOf('sid')}.json`]);
    assert.equal(statSync(join(directory, 'sessions', files[0] as string)).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(join(directory, 'locks')), [], 'the lock is released');
    store.close();
    dir.cleanup();
  });

  it('answers a missing id at once, without waiting for its lock', async (t: TestContext) => {
    const dir = tempDir();
    const store = new FileStore({ directory: dir.directory, pruneIntervalSeconds: 0 });
    await set(store, 'someone-else', { cookie: inMs(60_000) });
    const times: number[] = [];
    for (let i = 0; i < 300; i++) {
      const started = performance.now();
      assert.equal(await get(store, `missing-${i}`), null);
      times.push(performance.now() - started);
    }
    t.diagnostic(`get of a missing id: ${summary(times)}`);
    assert.ok(Math.max(...times) < 250, summary(times));
    // Even while another process holds the id's lock (a save in progress), get does not wait.
    writeFileSync(join(dir.directory, 'locks', `s-${nameOf('locked-missing')}`), '');
    const started = performance.now();
    assert.equal(await get(store, 'locked-missing'), null);
    const locked = performance.now() - started;
    t.diagnostic(`get of a missing id whose lock is held: ${locked.toFixed(2)} ms`);
    assert.ok(locked < 250);
    store.close();
    dir.cleanup();
  });

  it('recovers a lock left by a holder that died, and all racing saves land', async (t: TestContext) => {
    const dir = tempDir();
    const store = new FileStore({ directory: dir.directory, pruneIntervalSeconds: 0 });
    const twin = new FileStore({ directory: dir.directory, pruneIntervalSeconds: 0 });
    await set(store, 'crashed', { cookie: inMs(60_000), user: 'alice' });
    const lock = join(dir.directory, 'locks', `s-${nameOf('crashed')}`);
    writeFileSync(lock, '');
    utimesSync(lock, hourAgo(), hourAgo()); // the holder died an hour ago
    // Twenty requests on two instances load the session, then all save at once.
    const loaded = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const on = i % 2 ? twin : store;
        return { on, session: on.createSession({ sessionID: 'crashed', sessionStore: on }, (await get(on, 'crashed')) as object) as Record<string, unknown> };
      }),
    );
    const started = performance.now();
    await Promise.all(
      loaded.map(({ on, session }, i) => {
        session[`k${i}`] = i;
        return set(on, 'crashed', session);
      }),
    );
    const elapsed = performance.now() - started;
    t.diagnostic(`20 saves racing for a stale lock: ${elapsed.toFixed(1)} ms in all`);
    const back = (await get(store, 'crashed')) as Record<string, unknown>;
    assert.equal(back.user, 'alice');
    for (let i = 0; i < 20; i++) assert.equal(back[`k${i}`], i);
    assert.ok(elapsed < 1500, `${elapsed} ms`);
    assert.deepEqual(readdirSync(join(dir.directory, 'locks')).filter((file) => !file.includes('~')), [], 'no lock is left behind');
    store.close();
    twin.close();
    dir.cleanup();
  });

  it('recovers when the process that began to break a stale lock or claim died too', async () => {
    const dir = tempDir();
    const store = new FileStore({ directory: dir.directory, pruneIntervalSeconds: 0 });
    await set(store, 'twice-dead', { cookie: inMs(60_000), user: 'alice' });
    const lock = join(dir.directory, 'locks', `s-${nameOf('twice-dead')}`);
    writeFileSync(lock, '');
    utimesSync(lock, hourAgo(), hourAgo());
    const info = statSync(lock, { bigint: true });
    // The marker of a breaker that died before it removed the lock.
    const marker = `${lock}~${info.ino}-${info.mtimeNs}`;
    writeFileSync(marker, '');
    utimesSync(marker, hourAgo(), hourAgo());
    await set(store, 'twice-dead', { cookie: inMs(60_000), user: 'bob' });
    assert.equal(((await get(store, 'twice-dead')) as { user: string }).user, 'bob');
    // The same for a claim: expired, and the racer that won its marker died before replacing it.
    assert.equal(await store.claimOnce('abandoned', 1), true);
    const claim = join(dir.directory, 'claims', `${nameOf('abandoned')}.json`);
    const { token } = JSON.parse(readFileSync(claim, 'utf8')) as { token: string };
    writeFileSync(`${claim}~${token}`, '');
    utimesSync(`${claim}~${token}`, hourAgo(), hourAgo());
    await sleep(10);
    const results = await Promise.all(Array.from({ length: 20 }, () => store.claimOnce('abandoned', 60_000)));
    assert.equal(results.filter(Boolean).length, 1);
    store.close();
    dir.cleanup();
  });

  it('waits a bounded time for a live holder, then answers 503 and changes nothing', async (t: TestContext) => {
    const dir = tempDir();
    const store = new FileStore({ directory: dir.directory, pruneIntervalSeconds: 0, operationTimeoutMs: 300 });
    await set(store, 'busy', { cookie: inMs(60_000), user: 'alice' });
    const lock = join(dir.directory, 'locks', `s-${nameOf('busy')}`);
    writeFileSync(lock, ''); // a live holder: its lock is fresh
    const started = performance.now();
    await assert.rejects(set(store, 'busy', { cookie: inMs(60_000), user: 'mallory' }), isUnavailable);
    const waited = performance.now() - started;
    t.diagnostic(`save behind a live lock failed after ${waited.toFixed(0)} ms (operationTimeoutMs 300)`);
    assert.ok(waited >= 250 && waited < 2000, `${waited} ms`);
    await sleep(100); // the store's own loop gives up at its deadline too
    assert.equal(((await get(store, 'busy')) as { user: string }).user, 'alice');
    assert.deepEqual(readdirSync(join(dir.directory, 'sessions')), [`${nameOf('busy')}.json`], 'no temp file is left behind');
    rmSync(lock); // the holder finished
    await set(store, 'busy', { cookie: inMs(60_000), user: 'bob' });
    assert.equal(((await get(store, 'busy')) as { user: string }).user, 'bob');
    store.close();
    dir.cleanup();
  });

  it('keeps hostile session ids inside the directory, one file each', async () => {
    const dir = tempDir();
    const store = new FileStore({ directory: dir.directory, pruneIntervalSeconds: 0 });
    const sids = ['../x', '../../../../etc/passwd', '/etc/passwd', 'C:\\Windows\\x', 'a\0b', '\0', 'x'.repeat(100_000), '', '.', '..', '~', 'a/b', '%2e%2e%2f',
      'A', 'a', '\uD800', '\uDC00', '\uD83D\uDE00', 'nul', 'con.json'];
    for (const [i, sid] of sids.entries()) await set(store, sid, { cookie: inMs(60_000), i });
    for (const [i, sid] of sids.entries()) assert.equal(((await get(store, sid)) as { i: number }).i, i, `sid #${i}`);
    const listed = (await p<Record<string, { i: number }>>((cb) => store.all(cb))) ?? {};
    assert.deepEqual(Object.keys(listed).sort(), [...sids].sort());
    await destroy(store, '../x');
    assert.equal(await get(store, '../x'), null);
    assert.equal(await store.claimOnce('../claim', 60_000), true);
    assert.equal(await store.claimOnce('../claim', 60_000), false);
    await store.writeLink('/../link\0', 'v', 60_000);
    assert.equal(await store.readLink('/../link\0'), 'v');
    // Nothing outside the store's directory, and only names the store makes inside it.
    assert.deepEqual(readdirSync(dir.base), ['store']);
    const names: Record<string, RegExp> = {
      sessions: /^[0-9a-f]{64}\.json$/,
      tombstones: /^[0-9a-f]{64}\.json$/,
      claims: /^[0-9a-f]{64}\.json$/,
      links: /^[0-9a-f]{64}\.json$/,
      locks: /^$/,
    };
    for (const entry of readdirSync(dir.directory, { recursive: true, withFileTypes: true })) {
      if (entry.isDirectory()) continue;
      const sub = entry.parentPath.slice(dir.directory.length + 1);
      assert.match(entry.name, names[sub] ?? /^$/, `${sub}/${entry.name}`);
    }
    assert.equal(readdirSync(join(dir.directory, 'sessions')).length, sids.length - 1);
    store.close();
    dir.cleanup();
  });

  it('answers 503 when the directory is replaced by a file, and never crashes', async () => {
    const dir = tempDir();
    const store = new FileStore({ directory: dir.directory, pruneIntervalSeconds: 0 });
    await set(store, 'sid', { cookie: inMs(60_000), user: 'alice' });
    rmSync(dir.directory, { recursive: true });
    writeFileSync(dir.directory, 'not a directory');
    const session = { cookie: inMs(60_000), user: 'x' };
    await assert.rejects(get(store, 'sid'), isUnavailable);
    await assert.rejects(get(store, 'missing'), isUnavailable);
    await assert.rejects(set(store, 'sid', session), isUnavailable);
    await assert.rejects(destroy(store, 'sid'), isUnavailable);
    await assert.rejects(p((cb) => store.touch('sid', session, cb)), isUnavailable);
    await assert.rejects(p((cb) => store.all(cb)), isUnavailable);
    await assert.rejects(p((cb) => store.length(cb)), isUnavailable);
    await assert.rejects(p((cb) => store.clear(cb)), isUnavailable);
    await assert.rejects(store.claimOnce('key', 1000), isUnavailable);
    await assert.rejects(store.readLink('browser'), isUnavailable);
    await assert.rejects(store.writeLink('browser', 'v', 1000), isUnavailable);
    await assert.rejects(store.prune(), /ENOTDIR/);
    store.close();
    dir.cleanup();
  });

  it('does not recreate a directory removed at run time: reads find nothing, writes answer 503', async () => {
    const dir = tempDir();
    const store = new FileStore({ directory: dir.directory, pruneIntervalSeconds: 0 });
    await set(store, 'sid', { cookie: inMs(60_000), user: 'alice' });
    rmSync(dir.directory, { recursive: true });
    assert.equal(await get(store, 'sid'), null);
    await assert.rejects(set(store, 'sid', { cookie: inMs(60_000) }), isUnavailable);
    await assert.rejects(store.claimOnce('key', 1000), isUnavailable);
    assert.deepEqual(readdirSync(dir.base), [], 'an unmounted share must not silently become a local directory');
    store.close();
    dir.cleanup();
  });

  it('reports a failed timed prune on the error event', async () => {
    const dir = tempDir();
    const store = new FileStore({ directory: dir.directory, pruneIntervalSeconds: 0.2 });
    const failed = new Promise<unknown>((resolve) => store.once('error', resolve));
    rmSync(dir.directory, { recursive: true });
    writeFileSync(dir.directory, 'not a directory');
    const error = await Promise.race([failed, sleep(5000, 'no error event')]);
    assert.match(String((error as Error).message), /ENOTDIR/);
    store.close();
    dir.cleanup();
  });

  it('reads a corrupt or empty session file as no session and deletes it at once; a record of a newer format is left to it', async () => {
    const dir = tempDir();
    const store = new FileStore({ directory: dir.directory, pruneIntervalSeconds: 0 });
    const fileOf = (sid: string) => join(dir.directory, 'sessions', `${nameOf(sid)}.json`);
    writeFileSync(fileOf('broken'), '{"v":1,"secret-data');
    writeFileSync(fileOf('empty'), '');
    await set(store, 'kept', { cookie: inMs(60_000), user: 'alice' });
    // Each write is a whole file renamed into place: only damage from outside makes such a
    // file, and a 503 on every request of that session until the next prune helps nobody.
    assert.equal(await get(store, 'broken'), null);
    assert.equal(await get(store, 'empty'), null);
    assert.deepEqual(readdirSync(join(dir.directory, 'sessions')), [`${nameOf('kept')}.json`]);
    // A save and a touch over a corrupt file replace it rather than fail.
    writeFileSync(fileOf('broken'), 'garbage');
    await set(store, 'broken', { cookie: inMs(60_000), user: 'new' });
    assert.equal(((await get(store, 'broken')) as { user: string }).user, 'new');
    // A record of a newer format is left alone (a newer version may share the directory), as a 503.
    writeFileSync(fileOf('newer'), JSON.stringify({ v: 2, expires: 0 }));
    await assert.rejects(get(store, 'newer'), isUnavailable);
    assert.ok(readdirSync(join(dir.directory, 'sessions')).includes(`${nameOf('newer')}.json`));
    store.close();
    dir.cleanup();
  });

  it('logs everyone out, and keeps working, when the files of the directory are deleted', async () => {
    const dir = tempDir();
    const store = new FileStore({ directory: dir.directory, pruneIntervalSeconds: 0 });
    await set(store, 'before', { cookie: inMs(60_000), user: 'alice' });
    for (const kind of readdirSync(dir.directory)) for (const file of readdirSync(join(dir.directory, kind))) rmSync(join(dir.directory, kind, file));
    assert.equal(await get(store, 'before'), null);
    await set(store, 'after', { cookie: inMs(60_000), user: 'bob' });
    assert.equal(((await get(store, 'after')) as { user: string }).user, 'bob');
    store.close();
    dir.cleanup();
  });

  it('prunes expired records, stale locks and leftovers of dead processes, and nothing live', async () => {
    const dir = tempDir();
    const store = new FileStore({ directory: dir.directory, pruneIntervalSeconds: 0, tombstoneSeconds: 0.1 });
    const at = (sub: string) => readdirSync(join(dir.directory, sub)).sort();
    await set(store, 'old', { cookie: { expires: new Date(Date.now() - 1000) } });
    await set(store, 'new', { cookie: inMs(60_000) });
    await set(store, 'gone', { cookie: inMs(60_000) });
    await destroy(store, 'gone'); // a stored session: its tombstone lives tombstoneSeconds (0.1)
    assert.equal(await store.claimOnce('claim-old', 1), true);
    assert.equal(await store.claimOnce('claim-new', 60_000), true);
    await store.writeLink('browser-old', 'v', 1);
    await store.writeLink('browser-new', 'v', 60_000);
    const leftovers = {
      oldTemp: join(dir.directory, 'sessions', `.${'a'.repeat(32)}.tmp`),
      newTemp: join(dir.directory, 'links', `.${'b'.repeat(32)}.tmp`),
      deadLock: join(dir.directory, 'locks', `s-${nameOf('dead')}`),
      liveLock: join(dir.directory, 'locks', `l-${nameOf('live')}`),
      oldMarker: join(dir.directory, 'claims', `${nameOf('x')}.json~${'c'.repeat(32)}`),
    };
    for (const path of Object.values(leftovers)) writeFileSync(path, '');
    for (const path of [leftovers.oldTemp, leftovers.deadLock, leftovers.oldMarker]) utimesSync(path, hourAgo(), hourAgo());
    assert.deepEqual(at('tombstones'), [`${nameOf('gone')}.json`]);
    await sleep(150);
    assert.equal(await store.prune(), 1);
    assert.deepEqual(at('sessions'), [`${nameOf('new')}.json`]);
    assert.deepEqual(at('tombstones'), []);
    assert.deepEqual(at('claims').filter((file) => !file.includes('~')), [`${nameOf('claim-new')}.json`]);
    // The expired claim's marker stays a while; the marker a dead process left an hour ago went.
    assert.deepEqual(at('claims').filter((file) => file.includes('~')).map((file) => file.split('~')[0]), [`${nameOf('claim-old')}.json`]);
    assert.deepEqual(at('links'), [`.${'b'.repeat(32)}.tmp`, `${nameOf('browser-new')}.json`]);
    // The stale lock went (its marker stays a while, so no late racer acts on it), the live one stayed.
    assert.deepEqual(at('locks').filter((file) => !file.includes('~')), [`l-${nameOf('live')}`]);
    assert.deepEqual(at('locks').filter((file) => file.includes('~')).map((file) => file.split('~')[0]), [`s-${nameOf('dead')}`]);
    assert.equal(await store.claimOnce('claim-new', 60_000), false);
    assert.equal(await store.claimOnce('claim-old', 60_000), true);
    assert.equal(await store.readLink('browser-new'), 'v');
    // The timer prunes too.
    const timed = new FileStore({ directory: dir.directory, pruneIntervalSeconds: 0.2 });
    await set(timed, 'short', { cookie: inMs(50) });
    const started = Date.now();
    while (at('sessions').includes(`${nameOf('short')}.json`) && Date.now() - started < 5000) await sleep(50);
    assert.deepEqual(at('sessions'), [`${nameOf('new')}.json`]);
    timed.close();
    store.close();
    dir.cleanup();
  });

  it('prunes many expired claims a batch of files at a time, letting other callbacks run, and keeps the live ones', async () => {
    const dir = tempDir();
    const store = new FileStore({ directory: dir.directory, pruneIntervalSeconds: 0, claimPruneIntervalSeconds: 0 });
    const claims = join(dir.directory, 'claims');
    const token = 'd'.repeat(32);
    for (let i = 0; i < 3000; i++) {
      const expires = i % 3 === 0 ? Date.now() + 600_000 : Date.now() - 60_000;
      writeFileSync(join(claims, `${nameOf(`jti-${i}`)}.json`), JSON.stringify({ v: 1, expires, token }));
    }
    const claimFiles = () => readdirSync(claims).filter((file) => !file.includes('~')).length;
    const seen: number[] = [];
    let pruning = true;
    // Every 10 ms, not on every turn: each look lists the directory, and must not slow the prune down much.
    const observe = (): void => {
      if (!pruning) return;
      seen.push(claimFiles());
      setTimeout(observe, 10);
    };
    setTimeout(observe, 0);
    await store.prune();
    pruning = false;
    assert.equal(claimFiles(), 1000);
    assert.ok(
      seen.some((n) => n > 1000 && n < 3000),
      'a callback ran while part of the expired claims was deleted',
    );
    assert.equal(await store.claimOnce('jti-0', 60_000), false, 'a live claim is kept');
    assert.equal(await store.claimOnce('jti-1', 60_000), true);
    store.close();
    dir.cleanup();
  });

  it('grants an expired claim to exactly one of 200 racers on three instances', async () => {
    const dir = tempDir();
    const stores = [0, 1, 2].map(() => new FileStore({ directory: dir.directory, pruneIntervalSeconds: 0 }));
    const [first] = stores as [FileStore];
    assert.equal(await first.claimOnce('reused', 1), true);
    await sleep(20);
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => (stores[i % 3] as FileStore).claimOnce('reused', 60_000)));
    assert.equal(results.filter(Boolean).length, 1);
    assert.equal(await first.claimOnce('reused', 60_000), false);
    for (const store of stores) store.close();
    dir.cleanup();
  });

  it('grants each claim once across separate processes, fresh and expired ones alike', async (t: TestContext) => {
    const dir = tempDir();
    const store = new FileStore({ directory: dir.directory, pruneIntervalSeconds: 0 });
    for (let i = 0; i < 50; i++) assert.equal(await store.claimOnce(`expired-${i}`, 1), true);
    await sleep(20);
    const script = `
      import { FileStore } from 'shared-session/file';
      const store = new FileStore({ directory: process.argv[1], pruneIntervalSeconds: 0, operationTimeoutMs: 10000 });
      const keys = Array.from({ length: 50 }, (_, i) => i);
      console.log('ready');
      await new Promise((resolve) => process.stdin.once('data', resolve));
      const started = performance.now();
      const won = {};
      await Promise.all(['fresh', 'expired'].map(async (kind) => {
        won[kind] = (await Promise.all(keys.map((i) => store.claimOnce(kind + '-' + i, 60000)))).filter(Boolean).length;
      }));
      console.log(JSON.stringify({ ...won, ms: performance.now() - started }));
      store.close();`;
    const results = (await race(script, [0, 1, 2, 3].map(() => [dir.directory]))).map((line) => JSON.parse(line) as { fresh: number; expired: number; ms: number });
    t.diagnostic(`4 processes × 100 claims: ${results.map((r) => `${r.ms.toFixed(0)} ms`).join(', ')}`);
    const total = (kind: 'fresh' | 'expired') => results.reduce((sum, result) => sum + result[kind], 0);
    assert.equal(total('fresh'), 50, `fresh wins per process: ${results.map((r) => r.fresh).join(', ')}`);
    assert.equal(total('expired'), 50, `expired wins per process: ${results.map((r) => r.expired).join(', ')}`);
    store.close();
    dir.cleanup();
  });

  it('keeps every key when processes race delta saves of one session, starting behind a stale lock', async (t: TestContext) => {
    const dir = tempDir();
    const store = new FileStore({ directory: dir.directory, pruneIntervalSeconds: 0 });
    await set(store, 'shared', { cookie: inMs(600_000), user: 'alice' });
    const script = `
      import { FileStore } from 'shared-session/file';
      const [directory, who] = process.argv.slice(1);
      const store = new FileStore({ directory, pruneIntervalSeconds: 0, operationTimeoutMs: 5000 });
      const cb = (run) => new Promise((resolve, reject) => run((error, value) => (error ? reject(error) : resolve(value))));
      console.log('ready');
      await new Promise((resolve) => process.stdin.once('data', resolve));
      const times = [];
      // Two requests at a time per process, each loading, changing its own key, saving.
      await Promise.all([0, 1].map(async (lane) => {
        for (let round = 0; round < 20; round++) {
          const data = await cb((done) => store.get('shared', done));
          const session = store.createSession({ sessionID: 'shared', sessionStore: store }, data);
          session[who + '-' + lane + '-' + round] = round;
          const started = performance.now();
          await cb((done) => store.set('shared', session, done));
          times.push(performance.now() - started);
        }
      }));
      console.log(JSON.stringify(times));
      store.close();`;
    // The race starts behind a lock left by a process that died: one of them breaks it.
    const lock = join(dir.directory, 'locks', `s-${nameOf('shared')}`);
    writeFileSync(lock, '');
    utimesSync(lock, hourAgo(), hourAgo());
    const processes = 4;
    const outputs = await race(script, Array.from({ length: processes }, (_, i) => [dir.directory, `p${i}`]));
    const times = outputs.flatMap((line) => JSON.parse(line) as number[]);
    t.diagnostic(`${times.length} contended saves from ${processes} processes: ${summary(times)}`);
    const back = (await get(store, 'shared')) as Record<string, unknown>;
    assert.equal(back.user, 'alice');
    const missing: string[] = [];
    for (let i = 0; i < processes; i++) for (const lane of [0, 1]) for (let round = 0; round < 20; round++) if (back[`p${i}-${lane}-${round}`] !== round) missing.push(`p${i}-${lane}-${round}`);
    assert.deepEqual(missing, []);
    assert.deepEqual(readdirSync(join(dir.directory, 'locks')).filter((file) => !file.includes('~')), [], 'no lock is left behind');
    assert.equal(readdirSync(join(dir.directory, 'locks')).length, 1, 'the stale lock was broken once');
    store.close();
    dir.cleanup();
  });
});
