import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deriveKeys } from '../../src/core/keys.ts';
import { Purpose, Sealer } from '../../src/core/token.ts';
import { loginOn, paths, whoami } from '../helpers/demo-client.ts';
import { Client, NAVIGATION_HEADERS, type Step } from '../helpers/http.ts';
import { SHARED_SECRET, startDemoPair, startSite, type DemoPair } from '../helpers/sites.ts';

const sealer = new Sealer(deriveKeys(SHARED_SECRET));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const HOP = ['/', '/shared-session/hop', '/shared-session/hop/return', '/'];

describe('the top-level hop between two processes over one store', () => {
  let pair: DemoPair;
  let shop: string;
  let blog: string;

  before(async () => {
    pair = await startDemoPair();
    [shop, blog] = [pair.shop.origin, pair.blog.origin];
  });
  after(() => pair.stop());

  const login = async (client: Client, origin: string, user: string): Promise<void> => {
    assert.deepEqual(urls(await loginOn(client, origin, user)), ['/'], 'a login needs no redirect on its own site');
  };
  const urls = paths;
  const hosts = (steps: Step[]) => steps.map((step) => new URL(step.url).origin);
  const logged = async (site: 'shop' | 'blog', reason: string): Promise<void> => {
    const output = pair[site].output;
    for (let i = 0; i < 40 && !output.some((line) => line.includes(reason)); i++) await sleep(25);
    assert.ok(output.some((line) => line.includes(`hop: ${reason}`)), `${site} logged ${reason}`);
  };

  /** The first two steps of a hop from blog: blog's redirect to the hub and the hub's answer. */
  async function hopAnswer(client: Client): Promise<{ answerUrl: string; stateCookie: [string, string] }> {
    const start = await client.fetch(`${blog}/`, { headers: NAVIGATION_HEADERS });
    assert.equal(start.status, 303);
    assert.ok(start.headers.location?.startsWith(`${shop}/shared-session/hop?q=`));
    const state = start.setCookies.find((cookie) => cookie.name.startsWith('shared-session.hop.'));
    assert.ok(state, 'blog set a state cookie');
    const answer = await client.fetch(start.headers.location!, { headers: NAVIGATION_HEADERS });
    assert.equal(answer.status, 303);
    assert.ok(answer.headers.location?.startsWith(`${blog}/shared-session/hop/return?a=`));
    return { answerUrl: answer.headers.location!, stateCookie: [state.name, state.value ?? ''] };
  }

  it('a new browser: each site’s first page hops once; a login elsewhere costs one hop per site; no session id in any URL', async () => {
    const alice = new Client();
    // The hub does not know a new browser either: it asks the other sites (here: blog), and the last one asked mints its key.
    const first = await alice.navigate(`${shop}/`);
    assert.deepEqual(urls(first), HOP);
    assert.deepEqual(hosts(first), [shop, blog, shop, shop]);
    await login(alice, shop, 'alice');
    const me = await whoami(alice, shop);
    assert.equal(me.user, 'alice');
    // Blog learned the browser on that first hop; the login moved the browser's epoch on, so blog asks shop once.
    const onBlog = await alice.navigate(`${blog}/`);
    assert.deepEqual(urls(onBlog), HOP);
    assert.deepEqual(hosts(onBlog), [blog, shop, blog, blog]);
    assert.deepEqual(await whoami(alice, blog), me);
    for (const step of [...first, ...onBlog]) {
      assert.ok(!step.url.includes(me.sessionId!), 'no session id in a URL');
      assert.ok(!(step.headers.location ?? '').includes(me.sessionId!), 'no session id in a Location');
      if (step.status === 303) {
        assert.equal(step.headers['referrer-policy'], 'no-referrer');
        assert.equal(step.headers['cache-control'], 'no-store');
      }
    }
    // The answer carries shop's epoch key and shop's session in this browser, sealed.
    const answer = await sealer.open(Purpose.answer, new URL(onBlog[2]!.url).searchParams.get('a')!);
    assert.ok(answer.ok);
    assert.deepEqual(Object.keys(answer.payload).sort(), ['dst', 'hid', 'iat', 'jti', 'k', 'ret', 'sid', 'src', 'st']);
    assert.equal(answer.payload.sid, me.sessionId);
    // Later page loads: no redirect at all.
    assert.deepEqual(urls(await alice.navigate(`${blog}/`)), ['/']);
    assert.deepEqual(urls(await alice.navigate(`${shop}/`)), ['/']);
  });

  it('login on blog (not the hub) shows on shop; logout on shop shows on blog; a new login propagates again', async () => {
    const visitor = new Client();
    await visitor.navigate(`${shop}/`);
    await visitor.navigate(`${blog}/`); // blog knows the browser from shop's first hop: nothing to share yet
    await login(visitor, blog, 'bob');
    const onBlog = await whoami(visitor, blog);
    assert.equal(onBlog.user, 'bob');
    assert.deepEqual(urls(await visitor.navigate(`${shop}/`)), HOP);
    assert.deepEqual(await whoami(visitor, shop), onBlog);

    assert.equal((await visitor.post(`${shop}/logout`, {})).status, 303);
    assert.deepEqual(urls(await visitor.navigate(`${shop}/`)), ['/']);
    // The shared record is gone: blog is logged out at once, and asks shop once for the new epoch.
    assert.equal((await whoami(visitor, blog)).user, null);
    assert.deepEqual(urls(await visitor.navigate(`${blog}/`)), HOP);
    assert.equal((await whoami(visitor, blog)).user, null);
    assert.deepEqual(urls(await visitor.navigate(`${blog}/`)), ['/']);

    await login(visitor, shop, 'alice');
    const again = await whoami(visitor, shop);
    assert.notEqual(again.sessionId, onBlog.sessionId);
    assert.deepEqual(urls(await visitor.navigate(`${blog}/`)), HOP);
    assert.deepEqual(await whoami(visitor, blog), again);
  });

  it('an anonymous cart filled on blog is on shop', async () => {
    const visitor = new Client();
    await visitor.navigate(`${blog}/`);
    assert.equal((await visitor.post(`${blog}/cart`, { item: 'rooibos' })).status, 303);
    await visitor.navigate(`${blog}/`);
    await visitor.navigate(`${shop}/`);
    assert.deepEqual((await whoami(visitor, shop)).cart, ['rooibos']);
    // A second item needs no hop at all: the session id did not change.
    assert.equal((await visitor.post(`${shop}/cart`, { item: 'sencha' })).status, 303);
    assert.deepEqual(urls(await visitor.navigate(`${blog}/`)), ['/']);
    assert.deepEqual((await whoami(visitor, blog)).cart, ['rooibos', 'sencha']);
  });

  it('carries a cart made on a site before any page of it into the browser’s session, and through a login elsewhere', async () => {
    const visitor = new Client();
    // A cart on blog before any page load of blog (a form post is no page load: no hop).
    assert.equal((await visitor.post(`${blog}/cart`, { item: 'sencha' })).status, 303);
    // Shop asks blog who the browser is: blog's session is the browser's session.
    await login(visitor, shop, 'alice');
    assert.deepEqual((await whoami(visitor, shop)).cart, ['sencha'], 'the demo keeps the anonymous cart through a login');
    assert.deepEqual(urls(await visitor.navigate(`${blog}/`)), HOP);
    assert.deepEqual(await whoami(visitor, blog), await whoami(visitor, shop));
  });

  it('keeps a site’s own older session apart from the linked one, and follows once the browser’s session moves', async () => {
    const visitor = new Client();
    await login(visitor, shop, 'alice');
    const linked = await whoami(visitor, shop);
    // Blog's cookies were cleared: it does not know the browser, and gets a session of its own by a form post.
    visitor.cookies(blog).clear();
    assert.equal((await visitor.post(`${blog}/cart`, { item: 'sencha' })).status, 303);
    const own = await whoami(visitor, blog);
    assert.deepEqual(own.cart, ['sencha']);
    // blog learns the browser, and keeps its own session (not empty, older than the link).
    assert.deepEqual(urls(await visitor.navigate(`${blog}/`)), HOP);
    assert.deepEqual(await whoami(visitor, blog), own);
    await visitor.navigate(`${blog}/`);
    await visitor.navigate(`${blog}/`);
    assert.deepEqual(await whoami(visitor, blog), own);
    assert.deepEqual(await whoami(visitor, shop), linked);
    // A new login on shop moves the browser's session on: blog follows it.
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
    assert.deepEqual(urls(await visitor.navigate(`${blog}/`)), HOP);
  });

  it('refuses a link cookie that says it was written longer ago than linkMaxAgeSeconds, whatever the browser kept', async () => {
    const visitor = new Client();
    await visitor.navigate(`${blog}/`);
    const jar = visitor.cookies(blog);
    const name = [...jar.keys()].find((key) => key.endsWith('shared-session.link'))!;
    const opened = await sealer.open(Purpose.link, decodeURIComponent(jar.get(name)!));
    assert.ok(opened.ok && typeof opened.payload.t === 'number', 'the link cookie says when it was written');
    // A younger cookie is not written again on a page load.
    assert.equal((await visitor.fetch(`${blog}/`, { headers: NAVIGATION_HEADERS })).setCookies.filter((cookie) => cookie.name === name).length, 0);
    // "Written" three years ago: not accepted, the browser is asked about again.
    jar.set(name, await sealer.seal(Purpose.link, { ...opened.payload, t: Math.floor(Date.now() / 1000) - 3 * 365 * 86400 }));
    assert.deepEqual(urls(await visitor.navigate(`${blog}/`)), HOP);
  });

  describe('refusals: a status, a reason, an event, and no cookie', () => {
    it('an answer used twice (replay): the header does not say why', async () => {
      const visitor = new Client();
      const { answerUrl, stateCookie } = await hopAnswer(visitor);
      assert.equal((await visitor.fetch(answerUrl, { headers: NAVIGATION_HEADERS })).status, 303);
      visitor.cookies(blog).set(...stateCookie); // even with the state cookie kept
      const replay = await visitor.fetch(answerUrl, { headers: NAVIGATION_HEADERS });
      assert.equal(replay.status, 403);
      assert.equal(replay.headers['shared-session-reason'], 'TOKEN_REFUSED');
      assert.equal(replay.setCookies.length, 0);
      await logged('blog', 'TOKEN_REPLAYED');
    });

    it('a HEAD of an answer neither runs it nor uses it up', async () => {
      const visitor = new Client();
      const { answerUrl } = await hopAnswer(visitor);
      const head = await visitor.fetch(answerUrl, { method: 'HEAD', headers: NAVIGATION_HEADERS });
      assert.equal(head.status, 405);
      assert.equal(head.headers['shared-session-reason'], 'METHOD_NOT_ALLOWED');
      assert.equal(head.setCookies.length, 0);
      assert.equal((await visitor.fetch(answerUrl, { headers: NAVIGATION_HEADERS })).status, 303);
    });

    it('a hop step loaded as an image or a frame', async () => {
      const visitor = new Client();
      const { answerUrl } = await hopAnswer(visitor);
      for (const dest of ['image', 'iframe']) {
        const response = await visitor.fetch(answerUrl, { headers: { ...NAVIGATION_HEADERS, 'sec-fetch-dest': dest, 'sec-fetch-mode': 'no-cors' } });
        assert.equal(response.status, 403, dest);
        assert.equal(response.headers['shared-session-reason'], 'NOT_A_NAVIGATION');
        assert.equal(response.setCookies.length, 0);
      }
      // Not used up by them: the real navigation still completes.
      assert.equal((await visitor.fetch(answerUrl, { headers: NAVIGATION_HEADERS })).status, 303);
    });

    it('an answer for another destination', async () => {
      const forged = await sealer.seal(Purpose.answer, { src: shop, dst: shop, iat: Date.now(), jti: 'j'.repeat(22), hid: 'abcdefgh', st: 'a'.repeat(22), k: 'k'.repeat(22), sid: '' });
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
      const hid = await sealer.open(Purpose.answer, new URL(answerUrl).searchParams.get('a')!);
      assert.ok(hid.ok);
      const victim = new Client();
      const victimState = await sealer.seal(Purpose.state, { st: 'v'.repeat(22), ret: '/', iat: Date.now(), why: 'discover', to: shop });
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
        const opened = await sealer.open(Purpose.answer, new URL(answerUrl).searchParams.get('a')!);
        assert.ok(opened.ok);
        const name = `shared-session.hop.${opened.payload.hid as string}`;
        visitor.cookies(blog).set(name, await sealer.seal(Purpose.state, { st: opened.payload.st, ret, iat: Date.now(), why: 'discover', to: shop }));
        const response = await visitor.fetch(answerUrl);
        assert.equal(response.headers['shared-session-reason'], 'BAD_RETURN_PATH', ret);
        assert.equal(response.status, 400);
        assert.equal(response.setCookies.length, 0);
        assert.doesNotMatch(response.body, /evil/);
      }
    });

    it('hop loops: a browser without cookies hops once, then lands on the page it asked for', async () => {
      const cookieless = new Client({ cookieless: true });
      const steps = await cookieless.navigate(`${blog}/whoami?x=1`);
      assert.deepEqual(urls(steps), ['/whoami', '/shared-session/hop', '/shared-session/hop/return']);
      assert.equal(steps.at(-1)?.headers['shared-session-reason'], 'STATE_MISSING');
      const refresh = /content="0;url=([^"]+)"/.exec(steps.at(-1)!.body)?.[1]?.replaceAll('&amp;', '&');
      assert.equal(refresh, '/whoami?x=1&shared-session-skip=1');
      const landed = await cookieless.navigate(`${blog}${refresh}`);
      assert.deepEqual(urls(landed), ['/whoami']);
      assert.equal(landed[0]?.status, 200);
    });

    it('hop loops: no second hop while one is in flight', async () => {
      const visitor = new Client();
      const first = await visitor.fetch(`${blog}/`, { headers: NAVIGATION_HEADERS });
      assert.equal(first.status, 303);
      const second = await visitor.navigate(`${blog}/`);
      assert.deepEqual(urls(second), ['/']);
    });

    it('queries: forged, from the site itself, expired; each sends the visitor back without a cookie', async () => {
      const visitor = new Client();
      const start = await visitor.fetch(`${blog}/`, { headers: NAVIGATION_HEADERS });
      const query = new URL(start.headers.location!);
      const raw = Buffer.from(query.searchParams.get('q')!, 'base64url');
      raw[30] = (raw[30] as number) ^ 4;
      const forged = await visitor.fetch(`${shop}/shared-session/hop?q=${raw.toString('base64url')}`, { headers: NAVIGATION_HEADERS });
      assert.equal(forged.headers['shared-session-reason'], 'TOKEN_INVALID');
      const fields = { hid: 'abcdefgh', st: 's'.repeat(22) };
      const fromItself = await sealer.seal(Purpose.query, { src: shop, dst: shop, iat: Date.now(), via: [], ...fields });
      assert.equal((await visitor.fetch(`${shop}/shared-session/hop?q=${fromItself}`, { headers: NAVIGATION_HEADERS })).headers['shared-session-reason'], 'UNKNOWN_SOURCE');
      const expired = await sealer.seal(Purpose.query, { src: blog, dst: shop, iat: Date.now() - 60_000, via: [], ...fields });
      const late = await visitor.fetch(`${shop}/shared-session/hop?q=${expired}`, { headers: NAVIGATION_HEADERS });
      assert.equal(late.headers['shared-session-reason'], 'TOKEN_REFUSED');
      // The visitor is sent back to where they came from, without another hop.
      assert.match(late.body, new RegExp(`url=${blog.replaceAll('.', '\\.')}/\\?shared-session-skip=1`));
      for (const response of [forged, late]) assert.equal(response.setCookies.length, 0);
      // One that cannot be opened (another secret, mid-rotation) strands nobody: on to the site's home page.
      assert.match(forged.body, /<meta http-equiv="refresh" content="0;url=\/\?shared-session-skip=1">/);
      assert.equal(forged.headers['referrer-policy'], 'no-referrer');
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

  it('keeps serving pages without a hop while the site to ask is down, and hops again once it is back', async () => {
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
    assert.deepEqual(urls(steps), HOP);
  });
});
