/**
 * The hop's refusals on every adapter and every pair: each answers with a status, a reason
 * and a `rejected` event of the hop, sets no cookie and writes no session (a refused answer
 * may be used up: a claim), and never a 500.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Purpose } from '../../src/core/token.ts';
import { Client, NAVIGATION_HEADERS, type Response } from '../helpers/http.ts';
import { sealer } from '../helpers/push.ts';
import { describeMatrix, type SpecContext } from './adapters.ts';
import { login, paths, whoami } from './browser.ts';
import type { SpecSite } from './site.ts';

interface Refusal {
  readonly status: number;
  readonly reason: string;
  readonly header?: string;
  readonly label?: string;
  /** The refusal uses the token up (a single-use claim is written). */
  readonly claims?: boolean;
}

async function refused(ctx: SpecContext, site: SpecSite, send: () => Promise<Response>, refusal: Refusal): Promise<Response> {
  const what = refusal.label ?? refusal.reason;
  const records = await ctx.records();
  const seen = site.events.length;
  const response = await send();
  assert.equal(response.status, refusal.status, `status for ${what}`);
  assert.equal(response.headers['shared-session-reason'], refusal.header ?? refusal.reason, `reason for ${what}`);
  assert.equal(response.setCookies.length, 0, `no cookie for ${what}`);
  const added = (await ctx.records()).filter((row) => !records.includes(row));
  assert.deepEqual(refusal.claims ? added.filter((row) => !row.startsWith('claims ')) : added, [], `no store write for ${what}`);
  const events = site.events.slice(seen).map((entry) => (entry.name === 'rejected' ? [entry.name, entry.event.mechanism, entry.event.reason, entry.event.status] : [entry.name]));
  assert.deepEqual(events, [['rejected', 'hop', refusal.reason, refusal.status]], `one rejected event for ${what}`);
  return response;
}

