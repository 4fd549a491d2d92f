/**
 * The script-tag push on every adapter and every pair: a page of A loads a script of B that
 * hands B a voucher; B's next page load adopts the session without a hop. Every refusal
 * answers with a status, a reason and a `rejected` event, and leaves no cookie and no
 * store write; none is a 500.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { deriveKeys } from '../../src/core/keys.ts';
import { Purpose, Sealer } from '../../src/core/token.ts';
import { scriptSources } from '../helpers/express-site.ts';
import { Client, NAVIGATION_HEADERS, type Response } from '../helpers/http.ts';
import { craftPush, notScriptLoads, scriptLoad, sealer, tokenOf } from '../helpers/push.ts';
import { describeMatrix, type SpecContext } from './adapters.ts';
import { add, login, paths, whoami } from './browser.ts';
import type { SpecSite } from './site.ts';

const VOUCHER = 'shared-session.voucher';

/** A browser B knows (one page there), with a cart on A and the first linked page of A: its loader names B. */
async function pushingVisitor(ctx: SpecContext): Promise<{ visitor: Client; src: string; sid: string }> {
  const { a, b } = ctx;
  const visitor = new Client();
  await visitor.navigate(`${b.origin}/`);
  await add(visitor, a.origin, 'tea');
  // The first page load after the change links the session (a hop through B); its loader mints, once per site.
  const steps = await visitor.navigate(`${a.origin}/`);
  const sources = scriptSources(steps.at(-1)!.body);
  assert.deepEqual(sources.map((src) => new URL(src).origin), [b.origin], 'one script, for B');
  const src = sources[0]!;
  assert.match(new URL(src).pathname, /^\/shared-session\/[A-Za-z0-9_-]+\.js$/);
  const { id } = await whoami(visitor, a.origin);
  return { visitor, src, sid: id! };
}

