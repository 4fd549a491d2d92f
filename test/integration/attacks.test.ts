import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import { SqliteStore } from 'shared-session/sqlite';
import { scriptSources, startExpressSite } from '../helpers/express-site.ts';
import { Purpose } from '../../src/core/token.ts';
import { loginOn, logoutOn, whoami } from '../helpers/demo-client.ts';
import { Client, NAVIGATION_HEADERS } from '../helpers/http.ts';
import { sealer } from '../helpers/push.ts';
import { freePort } from '../helpers/ports.ts';
import { startDemoPair, startDemoSites, type DemoPair, type DemoSites } from '../helpers/sites.ts';

/**
 * The attacks an outside review made on protocol 1 (issue 8), each replayed as the
 * attacker would, over HTTP against the demo's two processes: every one of them succeeded
 * on protocol 1 and must fail now.
 */
describe('attacks on the sharing protocol', () => {
  let pair: DemoPair;
  let shop: string;
  let blog: string;

  before(async () => {
    pair = await startDemoPair();
    [shop, blog] = [pair.shop.origin, pair.blog.origin];
  });
  after(() => pair.stop());

  const login = async (client: Client, origin: string, user: string): Promise<void> => void (await loginOn(client, origin, user));
  const logout = logoutOn;
  /** A browser elsewhere holding copies of `origins`' cookies from `from`, as they are now. */
  const copyOf = (from: Client, origins: readonly string[]): Client => {
    const thief = new Client();
    for (const origin of origins) for (const [name, value] of from.cookies(origin)) thief.cookies(origin).set(name, value);
    return thief;
  };
  const rows = (table: string): number => {
    const db = new DatabaseSync(pair.storePath, { readOnly: true });
    try {
      return Number((db.prepare(`SELECT count(*) AS n FROM shared_session_${table}`).get() as { n: number }).n);
    } finally {
      db.close();
    }
  };

  describe('1. fixation through the link: a copy of a browser’s cookies follows none of its later logins', () => {
    it('on a shared computer: a copy of blog’s cookies taken while anonymous stays anonymous through the next person’s login, logout and the next login', async () => {
      const computer = new Client();
      // Someone browses blog anonymously (the browser becomes known), keeps a copy of blog's cookies, and leaves.
      await computer.navigate(`${blog}/`);
      const copy = copyOf(computer, [blog]);
      // The next person logs in on shop at that computer and uses blog too.
      await login(computer, shop, 'alice');
      await computer.navigate(`${blog}/`);
      assert.equal((await whoami(computer, blog)).user, 'alice');
      // One page load of blog with the copy, elsewhere: anonymous.
      await copy.navigate(`${blog}/`);
      assert.equal((await whoami(copy, blog)).user, null);
      // After their logout and the next person's login: still nothing.
      await logout(computer, shop);
      await login(computer, shop, 'bob');
      await computer.navigate(`${blog}/`);
      assert.equal((await whoami(computer, blog)).user, 'bob');
      await copy.navigate(`${blog}/`);
      await copy.navigate(`${shop}/`);
      assert.equal((await whoami(copy, blog)).user, null);
      assert.equal((await whoami(copy, shop)).user, null);
      assert.equal((await whoami(computer, blog)).user, 'bob', 'the copy did not disturb the real browser');
    });

    it('a copy of every site’s cookies taken before a login never gets that login; taken before a logout, nothing after it', async () => {
      const computer = new Client();
      await computer.navigate(`${shop}/`);
      await computer.navigate(`${blog}/`);
      const beforeLogin = copyOf(computer, [shop, blog]);
      await login(computer, blog, 'alice');
      await computer.navigate(`${shop}/`);
      assert.equal((await whoami(computer, shop)).user, 'alice');
      for (const origin of [blog, shop, blog]) await beforeLogin.navigate(`${origin}/`);
      assert.equal((await whoami(beforeLogin, shop)).user, null);
      assert.equal((await whoami(beforeLogin, blog)).user, null);

      // A copy taken while logged in is that session (as a copy of a session cookie is) until the logout…
      const beforeLogout = copyOf(computer, [shop, blog]);
      assert.equal((await whoami(beforeLogout, blog)).user, 'alice');
      await logout(computer, shop);
      await login(computer, shop, 'bob');
      // …and nothing after it.
      for (const origin of [blog, shop, blog]) await beforeLogout.navigate(`${origin}/`);
      assert.equal((await whoami(beforeLogout, shop)).user, null);
      assert.equal((await whoami(beforeLogout, blog)).user, null);
    });
  });

  it('1. a copy of a current link cookie cannot log its victim out, nor follow the victim afterwards', async () => {
    const victim = new Client();
    await login(victim, shop, 'alice');
    await victim.navigate(`${blog}/`);
    // The thief copies blog's link cookie only (not the session cookie) and logs in as himself on blog with it.
    const thief = new Client();
    for (const [name, value] of victim.cookies(blog)) if (name.endsWith('shared-session.link')) thief.cookies(blog).set(name, value);
    await login(thief, blog, 'bob');
    assert.equal(await (async () => (await whoami(thief, blog)).user)(), 'bob');
    // The victim stays logged in everywhere, with one session.
    for (const origin of [shop, blog, shop, blog]) await victim.navigate(`${origin}/`);
    assert.equal((await whoami(victim, shop)).user, 'alice');
    assert.equal((await whoami(victim, blog)).user, 'alice');
    assert.equal((await whoami(victim, shop)).sessionId, (await whoami(victim, blog)).sessionId);
    // …and keeps sharing: a logout on shop reaches blog, and the thief never sees the victim's next login.
    await logout(victim, shop);
    await login(victim, shop, 'alice');
    await victim.navigate(`${blog}/`);
    assert.equal((await whoami(victim, blog)).user, 'alice');
    for (const origin of [blog, shop]) await thief.navigate(`${origin}/`);
    assert.notEqual((await whoami(thief, shop)).user, 'alice');
    assert.notEqual((await whoami(thief, blog)).sessionId, (await whoami(victim, blog)).sessionId);
    // The real browser's pages settle: no hop on every page load.
    const settled = await victim.navigate(`${blog}/`);
    assert.equal(settled.length, 1);
  });

  it('2. login CSRF: a token of the attacker’s own session, opened by a link or an image on shop, is refused on blog', async () => {
    const attacker = new Client();
    await attacker.navigate(`${shop}/`);
    assert.equal((await attacker.post(`${shop}/login`, { username: 'bob', password: 'bob-password' })).status, 303);
    // Shop's own page after the login carries a token of bob's session for blog.
    const page = (await attacker.navigate(`${shop}/`)).at(-1)!;
    const src = scriptSources(page.body).find((url) => url.startsWith(blog));
    assert.ok(src, 'shop’s page pushes to blog');
    const victim = new Client();
    // The victim follows the attacker's link (a top-level navigation), or loads his image, from a page of shop (the Referer is shop's).
    const asLink = { ...NAVIGATION_HEADERS, 'sec-fetch-site': 'cross-site', referer: `${shop}/reviews` };
    const asImage = { 'sec-fetch-dest': 'image', 'sec-fetch-mode': 'no-cors', 'sec-fetch-site': 'cross-site', referer: `${shop}/reviews`, 'user-agent': NAVIGATION_HEADERS['user-agent']! };
    for (const headers of [asLink, asImage]) {
      const response = await victim.fetch(src, { headers });
      assert.equal(response.status, 403);
      assert.equal(response.headers['shared-session-reason'], 'NOT_A_SCRIPT_LOAD');
      assert.equal(response.setCookies.length, 0);
    }
    await victim.navigate(`${blog}/`);
    assert.equal((await whoami(victim, blog)).user, null);
  });

  describe('3. bounded writes: nothing long-lived from a request a script can repeat for free', () => {
    it('one link epoch per session: page loads with a cart session but no link cookie write no record after the first', async () => {
      const script = new Client();
      assert.equal((await script.post(`${shop}/cart`, { item: 'tea' })).status, 303);
      const before = rows('links');
      for (let i = 0; i < 30; i++) {
        // The script keeps only its session cookie.
        for (const origin of [shop, blog]) for (const name of [...script.cookies(origin).keys()]) if (name.startsWith('shared-session.')) script.cookies(origin).delete(name);
        await script.navigate(`${shop}/`);
      }
      assert.ok(rows('links') - before <= 2, `${rows('links') - before} link records for 30 page loads (protocol 1: 30)`);
    });

    it('at most one single-use claim per hop, and no link record for a browser without a session', async () => {
      const links = rows('links');
      const claims = rows('claims');
      for (let i = 0; i < 20; i++) await new Client().navigate(`${blog}/`);
      assert.equal(rows('links'), links);
      assert.ok(rows('claims') - claims <= 20, `${rows('claims') - claims} claims for 20 hops (protocol 1: 40)`);
    });

    it('no tombstone for a session id that was never stored (a cookie-less POST /logout)', async () => {
      const before = rows('tombstones');
      for (let i = 0; i < 20; i++) assert.equal((await new Client().post(`${shop}/logout`, {})).status, 303);
      assert.equal(rows('tombstones'), before);
    });
  });

  it('4. an answer the victim’s site refused is used up: whoever reads its URL cannot complete it with their own state', async () => {
    const victim = new Client();
    await login(victim, shop, 'alice');
    // The attacker starts a hop in his own browser…
    const attacker = new Client();
    const start = await attacker.fetch(`${blog}/`, { headers: NAVIGATION_HEADERS });
    assert.equal(start.status, 303);
    // …and sends the logged-in victim to the query: shop answers for the victim, bound to the attacker's state.
    const answered = await victim.fetch(start.headers.location!, { headers: { ...NAVIGATION_HEADERS, 'sec-fetch-site': 'cross-site' } });
    assert.equal(answered.status, 303);
    const answerUrl = answered.headers.location!;
    const refused = await victim.fetch(answerUrl, { headers: NAVIGATION_HEADERS });
    assert.equal(refused.headers['shared-session-reason'], 'STATE_MISSING');
    // The URL leaks (a log, a script on the page): the attacker presents it with his state cookie.
    const stolen = await attacker.fetch(answerUrl, { headers: NAVIGATION_HEADERS });
    assert.equal(stolen.status, 403);
    assert.equal(stolen.headers['shared-session-reason'], 'TOKEN_REFUSED');
    assert.equal(stolen.setCookies.length, 0);
    await attacker.navigate(`${blog}/`);
    assert.equal((await whoami(attacker, blog)).user, null);
  });

  it('5. a stale tab that writes after a new login does not undo it', async () => {
    const visitor = new Client();
    await login(visitor, shop, 'alice');
    await visitor.navigate(`${blog}/`);
    assert.equal((await whoami(visitor, blog)).user, 'alice');
    // Tab A logs in again, as bob.
    await login(visitor, shop, 'bob');
    // Tab B, still open on blog, posts a form: its cookie names alice's destroyed session, so blog makes a new one.
    assert.equal((await visitor.post(`${blog}/cart`, { item: 'stale' })).status, 303);
    await visitor.navigate(`${blog}/`);
    assert.equal((await whoami(visitor, blog)).user, 'bob');
    await visitor.navigate(`${shop}/`);
    assert.equal((await whoami(visitor, shop)).user, 'bob');
  });

  it('two first pages of a new browser at once (two tabs) end in one epoch: a later login and logout reach both sites (found in protocol 2)', async () => {
    const browser = new Client();
    const crossSite = { ...NAVIGATION_HEADERS, 'sec-fetch-site': 'cross-site' };
    // Both tabs start before either hop came back; each reaches the other site, which does
    // not know the browser yet and so mints a key; then both return.
    const toBlog = await browser.fetch(`${shop}/`, { headers: NAVIGATION_HEADERS });
    const toShop = await browser.fetch(`${blog}/`, { headers: NAVIGATION_HEADERS });
    const shopAnswer = await browser.fetch(toBlog.headers.location!, { headers: crossSite });
    const blogAnswer = await browser.fetch(toShop.headers.location!, { headers: crossSite });
    assert.match(shopAnswer.headers.location!, /\/hop\/return\?a=/);
    assert.match(blogAnswer.headers.location!, /\/hop\/return\?a=/);
    // Each return continues to its tab's page, as the browser follows it.
    for (const [answered, origin] of [[shopAnswer, shop], [blogAnswer, blog]] as const) {
      const back = await browser.fetch(answered.headers.location!, { headers: crossSite });
      assert.equal(back.status, 303);
      await browser.navigate(new URL(back.headers.location!, origin).href);
    }
    await loginOn(browser, shop, 'alice');
    await browser.navigate(`${blog}/`);
    assert.equal((await whoami(browser, blog)).user, 'alice');
    await logoutOn(browser, blog);
    await browser.navigate(`${shop}/`);
    assert.equal((await whoami(browser, shop)).user, null);
  });

  describe('6. the smaller findings', () => {
    it('a voucher that reaches a site already holding the session does not linger: the next page deletes it', async () => {
      const visitor = new Client();
      await login(visitor, shop, 'alice');
      await visitor.navigate(`${blog}/`);
      const { sessionId } = await whoami(visitor, blog);
      visitor.cookies(blog).set('shared-session.voucher', await sealer.seal(Purpose.voucher, { src: shop, dst: blog, iat: Date.now(), sid: sessionId }));
      const page = await visitor.fetch(`${blog}/`, { headers: NAVIGATION_HEADERS });
      assert.equal(page.status, 200);
      const spent = page.setCookies.find((cookie) => cookie.name === 'shared-session.voucher');
      assert.ok(spent && spent.maxAge === 0, 'the voucher is deleted');
      assert.equal(visitor.cookies(blog).has('shared-session.voucher'), false);
    });

    it('a page that sets the link cookie is never cached for another visitor', async () => {
      const visitor = new Client();
      const steps = await visitor.navigate(`${blog}/`);
      const setting = steps.filter((step) => step.setCookies.some((cookie) => cookie.name.endsWith('shared-session.link')));
      assert.ok(setting.length > 0);
      for (const step of setting) assert.match(String(step.headers['cache-control']), /no-store/);
      // The page after a change here (a new session's epoch) sets it too.
      assert.equal((await visitor.post(`${blog}/cart`, { item: 'tea' })).status, 303);
      const page = await visitor.fetch(`${blog}/`, { headers: NAVIGATION_HEADERS });
      assert.ok(page.setCookies.some((cookie) => cookie.name.endsWith('shared-session.link')));
      assert.equal(page.headers['cache-control'], 'private, no-store');
      assert.match(String(page.headers.vary), /Cookie/i);
    });
  });
});

