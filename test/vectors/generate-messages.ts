/**
 * Writes test/vectors/messages.json: the protocol's messages (docs/PROTOCOL.md §3), sealed
 * with fixed hours and IVs, and what a receiving site must make of each (accepted with
 * these fields, or refused with this reason). Run it only when the protocol changes:
 *
 *   node --conditions=@shared-session/source test/vectors/generate-messages.ts
 *
 * The token layer underneath is checked against an independent implementation by
 * tokens.json; these vectors pin the checks of §3 on top of it.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { deriveKeys } from '../../src/core/keys.ts';
import { Purpose, sealToken } from '../../src/core/token.ts';

const SECRET = 'ujcgL8k1Wtt58COTI2bbUOnKghVWVkjVwiZRNUEc33SFXA5GcZE6MeOtyg0G21XP';
const SITES = ['https://shop.example', 'https://blog.example', 'https://news.example'];
const [shop, blog, news] = SITES as [string, string, string];
const NOW = Date.UTC(2026, 4, 1, 12, 0, 0); // the receiver's clock in every vector
const HOUR = Math.floor(NOW / 3_600_000);
const [key] = deriveKeys(SECRET);
await key!.ready;

interface Case {
  readonly name: string;
  readonly purpose: number;
  readonly here: string;
  readonly payload: Record<string, unknown>;
  /** The purpose the receiver expects, when not the sealed one. */
  readonly openAs?: number;
  readonly expect: { readonly ok: true; readonly fields: Record<string, unknown> } | { readonly ok: false; readonly reason: string };
}

const JTI = 'vectorvectorvectorvect';
const HID = 'hidhid01';
const ST = 'statestatestatestatest';
const KEY = 'linkkeylinkkeylinkkeyl';
const push = (overrides: Record<string, unknown> = {}) => ({ src: shop, dst: blog, iat: NOW - 1_000, jti: JTI, sid: 'session-id-1', ...overrides });
const query = (overrides: Record<string, unknown> = {}) => ({ src: blog, dst: shop, iat: NOW - 1_000, hid: HID, st: ST, ret: '/cart?x=1', via: [], ...overrides });
const answer = (overrides: Record<string, unknown> = {}) => ({ src: shop, dst: blog, iat: NOW - 1_000, jti: JTI, hid: HID, st: ST, ret: '/cart?x=1', k: KEY, sid: 'session-id-1', ...overrides });
const voucher = (overrides: Record<string, unknown> = {}) => ({ src: shop, dst: blog, iat: NOW - 60_000, sid: 'session-id-1', ...overrides });

