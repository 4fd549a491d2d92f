import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ANSWER_LIFETIME_MS, openAnswer, openPush, openQuery, openVoucher, sealAnswer, sealPush, sealQuery, sealVoucher, VOUCHER_LIFETIME_MS } from '../../src/core/messages.ts';
import { resolveOptions } from '../../src/core/options.ts';
import { Purpose } from '../../src/core/token.ts';
import { SHARED_SECRET } from '../helpers/sites.ts';

const config = resolveOptions({ sites: ['https://a.example', 'https://b.example', 'https://c.example'], secret: SHARED_SECRET, timeoutSeconds: 30, clockSkewSeconds: 5 });
const [a, b, c] = config.sites.all as [(typeof config.sites.all)[0], (typeof config.sites.all)[0], (typeof config.sites.all)[0]];
// On Web Crypto the note ids (a SHA-256 each) are known a moment after the options are.
await config.sites.ready;
const now = Date.now();
const JTI = 'j'.repeat(22);
const raw = (purpose: Purpose, payload: Record<string, unknown>): Promise<string> => config.sealer.seal(purpose, payload);
const push = (overrides: Record<string, unknown> = {}): Promise<string> => raw(Purpose.push, { src: a.origin, dst: b.origin, iat: now, jti: JTI, sid: 's1', ...overrides });

describe('the sealed messages', () => {
  it('open what they sealed, naming the source site', async () => {
    const pushed = await openPush(config, await sealPush(config, a, b, 's1', JTI, now), b, now);
    assert.ok(pushed.ok);
    assert.deepEqual(pushed.message, { source: a, iat: now, jti: JTI, sid: 's1' });
    const query = await openQuery(config, await sealQuery(config, a, b, { iat: now, hid: 'h'.repeat(8), st: 's'.repeat(22), via: [a.noteId, b.noteId], ret: '/page' }), b, now);
    assert.ok(query.ok);
    assert.deepEqual(query.message.via, [a.noteId, b.noteId]);
    const answer = await openAnswer(config, await sealAnswer(config, b, a, { iat: now, jti: JTI, hid: 'h'.repeat(8), st: 's'.repeat(22), key: 'k'.repeat(22), sid: '', ret: '/' }), a, now);
    assert.ok(answer.ok);
    assert.deepEqual([answer.message.source, answer.message.key, answer.message.sid], [b, 'k'.repeat(22), '']);
    const voucher = await openVoucher(config, await sealVoucher(config, b, a, 's1', now), b, now);
    assert.ok(voucher.ok);
    assert.deepEqual(voucher.message, { source: a, iat: now, sid: 's1' });
  });

  it('refuse a message sealed for another purpose', async () => {
    assert.deepEqual(await openVoucher(config, await push(), b, now), { ok: false, reason: 'TOKEN_VERSION' });
  });

  it('refuse one for another destination, naming the source so that a refused hop can send the visitor back', async () => {
    assert.deepEqual(await openPush(config, await push({ dst: c.origin }), b, now), { ok: false, reason: 'WRONG_DESTINATION', source: a });
  });

  it('refuse one from a site that is not configured, or from this very site', async () => {
    assert.deepEqual(await openPush(config, await push({ src: 'https://evil.example' }), b, now), { ok: false, reason: 'UNKNOWN_SOURCE' });
    assert.deepEqual(await openPush(config, await push({ src: b.origin }), b, now), { ok: false, reason: 'UNKNOWN_SOURCE' });
  });

  it('accept up to each lifetime and refuse one millisecond later', async () => {
    assert.equal((await openPush(config, await push(), b, now + 30_000)).ok, true);
    assert.equal((await openPush(config, await push(), b, now + 30_001)).ok, false);
    const answer = await sealAnswer(config, b, a, { iat: now, jti: JTI, hid: 'h'.repeat(8), st: 's'.repeat(22), key: 'k'.repeat(22), sid: 'x', ret: '/' });
    assert.equal((await openAnswer(config, answer, a, now + ANSWER_LIFETIME_MS)).ok, true);
    assert.deepEqual(await openAnswer(config, answer, a, now + ANSWER_LIFETIME_MS + 1), { ok: false, reason: 'TOKEN_EXPIRED', source: b });
    const voucher = await sealVoucher(config, b, a, 's1', now);
    assert.equal((await openVoucher(config, voucher, b, now + VOUCHER_LIFETIME_MS)).ok, true);
    assert.equal((await openVoucher(config, voucher, b, now + VOUCHER_LIFETIME_MS + 1)).ok, false);
  });

  it('allow the configured clock skew into the future, and no more', async () => {
    assert.equal((await openPush(config, await push({ iat: now + 5_000 }), b, now)).ok, true);
    assert.deepEqual(await openPush(config, await push({ iat: now + 5_001 }), b, now), { ok: false, reason: 'TOKEN_FROM_FUTURE', source: a });
  });

  it('check in the documented order: destination before source before age', async () => {
    const bad = await push({ dst: c.origin, src: 'https://evil.example', iat: 0 });
    assert.equal((await openPush(config, bad, b, now)).ok === false && (await openPush(config, bad, b, now) as { reason: string }).reason, 'WRONG_DESTINATION');
    const fromNowhere = await push({ src: 'https://evil.example', iat: 0 });
    assert.deepEqual(await openPush(config, fromNowhere, b, now), { ok: false, reason: 'UNKNOWN_SOURCE' });
  });

  it('refuse a payload without its fields', async () => {
    assert.deepEqual(await openPush(config, await raw(Purpose.push, { src: a.origin, dst: b.origin, iat: now }), b, now), { ok: false, reason: 'TOKEN_VERSION' });
    assert.deepEqual(await openPush(config, await push({ sid: '' }), b, now), { ok: false, reason: 'TOKEN_VERSION' });
    assert.deepEqual(await openAnswer(config, await raw(Purpose.answer, { src: b.origin, dst: a.origin, iat: now, jti: JTI, hid: 'h'.repeat(8), st: 's'.repeat(22), k: 'short', sid: '', ret: '/' }), a, now), {
      ok: false,
      reason: 'TOKEN_VERSION',
    });
    assert.deepEqual(await openQuery(config, await raw(Purpose.query, { src: a.origin, dst: b.origin, iat: now, hid: 'h'.repeat(8), st: 's'.repeat(22), ret: '/', via: ['x'] }), b, now), {
      ok: false,
      reason: 'TOKEN_VERSION',
      source: a,
    });
  });
});
