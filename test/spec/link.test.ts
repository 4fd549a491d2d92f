/**
 * The link between a browser and its session on every adapter and every pair: a site
 * follows the browser's session when it changes on another site, and copies of a browser's
 * cookies (a thief's, a shared computer's) follow none of its later logins. The attacks of
 * test/integration/attacks.test.ts that go through the public routes, replayed as the
 * attacker would.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Client, NAVIGATION_HEADERS } from '../helpers/http.ts';
import { describeMatrix } from './adapters.ts';
import { HOP, add, copyOf, login, logout, paths, whoami } from './browser.ts';

const LINK = 'shared-session.link';

describeMatrix('link', (ctx) => {
  const user = async (client: Client, origin: string): Promise<string | null> => (await whoami(client, origin)).user;

  it('follows a change of the browser’s session made on the other site, each way', async () => {
    const { a, b } = ctx;
    const browser = new Client();
    for (const origin of [a.origin, b.origin, a.origin, b.origin]) await browser.navigate(`${origin}/`);
    await login(browser, b.origin, 'alice');
    assert.deepEqual(paths(await browser.navigate(`${a.origin}/`)), HOP, 'A asks once');
    assert.equal(await user(browser, a.origin), 'alice');
    await logout(browser, a.origin);
    await login(browser, a.origin, 'bob');
    await browser.navigate(`${b.origin}/`);
    assert.equal(await user(browser, b.origin), 'bob');
    assert.equal((await whoami(browser, b.origin)).id, (await whoami(browser, a.origin)).id);
  });

  it('keeps a site’s own older session apart from the browser’s, and follows once the browser’s session moves', async () => {
    const { a, b } = ctx;
    const browser = new Client();
    await login(browser, a.origin, 'alice');
    const linked = await whoami(browser, a.origin);
    // B's cookies were cleared; B gets a session of its own before any page load.
    browser.cookies(b.origin).clear();
    await add(browser, b.origin, 'sencha');
    const own = await whoami(browser, b.origin);
    await browser.navigate(`${b.origin}/`);
    assert.deepEqual(await whoami(browser, b.origin), own, 'B keeps its own non-empty session');
    assert.deepEqual(await whoami(browser, a.origin), linked);
    await logout(browser, a.origin);
    await login(browser, a.origin, 'bob');
    await browser.navigate(`${b.origin}/`);
    assert.equal(await user(browser, b.origin), 'bob');
  });

  it('a copy of B’s cookies taken while anonymous stays anonymous through the next person’s login, logout and login', async () => {
    const { a, b } = ctx;
    const computer = new Client();
    await computer.navigate(`${b.origin}/`);
    const copy = copyOf(computer, [b.origin]);
    await login(computer, a.origin, 'alice');
    await computer.navigate(`${b.origin}/`);
    assert.equal(await user(computer, b.origin), 'alice');
    await copy.navigate(`${b.origin}/`);
    assert.equal(await user(copy, b.origin), null);
    await logout(computer, a.origin);
    await login(computer, a.origin, 'bob');
    await computer.navigate(`${b.origin}/`);
    assert.equal(await user(computer, b.origin), 'bob');
    await copy.navigate(`${b.origin}/`);
    await copy.navigate(`${a.origin}/`);
    assert.equal(await user(copy, b.origin), null);
    assert.equal(await user(copy, a.origin), null);
    assert.equal(await user(computer, b.origin), 'bob', 'the copy did not disturb the real browser');
  });

  it('a copy of every cookie taken before a login never gets it; one taken before a logout gets nothing after it', async () => {
    const { a, b } = ctx;
    const computer = new Client();
    await computer.navigate(`${a.origin}/`);
    await computer.navigate(`${b.origin}/`);
    const beforeLogin = copyOf(computer, [a.origin, b.origin]);
    await login(computer, b.origin, 'alice');
    await computer.navigate(`${a.origin}/`);
    assert.equal(await user(computer, a.origin), 'alice');
    for (const origin of [b.origin, a.origin, b.origin]) await beforeLogin.navigate(`${origin}/`);
    assert.equal(await user(beforeLogin, a.origin), null);
    assert.equal(await user(beforeLogin, b.origin), null);

    // A copy taken while logged in is that session (as any copy of a session cookie is) until the logout…
    const beforeLogout = copyOf(computer, [a.origin, b.origin]);
    assert.equal(await user(beforeLogout, b.origin), 'alice');
    await logout(computer, a.origin);
    await login(computer, a.origin, 'bob');
    // …and nothing after it.
    for (const origin of [b.origin, a.origin, b.origin]) await beforeLogout.navigate(`${origin}/`);
    assert.equal(await user(beforeLogout, a.origin), null);
    assert.equal(await user(beforeLogout, b.origin), null);
  });

  it('a copied link cookie cannot log its victim out, nor follow the victim’s next login', async () => {
    const { a, b } = ctx;
    const victim = new Client();
    await login(victim, a.origin, 'alice');
    await victim.navigate(`${b.origin}/`);
    const link = [...victim.cookies(b.origin)].find(([name]) => name.endsWith(LINK));
    assert.ok(link, 'B set a link cookie');
    // The thief takes B's link cookie only and logs in as himself on B with it.
    const thief = new Client();
    thief.cookies(b.origin).set(link[0], link[1]);
    await login(thief, b.origin, 'mallory');
    await thief.navigate(`${b.origin}/`);
    for (const origin of [a.origin, b.origin, a.origin, b.origin]) await victim.navigate(`${origin}/`);
    assert.equal(await user(victim, a.origin), 'alice');
    assert.equal(await user(victim, b.origin), 'alice');
    assert.equal((await whoami(victim, a.origin)).id, (await whoami(victim, b.origin)).id);
    await logout(victim, a.origin);
    await login(victim, a.origin, 'alice');
    await victim.navigate(`${b.origin}/`);
    assert.equal(await user(victim, b.origin), 'alice');
    for (const origin of [b.origin, a.origin]) await thief.navigate(`${origin}/`);
    assert.notEqual(await user(thief, a.origin), 'alice');
    assert.notEqual((await whoami(thief, b.origin)).id, (await whoami(victim, b.origin)).id);
    assert.equal((await victim.navigate(`${b.origin}/`)).length, 1, 'the real browser settles');
  });

  it('a link cookie of B copied into A’s jar ends nothing of the victim’s', async () => {
    const { a, b } = ctx;
    const victim = new Client();
    await login(victim, a.origin, 'alice');
    await victim.navigate(`${b.origin}/`);
    const link = [...victim.cookies(b.origin)].find(([name]) => name.endsWith(LINK))!;
    const thief = new Client();
    thief.cookies(a.origin).set(link[0], link[1]);
    await add(thief, a.origin, 'junk');
    await thief.navigate(`${a.origin}/`);
    assert.equal((await victim.navigate(`${a.origin}/`)).length, 1);
    assert.equal((await victim.navigate(`${b.origin}/`)).length, 1);
    assert.equal(await user(victim, b.origin), 'alice');
    assert.equal(await user(thief, a.origin), null);
  });

  it('a hop answer the victim’s site refused is used up: the attacker cannot complete it with his own state', async () => {
    const { a, b } = ctx;
    const victim = new Client();
    await login(victim, a.origin, 'alice');
    const attacker = new Client();
    const start = await attacker.fetch(`${b.origin}/`, { headers: NAVIGATION_HEADERS });
    assert.equal(start.status, 303);
    // The attacker sends the logged-in victim to his query: A answers for the victim, bound to the attacker's state.
    const answered = await victim.fetch(start.headers.location!, { headers: { ...NAVIGATION_HEADERS, 'sec-fetch-site': 'cross-site' } });
    assert.equal(answered.status, 303);
    const answerUrl = answered.headers.location!;
    const seen = b.events.length;
    const refused = await victim.fetch(answerUrl, { headers: NAVIGATION_HEADERS });
    assert.equal(refused.headers['shared-session-reason'], 'STATE_MISSING');
    assert.equal(refused.setCookies.filter((cookie) => !cookie.name.startsWith('shared-session.hop')).length, 0);
    const stolen = await attacker.fetch(answerUrl, { headers: NAVIGATION_HEADERS });
    assert.equal(stolen.status, 403);
    assert.equal(stolen.headers['shared-session-reason'], 'TOKEN_REFUSED');
    assert.equal(stolen.setCookies.length, 0);
    const rejected = b.events.slice(seen).flatMap((entry) => (entry.name === 'rejected' ? [[entry.event.mechanism, entry.event.reason]] : []));
    assert.deepEqual(rejected, [
      ['hop', 'STATE_MISSING'],
      ['hop', 'TOKEN_REPLAYED'],
    ]);
    await attacker.navigate(`${b.origin}/`);
    assert.equal(await user(attacker, b.origin), null);
  });

  it('a stale tab that writes after a new login does not undo it', async () => {
    const { a, b } = ctx;
    const browser = new Client();
    await login(browser, a.origin, 'alice');
    await browser.navigate(`${b.origin}/`);
    assert.equal(await user(browser, b.origin), 'alice');
    await login(browser, a.origin, 'bob');
    // A tab still open on B writes: its cookie names alice's destroyed session, so B makes a new one.
    await add(browser, b.origin, 'stale');
    await browser.navigate(`${b.origin}/`);
    assert.equal(await user(browser, b.origin), 'bob');
    await browser.navigate(`${a.origin}/`);
    assert.equal(await user(browser, a.origin), 'bob');
  });

  it('two first pages of a new browser at once (two tabs) end in one epoch: a later login and logout reach both sites', async () => {
    const { a, b } = ctx;
    const browser = new Client();
    const crossSite = { ...NAVIGATION_HEADERS, 'sec-fetch-site': 'cross-site' };
    // Both tabs start before either hop came back; then both return.
    const toB = await browser.fetch(`${a.origin}/`, { headers: NAVIGATION_HEADERS });
    const toA = await browser.fetch(`${b.origin}/`, { headers: NAVIGATION_HEADERS });
    assert.deepEqual([toB.status, toA.status], [303, 303]);
    const answerOfB = await browser.fetch(toB.headers.location!, { headers: crossSite });
    const answerOfA = await browser.fetch(toA.headers.location!, { headers: crossSite });
    for (const [answered, origin] of [[answerOfB, a.origin], [answerOfA, b.origin]] as const) {
      assert.match(answered.headers.location!, /\/hop\/return\?a=/);
      const back = await browser.fetch(answered.headers.location!, { headers: crossSite });
      assert.equal(back.status, 303);
      await browser.navigate(new URL(back.headers.location!, origin).href);
    }
    await login(browser, a.origin, 'alice');
    await browser.navigate(`${b.origin}/`);
    assert.equal(await user(browser, b.origin), 'alice');
    await logout(browser, b.origin);
    await browser.navigate(`${a.origin}/`);
    assert.equal(await user(browser, a.origin), null);
  });

  it('a login in a tab opened before a change elsewhere wins over that change', async () => {
    const { a, b } = ctx;
    const browser = new Client();
    await browser.navigate(`${a.origin}/`);
    await browser.navigate(`${b.origin}/`);
    await add(browser, a.origin, 'tea');
    await browser.navigate(`${a.origin}/`);
    // Back in B's tab, without a reload: the visitor logs in.
    await login(browser, b.origin, 'alice');
    assert.equal(await user(browser, b.origin), 'alice');
    await browser.navigate(`${a.origin}/`);
    assert.equal(await user(browser, a.origin), 'alice');
  });

  it('keeps every page that sets the link cookie out of shared caches', async () => {
    const { b } = ctx;
    const browser = new Client();
    const steps = await browser.navigate(`${b.origin}/`);
    const setting = steps.filter((step) => step.setCookies.some((cookie) => cookie.name.endsWith(LINK)));
    assert.ok(setting.length > 0);
    for (const step of setting) assert.match(String(step.headers['cache-control']), /no-store/, step.url);
    await add(browser, b.origin, 'tea');
    const page = await browser.fetch(`${b.origin}/`, { headers: NAVIGATION_HEADERS });
    assert.ok(page.setCookies.some((cookie) => cookie.name.endsWith(LINK)), 'a new session’s first page sets it');
    assert.equal(page.headers['cache-control'], 'private, no-store');
    assert.match(String(page.headers.vary), /cookie/i);
  });
});