describeMatrix('hop refusals', (ctx) => {
  /** The first two steps of a hop from B: B's redirect to the hub A, and A's answer. */
  async function hopAnswer(client: Client): Promise<{ answerUrl: string; state: [string, string] }> {
    const start = await client.fetch(`${ctx.b.origin}/`, { headers: NAVIGATION_HEADERS });
    assert.equal(start.status, 303);
    assert.ok(start.headers.location?.startsWith(`${ctx.a.origin}/shared-session/hop?q=`));
    const state = start.setCookies.find((cookie) => cookie.name.startsWith('shared-session.hop.'));
    assert.ok(state, 'B set a state cookie');
    const answer = await client.fetch(start.headers.location!, { headers: { ...NAVIGATION_HEADERS, 'sec-fetch-site': 'cross-site' } });
    assert.equal(answer.status, 303);
    assert.ok(answer.headers.location?.startsWith(`${ctx.b.origin}/shared-session/hop/return?a=`));
    return { answerUrl: answer.headers.location!, state: [state.name, state.value ?? ''] };
  }

  it('an answer used twice, even with the state cookie kept: the response does not say why', async () => {
    const visitor = new Client();
    const { answerUrl, state } = await hopAnswer(visitor);
    assert.equal((await visitor.fetch(answerUrl, { headers: NAVIGATION_HEADERS })).status, 303);
    visitor.cookies(ctx.b.origin).set(...state);
    await refused(ctx, ctx.b, () => visitor.fetch(answerUrl, { headers: NAVIGATION_HEADERS }), { status: 403, reason: 'TOKEN_REPLAYED', header: 'TOKEN_REFUSED' });
  });

  it('a HEAD, an image or a frame of an answer: refused, and the answer not used up', async () => {
    const visitor = new Client();
    const { answerUrl } = await hopAnswer(visitor);
    await refused(ctx, ctx.b, () => visitor.fetch(answerUrl, { method: 'HEAD', headers: NAVIGATION_HEADERS }), { status: 405, reason: 'METHOD_NOT_ALLOWED' });
    for (const dest of ['image', 'iframe']) {
      await refused(ctx, ctx.b, () => visitor.fetch(answerUrl, { headers: { ...NAVIGATION_HEADERS, 'sec-fetch-dest': dest, 'sec-fetch-mode': 'no-cors' } }), {
        status: 403,
        reason: 'NOT_A_NAVIGATION',
        label: dest,
      });
    }
    assert.equal((await visitor.fetch(answerUrl, { headers: NAVIGATION_HEADERS })).status, 303, 'the real navigation completes');
  });

  it('an answer for another destination', async () => {
    const { a, b } = ctx;
    const forged = await sealer.seal(Purpose.answer, { src: a.origin, dst: a.origin, iat: Date.now(), jti: 'j'.repeat(22), hid: 'abcdefgh', st: 'a'.repeat(22), k: 'k'.repeat(22), sid: '' });
    await refused(ctx, b, () => new Client().fetch(`${b.origin}/shared-session/hop/return?a=${forged}`, { headers: NAVIGATION_HEADERS }), { status: 403, reason: 'WRONG_DESTINATION' });
  });

  it('login CSRF: an answer minted for the attacker’s browser, opened by the victim without or with a state cookie of its own', async () => {
    const { a, b } = ctx;
    // A hop in flight starts no second one: one attacker's browser per answer.
    const attackers = [new Client(), new Client()];
    for (const attacker of attackers) await login(attacker, a.origin, 'mallory');
    const victim = new Client();
    const first = await hopAnswer(attackers[0]!);
    const missing = await refused(ctx, b, () => victim.fetch(first.answerUrl, { headers: NAVIGATION_HEADERS }), { status: 403, reason: 'STATE_MISSING', claims: true });
    assert.match(missing.body, /http-equiv="refresh" content="0;url=\/\?shared-session-skip=1"/);
    const second = await hopAnswer(attackers[1]!);
    const opened = await sealer.open(Purpose.answer, new URL(second.answerUrl).searchParams.get('a')!);
    assert.ok(opened.ok);
    victim.cookies(b.origin).set(`shared-session.hop.${opened.payload.hid as string}`, await sealer.seal(Purpose.state, { st: 'v'.repeat(22), ret: '/', iat: Date.now(), why: 'discover', to: a.origin }));
    await refused(ctx, b, () => victim.fetch(second.answerUrl, { headers: NAVIGATION_HEADERS }), { status: 403, reason: 'STATE_MISMATCH', claims: true });
    await victim.navigate(`${b.origin}/`);
    assert.equal((await whoami(victim, b.origin)).user, null);
  });

  it('a return target that is not a same-origin path, even in a sealed state; a //evil path starts no hop', async () => {
    const { a, b } = ctx;
    for (const path of ['//evil.example/', '/.//evil.example/']) {
      const steps = await new Client().navigate(`${b.origin}${path}`);
      assert.equal(steps.length, 1, path);
      assert.notEqual(steps[0]!.status, 303, path);
    }
    for (const ret of ['//evil.example/', 'https://evil.example/', '/\\evil.example']) {
      const visitor = new Client();
      const { answerUrl } = await hopAnswer(visitor);
      const opened = await sealer.open(Purpose.answer, new URL(answerUrl).searchParams.get('a')!);
      assert.ok(opened.ok);
      visitor.cookies(b.origin).set(`shared-session.hop.${opened.payload.hid as string}`, await sealer.seal(Purpose.state, { st: opened.payload.st, ret, iat: Date.now(), why: 'discover', to: a.origin }));
      const response = await refused(ctx, b, () => visitor.fetch(answerUrl, { headers: NAVIGATION_HEADERS }), { status: 400, reason: 'BAD_RETURN_PATH', label: ret, claims: true });
      assert.doesNotMatch(response.body, /evil/);
    }
  });

  it('queries forged, from the hub itself, or expired send the visitor back without a cookie', async () => {
    const { a, b } = ctx;
    const visitor = new Client();
    const start = await visitor.fetch(`${b.origin}/`, { headers: NAVIGATION_HEADERS });
    const raw = Buffer.from(new URL(start.headers.location!).searchParams.get('q')!, 'base64url');
    raw[30] = (raw[30] as number) ^ 4;
    const query = (q: string) => () => visitor.fetch(`${a.origin}/shared-session/hop?q=${q}`, { headers: NAVIGATION_HEADERS });
    const forged = await refused(ctx, a, query(raw.toString('base64url')), { status: 403, reason: 'TOKEN_INVALID' });
    assert.match(forged.body, /<meta http-equiv="refresh" content="0;url=\/\?shared-session-skip=1">/);
    const fields = { hid: 'abcdefgh', st: 's'.repeat(22) };
    await refused(ctx, a, query(await sealer.seal(Purpose.query, { src: a.origin, dst: a.origin, iat: Date.now(), via: [], ...fields })), { status: 403, reason: 'UNKNOWN_SOURCE' });
    const late = await refused(ctx, a, query(await sealer.seal(Purpose.query, { src: b.origin, dst: a.origin, iat: Date.now() - 60_000, via: [], ...fields })), {
      status: 403,
      reason: 'TOKEN_EXPIRED',
      header: 'TOKEN_REFUSED',
    });
    assert.ok(late.body.includes(`url=${b.origin}/?shared-session-skip=1`), 'back to the site that asked');
  });

  it('a browser without cookies hops once, then lands on the page it asked for', async () => {
    const cookieless = new Client({ cookieless: true });
    const steps = await cookieless.navigate(`${ctx.b.origin}/page?x=1`);
    assert.deepEqual(paths(steps), ['/page', '/shared-session/hop', '/shared-session/hop/return']);
    assert.equal(steps.at(-1)!.headers['shared-session-reason'], 'STATE_MISSING');
    const refresh = /content="0;url=([^"]+)"/.exec(steps.at(-1)!.body)?.[1]?.replaceAll('&amp;', '&');
    assert.equal(refresh, '/page?x=1&shared-session-skip=1');
    const landed = await cookieless.navigate(`${ctx.b.origin}${refresh}`);
    assert.deepEqual(paths(landed), ['/page']);
    assert.equal(landed[0]!.status, 200);
  });
});
