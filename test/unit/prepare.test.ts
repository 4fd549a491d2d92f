import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { platform } from '#platform';
import { SharedSession, SharedSessionError, memorySharingStore, type RequestFacts, type SessionPort } from '../../src/index.ts';
import { EMPTY_NOTE, withHolder, writeNote } from '../../src/core/note.ts';
import { resolveOptions } from '../../src/core/options.ts';
import { SHARED_SECRET } from '../helpers/sites.ts';

/*
 * The keys and note ids are prepared without blocking the constructor: on node:crypto they
 * are ready when it returns, on Web Crypto (npm run test:web-platform) a moment later, and
 * the first requests wait for them. These tests run on both.
 */

const [shop, blog] = ['https://shop.example', 'https://blog.example'];
const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36';
const options = { sites: [shop, blog], secret: SHARED_SECRET, sharingStore: memorySharingStore(), hubProbe: false } as const;

function page(origin: string): RequestFacts<null> {
  const headers: Record<string, string> = { 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document', 'user-agent': CHROME };
  return { raw: null, method: 'GET', path: '/', search: '', host: new URL(origin).host, https: true, header: (name) => headers[name] };
}

/** A logged-in session whose note is `note`. */
function session(note: string): SessionPort {
  let current = note;
  return {
    id: 'sid-1',
    isEmpty: () => false,
    persist: () => Promise.resolve('sid-1'),
    find: () => Promise.resolve(undefined),
    destroy: () => Promise.resolve(),
    sharingStore: undefined,
    readNote: () => current,
    writeNote: (next) => {
      current = next as string;
    },
  };
}

/** The note ids of the sites, as the core names them (awaited: a SHA-256 each on Web Crypto). */
async function noteIds(): Promise<readonly string[]> {
  const { sites } = resolveOptions(options);
  await sites.ready;
  return sites.noteIds;
}

describe(`preparing keys and note ids (${platform.name})`, () => {
  it('still refuses bad options synchronously, at construction', () => {
    assert.throws(() => new SharedSession({ ...options, secret: 'password1' }), (error: unknown) => error instanceof SharedSessionError && error.code === 'ERR_SHARED_SESSION_WEAK_SECRET');
    // Repeats are found by comparing bytes: Web Crypto's hash would come too late to throw here.
    assert.throws(() => new SharedSession({ ...options, secret: [SHARED_SECRET, SHARED_SECRET] }), (error: unknown) => error instanceof SharedSessionError && /repeats an earlier secret/.test(error.message));
    assert.throws(() => new SharedSession({ ...options, secret: [SHARED_SECRET, Buffer.from(SHARED_SECRET)] }), /repeats an earlier secret/);
  });

  it('mints a loader on the very first request, before anything else awaited the preparation', async () => {
    const [shopId] = await noteIds();
    const core = new SharedSession(options);
    const linked = writeNote(withHolder({ ...EMPTY_NOTE, key: 'K'.repeat(22) }, shopId!, 'held'));
    const html = await core.loader(page(shop), session(linked));
    assert.match(html, /<script[^>]+src="https:\/\/blog\.example\/shared-session\/[A-Za-z0-9_-]+\.js"/);
  });

  it('answers concerns() synchronously, never with a promise, and a steady page load concerns the core only while the note ids are unknown', async () => {
    const [shopId, blogId] = await noteIds();
    const steady = session(writeNote(withHolder(withHolder({ ...EMPTY_NOTE, key: 'K'.repeat(22) }, shopId!, 'held'), blogId!, 'held')));
    const core = new SharedSession(options);
    const first = core.concerns(page(shop), steady);
    assert.equal(typeof first, 'boolean');
    // node:crypto knows the ids at once; Web Crypto not yet: "concerns" is then the safe answer (handle() waits).
    assert.equal(first, platform.name !== 'node:crypto');
    assert.deepEqual(await core.handle(page(shop), steady), { kind: 'pass', cookies: [] });
    assert.equal(core.concerns(page(shop), steady), false, 'steady once prepared');
  });

  it('never reads a note with unknown ids as held: the loader of a fresh façade still pushes to a site the note does not name', async () => {
    const [, blogId] = await noteIds();
    const core = new SharedSession(options);
    // Held by blog only: shop, with its ids unknown, would match anything if read too early.
    const html = await core.loader(page(shop), session(writeNote(withHolder({ ...EMPTY_NOTE, key: 'K'.repeat(22) }, blogId!, 'held'))));
    assert.equal(html, '', 'blog holds it already: nothing to push');
    const none = await new SharedSession(options).loader(page(blog), session(writeNote(withHolder({ ...EMPTY_NOTE, key: 'K'.repeat(22) }, blogId!, 'held'))));
    assert.match(none, /shop\.example/, 'shop does not hold it: blog pushes to shop');
  });
});
