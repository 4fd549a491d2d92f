/**
 * The demo app itself, over HTTP against real demo processes: what it answers to bad
 * requests and to failed logins, and what it writes to the store and the log for them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, type Response } from '../helpers/http.ts';
import { sessionRows, startDemoPair, startDemoSites, waitForLine, type DemoPair, type DemoSites } from '../helpers/sites.ts';

describe('the demo app', () => {
  let pair: DemoPair;
  let shop: string;

  before(async () => {
    pair = await startDemoPair();
    shop = pair.shop.origin;
  });
  after(() => pair.stop());

  /**
   * Everything shop logged while `run` ran. A refused script push logs a line of its own
   * after them, and output arrives in order: once that line is in, so is the rest.
   */
  async function loggedDuring<T>(run: () => Promise<T>): Promise<{ result: T; logged: string[] }> {
    const from = pair.shop.output.length;
    const result = await run();
    await new Client().fetch(`${shop}/shared-session/not-a-token.js`);
    const barrier = await waitForLine(pair.shop, (line) => line.includes('refused GET push'), from);
    const lines = pair.shop.output.slice(from);
    return { result, logged: lines.slice(0, lines.indexOf(barrier)) };
  }

  describe('bad requests answer their own 4xx status, a short text and no stack trace in the log', () => {
    const cases: [string, number, string, () => Promise<Response>][] = [
      ['a bad percent escape in the path', 400, 'Bad Request\n', () => new Client().fetch(`${shop}/%c0`)],
      ['a bad percent escape in a form post path', 400, 'Bad Request\n', () => new Client().post(`${shop}/cart/%c0`, { item: 'tea' })],
      ['a form over the 2 KB limit', 413, 'Payload Too Large\n', () => new Client().post(`${shop}/cart`, { item: 'x'.repeat(3000) })],
      [
        'a form in an unknown charset',
        415,
        'Unsupported Media Type\n',
        () => new Client().post(`${shop}/cart`, { item: 'tea' }, { 'content-type': 'application/x-www-form-urlencoded; charset=x-unknown' }),
      ],
    ];
    for (const [label, status, body, send] of cases) {
      it(label, async () => {
        const { result: response, logged } = await loggedDuring(send);
        assert.equal(response.status, status);
        assert.equal(response.body, body);
        assert.deepEqual(logged, [], 'nothing logged');
      });
    }
  });

  describe('a failed login', () => {
    const failedLogin = (client: Client): Promise<Response> => client.post(`${shop}/login`, { username: 'alice', password: 'wrong' });

    it('writes no session: the store’s session table is unchanged, and no session cookie is set', async () => {
      const bot = new Client();
      const before = sessionRows(pair.storePath);
      for (let i = 0; i < 3; i++) {
        const response = await failedLogin(bot);
        assert.equal(response.status, 303);
        assert.equal(response.headers.location, '/?login=failed');
        assert.ok(!response.setCookies.some((cookie) => cookie.name === 'shop.sid'), 'no session cookie');
      }
      await bot.navigate(`${shop}/?login=failed`);
      assert.equal(sessionRows(pair.storePath), before);
    });

    it('shows the message on the page it leads to, with the login form', async () => {
      const visitor = new Client();
      const steps = await visitor.navigate(new URL((await failedLogin(visitor)).headers.location!, shop).href);
      const page = steps.at(-1)!;
      assert.equal(page.status, 200);
      assert.match(page.body, /<p class="message" id="message">Wrong user name or password\.<\/p>/);
      assert.match(page.body, /<form method="post" action="\/login" id="login-form">/);
      // Without the query, no message.
      assert.doesNotMatch((await visitor.navigate(`${shop}/`)).at(-1)!.body, /id="message"/);
    });

    it('never puts the query into the page', async () => {
      const page = (await new Client().navigate(`${shop}/?login=%3Cscript%3Ealert(1)%3C%2Fscript%3E`)).at(-1)!;
      assert.equal(page.status, 200);
      assert.doesNotMatch(page.body, /id="message"|alert\(1\)/);
    });

    it('leaves a successful login working: a session, the user, no message', async () => {
      const visitor = new Client();
      await failedLogin(visitor);
      const before = sessionRows(pair.storePath);
      const login = await visitor.post(`${shop}/login`, { username: 'alice', password: 'alice-password' });
      assert.equal(login.status, 303);
      assert.equal(login.headers.location, '/');
      assert.notEqual(sessionRows(pair.storePath), before, 'the login wrote a session');
      const page = (await visitor.navigate(`${shop}/?login=failed`)).at(-1)!;
      assert.match(page.body, /<strong id="user">alice<\/strong>/);
      assert.doesNotMatch(page.body, /id="message"/, 'no failure message once logged in');
    });
  });
});

describe('three demo sites over one store', () => {
  let demo: DemoSites<'shop' | 'blog' | 'news'>;

  before(async () => {
    demo = await startDemoSites(['shop', 'blog', 'news']);
  });
  after(() => demo.stop());

  it('serves each site on its own origin, every page linking to the two others', async () => {
    assert.deepEqual(
      demo.sites.map((origin) => new URL(origin).hostname),
      ['shop.localhost', 'blog.localhost', 'news.localhost'],
    );
    for (const name of ['shop', 'blog', 'news'] as const) {
      const page = (await new Client().navigate(`${demo[name].origin}/`)).at(-1)!;
      assert.equal(page.status, 200);
      assert.match(page.body, new RegExp(`<h1 id="site">${name}</h1>`));
      const links = [...page.body.matchAll(/<a class="other" id="to-(\w+)" href="([^"]+)\/">/g)].map(([, to, href]) => [to, href]);
      assert.deepEqual(
        links,
        demo.sites.filter((origin) => origin !== demo[name].origin).map((origin) => [new URL(origin).hostname.split('.')[0], origin]),
      );
    }
  });

  it('shares a login on the hub with both other sites', async () => {
    const visitor = new Client();
    assert.equal((await visitor.post(`${demo.shop.origin}/login`, { username: 'bob', password: 'bob-password' })).status, 303);
    // The browser follows the login's redirect: the page load that links the new session.
    await visitor.navigate(`${demo.shop.origin}/`);
    const whoami = async (origin: string): Promise<[string | null, string | null]> => {
      const { user, sessionId } = JSON.parse((await visitor.fetch(`${origin}/whoami`)).body) as { user: string | null; sessionId: string | null };
      return [user, sessionId];
    };
    const onShop = await whoami(demo.shop.origin);
    assert.equal(onShop[0], 'bob');
    for (const site of [demo.blog, demo.news]) {
      await visitor.navigate(`${site.origin}/`);
      assert.deepEqual(await whoami(site.origin), onShop, site.origin);
    }
  });
});