const cases: Case[] = [
  { name: 'push: accepted', purpose: Purpose.push, here: blog, payload: push(), expect: { ok: true, fields: { source: shop, jti: JTI, sid: 'session-id-1' } } },
  { name: 'push: for another site', purpose: Purpose.push, here: blog, payload: push({ dst: news }), expect: { ok: false, reason: 'WRONG_DESTINATION' } },
  { name: 'push: from a site not configured', purpose: Purpose.push, here: blog, payload: push({ src: 'https://evil.example' }), expect: { ok: false, reason: 'UNKNOWN_SOURCE' } },
  { name: 'push: from the receiving site itself', purpose: Purpose.push, here: blog, payload: push({ src: blog }), expect: { ok: false, reason: 'UNKNOWN_SOURCE' } },
  { name: 'push: 30 s old, the last accepted millisecond', purpose: Purpose.push, here: blog, payload: push({ iat: NOW - 30_000 }), expect: { ok: true, fields: { source: shop, jti: JTI, sid: 'session-id-1' } } },
  { name: 'push: 30 s and 1 ms old', purpose: Purpose.push, here: blog, payload: push({ iat: NOW - 30_001 }), expect: { ok: false, reason: 'TOKEN_EXPIRED' } },
  { name: 'push: 5 s in the future, the allowed skew', purpose: Purpose.push, here: blog, payload: push({ iat: NOW + 5_000 }), expect: { ok: true, fields: { source: shop, jti: JTI, sid: 'session-id-1' } } },
  { name: 'push: 5 s and 1 ms in the future', purpose: Purpose.push, here: blog, payload: push({ iat: NOW + 5_001 }), expect: { ok: false, reason: 'TOKEN_FROM_FUTURE' } },
  { name: 'push: destination checked before source before age', purpose: Purpose.push, here: blog, payload: push({ dst: news, src: 'https://evil.example', iat: 0 }), expect: { ok: false, reason: 'WRONG_DESTINATION' } },
  { name: 'push: no session id', purpose: Purpose.push, here: blog, payload: push({ sid: '' }), expect: { ok: false, reason: 'TOKEN_VERSION' } },
  { name: 'push: sealed as a voucher', purpose: Purpose.voucher, openAs: Purpose.push, here: blog, payload: push(), expect: { ok: false, reason: 'TOKEN_VERSION' } },
  { name: 'query: accepted', purpose: Purpose.query, here: shop, payload: query({ via: [] }), expect: { ok: true, fields: { source: blog, hid: HID, st: ST, ret: '/cart?x=1', via: [] } } },
  { name: 'query: a page that is not a path', purpose: Purpose.query, here: shop, payload: query({ ret: 'https://evil.example/' }), expect: { ok: false, reason: 'TOKEN_VERSION' } },
  { name: 'query: a malformed chain', purpose: Purpose.query, here: shop, payload: query({ via: ['not a site id'] }), expect: { ok: false, reason: 'TOKEN_VERSION' } },
  { name: 'answer: accepted', purpose: Purpose.answer, here: blog, payload: answer(), expect: { ok: true, fields: { source: shop, jti: JTI, hid: HID, st: ST, ret: '/cart?x=1', key: KEY, sid: 'session-id-1' } } },
  { name: 'answer: no session to give', purpose: Purpose.answer, here: blog, payload: answer({ sid: '' }), expect: { ok: true, fields: { source: shop, jti: JTI, hid: HID, st: ST, ret: '/cart?x=1', key: KEY, sid: '' } } },
  { name: 'answer: 10 s and 1 ms old', purpose: Purpose.answer, here: blog, payload: answer({ iat: NOW - 10_001 }), expect: { ok: false, reason: 'TOKEN_EXPIRED' } },
  { name: 'answer: not a link key', purpose: Purpose.answer, here: blog, payload: answer({ k: 'short' }), expect: { ok: false, reason: 'TOKEN_VERSION' } },
  { name: 'voucher: accepted an hour later', purpose: Purpose.voucher, here: blog, payload: voucher({ iat: NOW - 3_600_000 }), expect: { ok: true, fields: { source: shop, sid: 'session-id-1' } } },
  { name: 'voucher: an hour and 1 ms old', purpose: Purpose.voucher, here: blog, payload: voucher({ iat: NOW - 3_600_001 }), expect: { ok: false, reason: 'TOKEN_EXPIRED' } },
];

const iv = (name: string): Buffer => createHash('sha256').update(name).digest().subarray(0, 12);
const vectors = {
  comment:
    'Messages of the shared-session protocol (docs/PROTOCOL.md §3), sealed under `secret` at hour `hour` with each case\'s IV, and what the site `here` must make of each at `now` (opening it as `openAs` when given, else as its own purpose) with `sites`, timeoutSeconds 30 and clockSkewSeconds 5. Written by test/vectors/generate-messages.ts; checked by test/unit/vectors.test.ts.',
  secret: SECRET,
  sites: SITES,
  timeoutSeconds: 30,
  clockSkewSeconds: 5,
  now: NOW,
  hour: HOUR,
  cases: await Promise.all(cases.map(async (c) => ({ ...c, iv: iv(c.name).toString('hex'), token: await sealToken(key!, HOUR, c.purpose as Purpose, c.payload, iv(c.name)) }))),
};
writeFileSync(new URL('./messages.json', import.meta.url), `${JSON.stringify(vectors, null, 2)}\n`);