describe('attacks on the health check', () => {
  let dir: string;
  let probe: Server;
  let hits = 0;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shared-session-attacks-'));
    probe = createServer((_req, res) => {
      hits++;
      res.statusCode = 204;
      res.end();
    });
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    probe.closeAllConnections();
    await new Promise((resolve) => probe.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('6. a forged hop state cookie does not make every request check the hub', async () => {
    const address = probe.address() as { port: number };
    const store = new SqliteStore({ path: join(dir, 'sessions.sqlite') });
    const origins = [`http://hub.localhost:${await freePort()}`, `http://site.localhost:${await freePort()}`];
    const site = await startExpressSite({ origin: origins[1]!, sites: origins, store, shared: { hubProbe: `http://127.0.0.1:${address.port}/health` } });
    try {
      const before = hits;
      for (let i = 0; i < 40; i++) {
        // Alternating: a page load claiming a hop in flight (which doubts the hub), and one that would hop.
        const forged = i % 2 === 0 ? { cookie: 'shared-session.hop.abcdefgh=forged' } : {};
        await new Client().fetch(`${origins[1]}/`, { headers: { ...NAVIGATION_HEADERS, ...forged } });
      }
      assert.ok(hits - before <= 2, `${hits - before} health checks for 40 page loads (protocol 1: 20)`);
    } finally {
      await site.close();
      store.close();
    }
  });
});

/**
 * The findings of an attack on protocol 2 itself (a review of this code, replayed as it
 * was found): each of these failed before its fix.
 */
describe('attacks on protocol 2', () => {
  let demo: DemoSites<'shop' | 'blog' | 'news'>;
  let shop: string;
  let blog: string;
  let news: string;
  before(async () => {
    demo = await startDemoSites(['shop', 'blog', 'news']);
    [shop, blog, news] = demo.sites as [string, string, string];
  });
  after(() => demo.stop());
  const user = async (client: Client, origin: string) => (await whoami(client, origin)).user;

  it('two changes at the same moment on two sites in one epoch: the first ends it, the other follows; one session afterwards', async () => {
    const browser = new Client();
    for (const origin of [shop, blog, shop, blog]) await browser.navigate(`${origin}/`);
    assert.equal((await browser.post(`${shop}/cart`, { item: 'tea' })).status, 303);
    assert.equal((await browser.post(`${blog}/login`, { username: 'alice', password: 'alice-password' })).status, 303);
    // An outside transaction holds SQLite's write lock while both page loads run: both read
    // the epoch as current (WAL lets reads through), then both write, one after the other.
    const db = new DatabaseSync(demo.storePath);
    try {
      db.exec('BEGIN IMMEDIATE');
      const both = Promise.all([browser.navigate(`${shop}/`), browser.navigate(`${blog}/`)]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      db.exec('COMMIT');
      await both;
    } finally {
      db.close();
    }
    for (const origin of [shop, blog, shop, blog]) await browser.navigate(`${origin}/`);
    assert.equal((await whoami(browser, shop)).sessionId, (await whoami(browser, blog)).sessionId, 'one session on both sites');
    // …and the two sites still follow each other.
    await logoutOn(browser, blog);
    await browser.navigate(`${shop}/`);
    assert.equal(await user(browser, shop), null);
    await loginOn(browser, shop, 'bob');
    await browser.navigate(`${blog}/`);
    assert.equal(await user(browser, blog), 'bob');
  });

  it('a login in a tab opened before a change elsewhere wins over that change', async () => {
    const browser = new Client();
    await browser.navigate(`${shop}/`);
    await browser.navigate(`${blog}/`); // a tab on blog, anonymous
    assert.equal((await browser.post(`${shop}/cart`, { item: 'tea' })).status, 303);
    await browser.navigate(`${shop}/`); // another tab: a first cart on shop, a new epoch
    // Back in blog's tab, without a reload: the visitor logs in.
    assert.equal((await browser.post(`${blog}/login`, { username: 'alice', password: 'alice-password' })).status, 303);
    await browser.navigate(`${blog}/`);
    assert.equal(await user(browser, blog), 'alice');
    await browser.navigate(`${shop}/`);
    assert.equal(await user(browser, shop), 'alice');
  });

  it('a site whose session cookie expired but not its link cookie sends the question on: a site visited next gets the login', async () => {
    const browser = new Client();
    await loginOn(browser, shop, 'alice');
    await browser.navigate(`${blog}/`);
    browser.cookies(shop).delete('shop.sid'); // only the hub's session cookie expired
    await browser.navigate(`${news}/`);
    assert.equal(await user(browser, news), 'alice');
  });

  it('a link cookie copied into another site’s jar is not that site’s: the copy ends nothing of the victim’s', async () => {
    const victim = new Client();
    await loginOn(victim, shop, 'alice');
    await victim.navigate(`${blog}/`);
    const link = victim.cookies(blog).get('shared-session.link')!;
    for (let round = 0; round < 2; round++) {
      const thief = new Client();
      thief.cookies(news).set('shared-session.link', link);
      assert.equal((await thief.post(`${news}/cart`, { item: `junk${round}` })).status, 303);
      await thief.navigate(`${news}/`);
      // The victim's pages take no detour at all, and stay logged in.
      assert.equal((await victim.navigate(`${shop}/`)).length, 1);
      assert.equal((await victim.navigate(`${blog}/`)).length, 1);
      assert.equal(await user(victim, blog), 'alice');
    }
  });
});
