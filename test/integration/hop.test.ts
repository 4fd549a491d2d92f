import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deriveKeys } from '../../src/core/keys.ts';
import { Purpose, Sealer } from '../../src/core/token.ts';
import { Client, NAVIGATION_HEADERS, type Step } from '../helpers/http.ts';
import { SHARED_SECRET, startDemoPair, startSite, type DemoPair } from '../helpers/sites.ts';

const sealer = new Sealer(deriveKeys(SHARED_SECRET));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Whoami {
  user: string | null;
  sessionId: string | null;
  cart: string[];
}

describe('the top-level hop between two processes over one store', () => {
  let pair: DemoPair;
  let shop: string;
  let blog: string;

  before(async () => {
    pair = await startDemoPair();
    [shop, blog] = [pair.shop.origin, pair.blog.origin];
  });
  after(() => pair.stop());

  /** Who the site says the visitor is (without the site's own name, to compare sites). */
  const whoami = async (client: Client, origin: string): Promise<Whoami> => {
    const { user, sessionId, cart } = JSON.parse((await client.fetch(`${origin}/whoami`)).body) as Whoami;
    return { user, sessionId, cart };
  };
  const login = async (client: Client, origin: string, user: string): Promise<void> => {
    await client.navigate(`${origin}/`);
    assert.equal((await client.post(`${origin}/login`, { username: user, password: `${user}-password` })).status, 303);
    await client.navigate(`${origin}/`);
  };
  const urls = (steps: Step[]) => steps.map((step) => new URL(step.url).pathname);
  const logged = async (site: 'shop' | 'blog', reason: string): Promise<void> => {
    const output = pair[site].output;
    for (let i = 0; i < 40 && !output.some((line) => line.includes(reason)); i++) await sleep(25);
    assert.ok(output.some((line) => line.includes(`hop: ${reason}`)), `${site} logged ${reason}`);
  };

  /** The first two steps of a hop from blog: blog's redirect to the hub and the hub's answer. */
  async function hopAnswer(client: Client): Promise<{ answerUrl: string; stateCookie: [string, string] }> {
    const start = await client.fetch(`${blog}/`, { headers: NAVIGATION_HEADERS });
    assert.equal(start.status, 303);
    const state = start.setCookies.find((cookie) => cookie.name.startsWith('shared-session.hop.'));
    assert.ok(state, 'blog set a state cookie');
    const answer = await client.fetch(start.headers.location!, { headers: NAVIGATION_HEADERS });
    assert.equal(answer.status, 303);
    assert.ok(answer.headers.location?.startsWith(`${blog}/shared-session/hop/return?a=`));
    return { answerUrl: answer.headers.location!, stateCookie: [state.name, state.value ?? ''] };
  }

  it('first visit: three extra navigations, no session id in any URL; later visits: none', async () => {
    const alice = new Client();
    await login(alice, shop, 'alice');
    const me = await whoami(alice, shop);
    assert.equal(me.user, 'alice');
    const first = await alice.navigate(`${blog}/`);
    assert.deepEqual(urls(first), ['/', '/shared-session/hop', '/shared-session/hop/return', '/']);
    assert.equal(first.at(-1)?.status, 200);
    assert.deepEqual(await whoami(alice, blog), me);
    for (const step of first) {
      assert.ok(!step.url.includes(me.sessionId!), 'no session id in a URL');
      assert.ok(!(step.headers.location ?? '').includes(me.sessionId!), 'no session id in a Location');
      if (step.status === 303) {
        assert.equal(step.headers['referrer-policy'], 'no-referrer');
        assert.equal(step.headers['cache-control'], 'no-store');
      }
    }
    // The answer carries the browser id, sealed; never the session id.
    const answer = new URL(first[2]!.url).searchParams.get('a')!;
    const opened = sealer.open(Purpose.hopAnswer, answer);
    assert.ok(opened.ok);
    assert.deepEqual(Object.keys(opened.payload).sort(), ['bid', 'dst', 'hid', 'iat', 'jti', 'src', 'st']);
    // Later visits: no redirect at all.
    assert.deepEqual(urls(await alice.navigate(`${blog}/`)), ['/']);
    assert.deepEqual(urls(await alice.navigate(`${shop}/`)), ['/']);
  });

  it('login on blog (not the hub) shows on shop; logout on shop shows on blog; a new login propagates again', async () => {
    const visitor = new Client();
    await visitor.navigate(`${shop}/`);
    await visitor.navigate(`${blog}/`); // blog learns the browser: nothing to share yet
    await login(visitor, blog, 'bob');
    const onBlog = await whoami(visitor, blog);
    assert.equal(onBlog.user, 'bob');
    assert.deepEqual(urls(await visitor.navigate(`${shop}/`)), ['/']);
    assert.deepEqual(await whoami(visitor, shop), onBlog);

    assert.equal((await visitor.post(`${shop}/logout`, {})).status, 303);
    await visitor.navigate(`${shop}/`);
    await visitor.navigate(`${blog}/`);
    assert.equal((await whoami(visitor, blog)).user, null);

    // blog checked and found nothing; a later login on shop still reaches it.
    await login(visitor, shop, 'alice');
    const again = await whoami(visitor, shop);
    assert.notEqual(again.sessionId, onBlog.sessionId);
    assert.deepEqual(urls(await visitor.navigate(`${blog}/`)), ['/']);
    assert.deepEqual(await whoami(visitor, blog), again);
  });

  it('an anonymous cart filled on blog is on shop', async () => {
    const visitor = new Client();
    await visitor.navigate(`${blog}/`);
    assert.equal((await visitor.post(`${blog}/cart`, { item: 'rooibos' })).status, 303);
    await visitor.navigate(`${blog}/`);
    await visitor.navigate(`${shop}/`);
    assert.deepEqual((await whoami(visitor, shop)).cart, ['rooibos']);
  });

  it('keeps a site’s own older session apart from the linked one, on the hop and on every later page load', async () => {
    const visitor = new Client();
    // A cart on blog before blog ever hopped (a form post is no page load: no hop).
    assert.equal((await visitor.post(`${blog}/cart`, { item: 'sencha' })).status, 303);
    const own = await whoami(visitor, blog);
    assert.deepEqual(own.cart, ['sencha']);
    await login(visitor, shop, 'alice');
    const linked = await whoami(visitor, shop);
    // The hop: blog learns the browser, and keeps its own session (not empty, not agreed).
    assert.deepEqual(urls(await visitor.navigate(`${blog}/`)), ['/', '/shared-session/hop', '/shared-session/hop/return', '/']);
    assert.deepEqual(await whoami(visitor, blog), own);
    // Later page loads keep it too, until the link moves on.
    await visitor.navigate(`${blog}/`);
    await visitor.navigate(`${blog}/`);
    assert.deepEqual(await whoami(visitor, blog), own);
    assert.deepEqual(await whoami(visitor, shop), linked);
    // A new login on shop moves the link on: blog follows it.
    assert.equal((await visitor.post(`${shop}/logout`, {})).status, 303);
    await login(visitor, shop, 'bob');
    await visitor.navigate(`${blog}/`);
    assert.equal((await whoami(visitor, blog)).user, 'bob');
  });

  it('serves a page with a very long URL without a hop, rather than a hop that must fail', async () => {
    const visitor = new Client();
    const long = `/?q=${'x'.repeat(1500)}`;
    assert.deepEqual(urls(await visitor.navigate(`${blog}${long}`)), ['/']);
    // A page of ordinary length hops as usual.
    assert.deepEqual(urls(await visitor.navigate(`${blog}/`)), ['/', '/shared-session/hop', '/shared-session/hop/return', '/']);
  });

  it('renews a link cookie past half its lifetime, once, and leaves a younger one alone', async () => {
    const visitor = new Client();
    await login(visitor, shop, 'alice');
    await visitor.navigate(`${blog}/`);
    const jar = visitor.cookies(blog);
    const name = [...jar.keys()].find((key) => key.endsWith('shared-session.link'))!;
    const opened = sealer.open(Purpose.link, decodeURIComponent(jar.get(name)!));
    assert.ok(opened.ok && typeof opened.payload.t === 'number', 'the link cookie says when it was written');
    // A younger cookie is not written again on a page load.
    const again = await visitor.fetch(`${blog}/`, { headers: NAVIGATION_HEADERS });
    assert.equal(again.setCookies.filter((cookie) => cookie.name === name).length, 0);
    // Written 100 days ago (the demo keeps links 180 days): renewed on the next page load.
    const old = sealer.seal(Purpose.link, { ...opened.payload, t: Math.floor(Date.now() / 1000) - 100 * 86400 });
    jar.set(name, old);
    const renewed = await visitor.fetch(`${blog}/`, { headers: NAVIGATION_HEADERS });
    const cookie = renewed.setCookies.find((c) => c.name === name);
    assert.ok(cookie, 'the link cookie is written again');
    const fresh = sealer.open(Purpose.link, decodeURIComponent(cookie.value ?? ''));
    assert.ok(fresh.ok && Math.abs((fresh.payload.t as number) - Date.now() / 1000) < 60);
    assert.equal(fresh.payload.b, opened.payload.b, 'the same browser id');
    assert.equal((await whoami(visitor, blog)).user, 'alice');
  });

  describe('refusals: a status, a reason, an event, and no cookie', () => {
    it('an answer used twice (replay)', async () => {
      const visitor = new Client();
      const { answerUrl, stateCookie } = await hopAnswer(visitor);
      assert.equal((await visitor.fetch(answerUrl)).status, 303);
      visitor.cookies(blog).set(...stateCookie); // even with the state cookie kept
      const replay = await visitor.fetch(answerUrl);
      assert.equal(replay.status, 403);
      assert.equal(replay.headers['shared-session-reason'], 'TOKEN_REPLAYED');
      assert.equal(replay.setCookies.length, 0);
      await logged('blog', 'TOKEN_REPLAYED');
    });

    it('an answer for another destination', async () => {
      const forged = sealer.seal(Purpose.hopAnswer, { src: shop, dst: shop, iat: Date.now(), jti: 'x1', hid: 'abcdefgh', st: 'a'.repeat(22), bid: 'b'.repeat(43) });
      const response = await new Client().fetch(`${blog}/shared-session/hop/return?a=${forged}`);
      assert.equal(response.headers['shared-session-reason'], 'WRONG_DESTINATION');
      assert.equal(response.status, 403);
      assert.equal(response.setCookies.length, 0);
    });

    it('an answer minted for another browser, without the state cookie (login CSRF)', async () => {
      const attacker = new Client();
      await login(attacker, shop, 'bob');
      const { answerUrl } = await hopAnswer(attacker);
      const victim = new Client();
      const response = await victim.fetch(answerUrl);
      assert.equal(response.status, 403);
      assert.equal(response.headers['shared-session-reason'], 'STATE_MISSING');
      assert.equal(response.setCookies.length, 0);
      assert.match(response.body, /http-equiv="refresh" content="0;url=\/\?shared-session-skip=1"/);
      assert.equal((await whoami(victim, blog)).user, null);
      await logged('blog', 'STATE_MISSING');
    });

    it('an answer minted for another browser, with a state cookie of the victim’s own (login CSRF)', async () => {
      const attacker = new Client();
      await login(attacker, shop, 'bob');
      const { answerUrl } = await hopAnswer(attacker);
      const hid = sealer.open(Purpose.hopAnswer, new URL(answerUrl).searchParams.get('a')!);
      assert.ok(hid.ok);
      const victim = new Client();
      const victimState = sealer.seal(Purpose.state, { st: 'v'.repeat(22), ret: '/', iat: Date.now() });
      victim.cookies(blog).set(`shared-session.hop.${hid.payload.hid as string}`, victimState);
      const response = await victim.fetch(answerUrl);
      assert.equal(response.headers['shared-session-reason'], 'STATE_MISMATCH');
      assert.equal(response.status, 403);
      assert.equal(response.setCookies.length, 0);
      assert.equal((await whoami(victim, blog)).user, null);
    });

    it('foreign and //evil return targets', async () => {
      // A navigation to a path that reads as another origin never starts a hop…
      for (const path of ['//evil.example/', '/.//evil.example/']) {
        const steps = await new Client().navigate(`${blog}${path}`);
        assert.equal(steps.length, 1, path);
        assert.notEqual(steps[0]?.status, 303);
      }
      // …and a return target that is not a same-origin path is refused even in a sealed state.
      for (const ret of ['//evil.example/', 'https://evil.example/', '/\\evil.example']) {
        const visitor = new Client();
        const { answerUrl } = await hopAnswer(visitor);
        const opened = sealer.open(Purpose.hopAnswer, new URL(answerUrl).searchParams.get('a')!);
        assert.ok(opened.ok);
        const name = `shared-session.hop.${opened.payload.hid as string}`;
        visitor.cookies(blog).set(name, sealer.seal(Purpose.state, { st: opened.payload.st, ret, iat: Date.now() }));
        const response = await visitor.fetch(answerUrl);
        assert.equal(response.headers['shared-session-reason'], 'BAD_RETURN_PATH', ret);
        assert.equal(response.status, 400);
        assert.equal(response.setCookies.length, 0);
        assert.doesNotMatch(response.body, /evil/);
      }
    });

    it('hop loops: a browser without cookies hops once, then lands on the page', async () => {
      const cookieless = new Client({ cookieless: true });
      const steps = await cookieless.navigate(`${blog}/some/page?x=1`);
      assert.deepEqual(urls(steps), ['/some/page', '/shared-session/hop', '/shared-session/hop/return']);
      assert.equal(steps.at(-1)?.headers['shared-session-reason'], 'STATE_MISSING');
      const refresh = /content="0;url=([^"]+)"/.exec(steps.at(-1)!.body)?.[1];
      assert.equal(refresh, '/?shared-session-skip=1');
      const landed = await cookieless.navigate(`${blog}${refresh}`);
      assert.deepEqual(urls(landed), ['/']);
      assert.equal(landed[0]?.status, 200);
    });

    it('hop loops: no second hop while one is in flight', async () => {
      const visitor = new Client();
      const first = await visitor.fetch(`${blog}/`, { headers: NAVIGATION_HEADERS });
      assert.equal(first.status, 303);
      const second = await visitor.navigate(`${blog}/`);
      assert.deepEqual(urls(second), ['/']);
    });

    it('hop requests: to a site that is not the hub, forged, replayed, or from the hub itself', async () => {
      const visitor = new Client();
      const start = await visitor.fetch(`${blog}/`, { headers: NAVIGATION_HEADERS });
      const hubUrl = new URL(start.headers.location!);
      const notHub = await visitor.fetch(`${blog}${hubUrl.pathname}${hubUrl.search}`);
      assert.equal(notHub.headers['shared-session-reason'], 'NOT_HUB');
      assert.equal(notHub.status, 421);
      const raw = Buffer.from(hubUrl.searchParams.get('r')!, 'base64url');
      raw[30] = (raw[30] as number) ^ 4;
      const forged = await visitor.fetch(`${shop}/shared-session/hop?r=${raw.toString('base64url')}`);
      assert.equal(forged.headers['shared-session-reason'], 'TOKEN_INVALID');
      assert.equal((await visitor.fetch(hubUrl.href)).status, 303);
      const replay = await visitor.fetch(hubUrl.href);
      assert.equal(replay.headers['shared-session-reason'], 'TOKEN_REPLAYED');
      const fromHub = sealer.seal(Purpose.hopRequest, { src: shop, dst: shop, iat: Date.now(), jti: 'y', hid: 'abcdefgh', st: 's'.repeat(22) });
      assert.equal((await visitor.fetch(`${shop}/shared-session/hop?r=${fromHub}`)).headers['shared-session-reason'], 'UNKNOWN_SOURCE');
      const expired = sealer.seal(Purpose.hopRequest, { src: blog, dst: shop, iat: Date.now() - 60_000, jti: 'z', hid: 'abcdefgh', st: 's'.repeat(22) });
      const late = await visitor.fetch(`${shop}/shared-session/hop?r=${expired}`);
      assert.equal(late.headers['shared-session-reason'], 'TOKEN_EXPIRED');
      // The visitor is sent back to where they came from, without another hop.
      assert.match(late.body, new RegExp(`url=${blog.replaceAll('.', '\\.')}/\\?shared-session-skip=1`));
      for (const response of [notHub, forged, replay, late]) assert.equal(response.setCookies.length, 0);
      // One that cannot be opened (another secret, mid-rotation) strands nobody: on to the hub's home page.
      for (const response of [notHub, forged]) {
        assert.match(response.body, /<meta http-equiv="refresh" content="0;url=\/\?shared-session-skip=1">/);
        assert.equal(response.headers['referrer-policy'], 'no-referrer');
      }
    });
  });

  it('never hops for crawlers, scripts, posts, fetches or prefetches', async () => {
    const cases: [string, Record<string, string>][] = [
      ['crawler', { 'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1)' }],
      ['no user agent', { 'user-agent': '' }],
      ['fetch()', { 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' }],
      ['prefetch', { 'sec-purpose': 'prefetch' }],
      ['iframe', { 'sec-fetch-dest': 'iframe' }],
    ];
    for (const [label, headers] of cases) {
      const steps = await new Client().navigate(`${blog}/`, { headers });
      assert.deepEqual(urls(steps), ['/'], label);
    }
  });

  it('keeps serving pages without a hop while the hub is down, and hops again once it is back', async () => {
    await pair.shop.stop();
    try {
      // An "up" verdict from the hops above may hold for two more seconds.
      await sleep(2_100);
      const started = performance.now();
      const steps = await new Client().navigate(`${blog}/`);
      const elapsed = performance.now() - started;
      assert.deepEqual(urls(steps), ['/']);
      assert.ok(elapsed < 2000, `served in ${Math.round(elapsed)} ms`);
      assert.ok(pair.blog.output.some((line) => line.includes('warning HUB_UNREACHABLE')));
    } finally {
      pair.shop = await startSite(shop, pair.sites, pair.storePath);
    }
    // The down verdict lasts ten seconds; then blog checks again and hops.
    await sleep(10_500);
    const steps = await new Client().navigate(`${blog}/`);
    assert.deepEqual(urls(steps), ['/', '/shared-session/hop', '/shared-session/hop/return', '/']);
  });
});