function assertAccepted(response: Response): void {
  assert.equal(response.status, 200);
  assert.equal(response.headers['shared-session-reason'], 'ACCEPTED');
  assert.equal(response.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.deepEqual(response.setCookies.map((cookie) => cookie.name), [VOUCHER]);
}

interface Refusal {
  readonly status: number;
  /** The reason in the `rejected` event. */
  readonly reason: string;
  /** The reason the response tells (it hides replayed from expired); default `reason`. */
  readonly header?: string;
  /** What was sent, for the messages. */
  readonly label?: string;
}

/** Send a push that must be refused, and check every trace it may not leave. */
async function refused(ctx: SpecContext, site: SpecSite, send: () => Promise<Response>, refusal: Refusal): Promise<void> {
  const what = refusal.label ?? refusal.reason;
  const records = await ctx.records();
  const seen = site.events.length;
  const response = await send();
  assert.equal(response.status, refusal.status, `status for ${what}`);
  assert.equal(response.headers['shared-session-reason'], refusal.header ?? refusal.reason, `reason for ${what}`);
  assert.equal(response.setCookies.length, 0, `no cookie for ${what}`);
  assert.equal(response.body, '', `no body for ${what}`);
  assert.deepEqual(await ctx.records(), records, `no store write for ${what}`);
  const events = site.events.slice(seen);
  assert.deepEqual(
    events.map((entry) => (entry.name === 'rejected' ? [entry.name, entry.event.mechanism, entry.event.reason, entry.event.status] : [entry.name])),
    [['rejected', 'push', refusal.reason, refusal.status]],
    `one rejected event for ${what}`,
  );
}

describeMatrix('push', (ctx) => {
  /** GET (or `method`) B's push URL for `token`, by default as A's page loads it: a cross-site `<script>`. */
  const push = (token: string, headers: Record<string, string> = scriptLoad(ctx.a.origin), client = new Client(), method = 'GET'): Promise<Response> =>
    client.fetch(`${ctx.b.origin}/shared-session/${encodeURIComponent(token)}.js`, { method, headers });

  it('names B in the loader of A’s page; a script load of it on B gives a voucher, and B’s next page shows the session without a hop', async () => {
    const { a, b } = ctx;
    const { visitor, src, sid } = await pushingVisitor(ctx);
    // The loader mints once per site: the next page of A names nobody.
    assert.deepEqual(scriptSources((await visitor.navigate(`${a.origin}/`)).at(-1)!.body), []);
    const sessions = (await ctx.records()).filter((row) => row.startsWith('sessions '));
    const pushed = await visitor.fetch(src, { headers: scriptLoad(a.origin) });
    assertAccepted(pushed);
    assert.equal(pushed.body, '');
    assert.deepEqual((await ctx.records()).filter((row) => row.startsWith('sessions ')), sessions, 'the push itself writes no session');
    // A request that is no page load leaves the voucher where it is.
    assert.equal((await whoami(visitor, b.origin)).id, null);
    assert.ok(visitor.cookies(b.origin).has(VOUCHER));
    assert.deepEqual(paths(await visitor.navigate(`${b.origin}/`)), ['/'], 'no hop');
    assert.deepEqual(await whoami(visitor, b.origin), { id: sid, user: null, cart: ['tea'] });
    assert.ok(!visitor.cookies(b.origin).has(VOUCHER), 'the voucher is used up');
    const replaced = b.events.filter((entry) => entry.name === 'sessionReplaced');
    assert.deepEqual(
      replaced.map((entry) => entry.name === 'sessionReplaced' && [entry.event.mechanism, entry.event.source, entry.event.destination]),
      [['push', a.origin, b.origin]],
    );
    assert.deepEqual(b.events.filter((entry) => entry.name !== 'sessionReplaced'), [], 'no refusal, no warning on B');
  });

  it('adopts nothing in another browser that loads someone’s token as a script', async () => {
    const { a, b } = ctx;
    const { src } = await pushingVisitor(ctx);
    const stranger = new Client();
    assertAccepted(await stranger.fetch(src, { headers: scriptLoad(a.origin) }));
    await stranger.navigate(`${b.origin}/`);
    assert.deepEqual(await whoami(stranger, b.origin), { id: null, user: null, cart: [] });
  });

  it('refuses a replayed token (the response does not say why)', async () => {
    const { src } = await pushingVisitor(ctx);
    const token = tokenOf(src);
    assertAccepted(await push(token));
    await refused(ctx, ctx.b, () => push(token), { status: 403, reason: 'TOKEN_REPLAYED', header: 'TOKEN_REFUSED' });
  });

  it('refuses a token for another site, and one from a site that is not configured', async () => {
    const { a, b } = ctx;
    const { sid } = await pushingVisitor(ctx);
    // A token B minted for A, presented to B.
    await refused(ctx, b, async () => push(await craftPush(b.origin, a.origin, sid), scriptLoad(b.origin)), { status: 403, reason: 'WRONG_DESTINATION' });
    // A's token for B, presented to A.
    const forB = await craftPush(a.origin, b.origin, sid);
    await refused(ctx, a, () => new Client().fetch(`${a.origin}/shared-session/${forB}.js`, { headers: scriptLoad(b.origin) }), { status: 403, reason: 'WRONG_DESTINATION', label: 'B’s token on A' });
    await refused(ctx, b, async () => push(await craftPush('https://evil.example', b.origin, sid), scriptLoad('https://evil.example')), { status: 403, reason: 'UNKNOWN_SOURCE' });
  });

  it('refuses a POST and a HEAD, which never use up the token', async () => {
    const { src } = await pushingVisitor(ctx);
    const token = tokenOf(src);
    for (const method of ['POST', 'HEAD']) {
      await refused(ctx, ctx.b, () => push(token, scriptLoad(ctx.a.origin), new Client(), method), { status: 405, reason: 'METHOD_NOT_ALLOWED', label: method });
    }
    assertAccepted(await push(token));
  });

  it('refuses anything but a cross-site script load of A’s page (a navigation, an image, a frame, a fetch, another Referer), which never uses up the token', async () => {
    const { a } = ctx;
    const { src } = await pushingVisitor(ctx);
    const token = tokenOf(src);
    for (const [kind, headers] of Object.entries(notScriptLoads(a.origin))) {
      await refused(ctx, ctx.b, () => push(token, headers), { status: 403, reason: 'NOT_A_SCRIPT_LOAD', label: kind });
    }
    await refused(ctx, ctx.b, () => push(token, { ...NAVIGATION_HEADERS, 'sec-fetch-site': 'cross-site', referer: `${a.origin}/` }), {
      status: 403,
      reason: 'NOT_A_SCRIPT_LOAD',
      label: 'a link on A’s page',
    });
    // Login CSRF: the token embedded as a script by a page of another site.
    for (const referer of ['https://evil.example/', '']) {
      await refused(ctx, ctx.b, () => push(token, { ...scriptLoad(a.origin), referer }), { status: 403, reason: 'REFERER_MISMATCH', label: `Referer ${referer || '(empty)'}` });
    }
    assertAccepted(await push(token));
  });

  it('refuses tampered, forged, malformed and oversized tokens', async () => {
    const { a, b } = ctx;
    const { sid } = await pushingVisitor(ctx);
    const raw = Buffer.from(await craftPush(a.origin, b.origin, sid), 'base64url');
    raw[40] = (raw[40] as number) ^ 1;
    await refused(ctx, b, () => push(raw.toString('base64url')), { status: 403, reason: 'TOKEN_INVALID', label: 'one flipped bit' });
    // Sealed with a secret that is not the sites' one: an attacker who knows the format and not the key.
    const forger = new Sealer(deriveKeys('an-attacker’s-own-secret-of-enough-length-0123456789abcdef'));
    const forged = await forger.seal(Purpose.push, { src: a.origin, dst: b.origin, sid, iat: Date.now(), jti: 'forged-jti-0000000000' });
    await refused(ctx, b, () => push(forged), { status: 403, reason: 'TOKEN_INVALID', label: 'a forged token' });
    await refused(ctx, b, () => push('abc$def'), { status: 400, reason: 'TOKEN_MALFORMED' });
    await refused(ctx, b, () => push('A'.repeat(2100)), { status: 414, reason: 'TOKEN_TOO_LONG' });
  });

  it('refuses an expired token (answered as a used one) and one dated in the future', async () => {
    const { a, b } = ctx;
    const { sid } = await pushingVisitor(ctx);
    await refused(ctx, b, async () => push(await craftPush(a.origin, b.origin, sid, { iat: Date.now() - 31_000 })), { status: 403, reason: 'TOKEN_EXPIRED', header: 'TOKEN_REFUSED' });
    await refused(ctx, b, async () => push(await craftPush(a.origin, b.origin, sid, { iat: Date.now() + 60_000 })), { status: 403, reason: 'TOKEN_FROM_FUTURE' });
  });

  it('answers 503 STORE_UNAVAILABLE with a warning when the store fails, never a 500', async () => {
    const { a, b } = ctx;
    const { sid } = await pushingVisitor(ctx);
    const token = await craftPush(a.origin, b.origin, sid);
    const seen = b.events.length;
    ctx.allowWarnings();
    await ctx.failStore();
    const response = await push(token);
    assert.equal(response.status, 503);
    assert.equal(response.headers['shared-session-reason'], 'STORE_UNAVAILABLE');
    assert.equal(response.setCookies.length, 0);
    const events = b.events.slice(seen).map((entry) => (entry.name === 'rejected' ? `rejected ${entry.event.reason}` : entry.name === 'warning' ? `warning ${entry.event.code}` : entry.name));
    assert.deepEqual(events, ['warning STORE_ERROR', 'rejected STORE_UNAVAILABLE']);
  });

  it('keeps B’s own non-empty session when its next page load takes the voucher', async () => {
    const { a, b } = ctx;
    const { sid } = await pushingVisitor(ctx);
    const visitor = new Client();
    await add(visitor, b.origin, 'b-only');
    const own = await whoami(visitor, b.origin);
    assertAccepted(await push(await craftPush(a.origin, b.origin, sid), scriptLoad(a.origin), visitor));
    await visitor.navigate(`${b.origin}/`);
    assert.ok(!visitor.cookies(b.origin).has(VOUCHER), 'the voucher is used up all the same');
    assert.deepEqual(await whoami(visitor, b.origin), own);
  });

  it('deletes a voucher that reaches B while B holds the session already, on the next page', async () => {
    const { a, b } = ctx;
    const visitor = new Client();
    await login(visitor, a.origin, 'alice');
    await visitor.navigate(`${b.origin}/`);
    const { id } = await whoami(visitor, b.origin);
    visitor.cookies(b.origin).set(VOUCHER, await sealer.seal(Purpose.voucher, { src: a.origin, dst: b.origin, iat: Date.now(), sid: id }));
    const page = await visitor.fetch(`${b.origin}/`, { headers: NAVIGATION_HEADERS });
    assert.equal(page.status, 200);
    assert.equal(page.setCookies.find((cookie) => cookie.name === VOUCHER)?.maxAge, 0, 'the voucher is deleted');
    assert.ok(!visitor.cookies(b.origin).has(VOUCHER));
    assert.equal((await whoami(visitor, b.origin)).id, id);
  });

  it('keeps a page with a loader out of shared caches', async () => {
    const { a } = ctx;
    const visitor = new Client();
    await visitor.navigate(`${ctx.b.origin}/`);
    await add(visitor, a.origin, 'tea');
    const page = (await visitor.navigate(`${a.origin}/`)).at(-1)!;
    assert.equal(scriptSources(page.body).length, 1);
    assert.equal(page.headers['cache-control'], 'private, no-store');
    assert.ok(String(page.headers.vary).split(',').map((item) => item.trim().toLowerCase()).includes('cookie'), `Vary: ${String(page.headers.vary)}`);
  });
});
