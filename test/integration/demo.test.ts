/**
 * The demo app itself, over HTTP against real demo processes: the three sites of
 * `npm run demo`, each on its own framework (shop on Express, blog on Fastify, news on
 * Hono) over one SQLite store. Each framework answers bad requests, foreign posts and
 * failed logins the same way, writes nothing to the store or the log for them, and the
 * three share one login, one cart and one logout.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEMO_FRAMEWORKS } from '../../demo/page.ts';
import { loginOn, logoutOn, whoami } from '../helpers/demo-client.ts';
import { Client, type Response } from '../helpers/http.ts';
import { freePort } from '../helpers/ports.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { sessionRows, startMixedDemo, startSite, waitForLine, type MixedDemo, type SiteProcess } from '../helpers/sites.ts';

const NAMES = ['shop', 'blog', 'news'] as const;
type Name = (typeof NAMES)[number];

describe('the demo app on each framework', () => {
  let demo: MixedDemo;

  before(async () => {
    demo = await startMixedDemo();
  });
  after(() => demo.stop());

  for (const name of NAMES) {
    const framework = DEMO_FRAMEWORKS[name];
    describe(`${name} on ${framework}`, () => {
      const origin = (): string => demo[name].origin;

      /**
       * Everything the site logged while `run` ran. A refused script push logs a line of its
       * own after them, and output arrives in order: once that line is in, so is the rest.
       */
      async function loggedDuring<T>(run: () => Promise<T>): Promise<{ result: T; logged: string[] }> {
        const site = demo[name];
        const from = site.output.length;
        const result = await run();
        await new Client().fetch(`${origin()}/shared-session/not-a-token.js`);
        const barrier = await waitForLine(site, (line) => line.includes('refused GET push'), from);
        const lines = site.output.slice(from);
        return { result, logged: lines.slice(0, lines.indexOf(barrier)) };
      }

      it(`says on its page that ${framework} serves it`, async () => {
        const page = (await new Client().navigate(`${origin()}/`)).at(-1)!;
        assert.equal(page.status, 200);
        assert.match(page.body, new RegExp(`<h1 id="site">${name}</h1>`));
        assert.match(page.body, new RegExp(`<code id="framework">${framework}</code>`));
      });

      describe('bad requests answer their own 4xx status, a short text, no store write and no log line', () => {
        const cases: [string, number, string, () => Promise<Response>][] = [
          ['a bad percent escape in the path', 400, 'Bad Request\n', () => new Client().fetch(`${origin()}/%c0`)],
          ['a bad percent escape in a form post path', 400, 'Bad Request\n', () => new Client().post(`${origin()}/cart/%c0`, { item: 'tea' })],
          ['a form over the 2 KB limit', 413, 'Payload Too Large\n', () => new Client().post(`${origin()}/cart`, { item: 'x'.repeat(3000) })],
          [
            'a form in an unknown charset',
            415,
            'Unsupported Media Type\n',
            () => new Client().post(`${origin()}/cart`, { item: 'tea' }, { 'content-type': 'application/x-www-form-urlencoded; charset=x-unknown' }),
          ],
          ['an empty cart item', 400, 'an item is 1 to 60 characters\n', () => new Client().post(`${origin()}/cart`, { item: '  ' })],
          ['a cart item of 61 characters', 400, 'an item is 1 to 60 characters\n', () => new Client().post(`${origin()}/cart`, { item: 'y'.repeat(61) })],
          ['a cart post without an item', 400, 'an item is 1 to 60 characters\n', () => new Client().post(`${origin()}/cart`, {})],
        ];
        for (const [label, status, body, send] of cases) {
          it(label, async () => {
            const rows = sessionRows(demo.storePath);
            const { result: response, logged } = await loggedDuring(send);
            assert.equal(response.status, status);
            assert.equal(response.body, body);
            assert.ok(!response.setCookies.some((cookie) => cookie.name === `${name}.sid`), 'no session cookie');
            assert.deepEqual(logged, [], 'nothing logged');
            assert.equal(sessionRows(demo.storePath), rows, 'nothing written to the store');
          });
        }
      });

      describe('a form post from elsewhere is refused with 403, before it logs anyone in or fills a cart', () => {
        const senders: [string, Record<string, string>][] = [
          ['another demo site', { origin: 'OTHER' }],
          ['an unrelated site', { origin: 'http://evil.localhost:9' }],
          ['no Origin header at all', { origin: '' }],
          ['the opaque origin "null"', { origin: 'null' }],
        ];
        for (const [label, headers] of senders) {
          for (const path of ['/login', '/cart', '/logout']) {
            it(`${path} from ${label}`, async () => {
              const other = demo.sites.find((site) => site !== origin())!;
              const from = headers.origin === 'OTHER' ? { origin: other } : headers.origin === '' ? {} : headers;
              const visitor = new Client();
              const rows = sessionRows(demo.storePath);
              const response = await visitor.fetch(`${origin()}${path}`, {
                method: 'POST',
                body: new URLSearchParams({ username: 'alice', password: 'alice-password', item: 'forged' }).toString(),
                headers: { 'content-type': 'application/x-www-form-urlencoded', ...from },
              });
              assert.equal(response.status, 403);
              assert.equal(response.body, 'cross-site form post refused\n');
              assert.ok(!response.setCookies.some((cookie) => cookie.name === `${name}.sid`), 'no session cookie');
              assert.equal(sessionRows(demo.storePath), rows, 'nothing written to the store');
              assert.deepEqual(await whoami(visitor, origin()), { user: null, sessionId: null, cart: [] });
            });
          }
        }
      });

      describe('a failed login', () => {
        const failedLogin = (client: Client): Promise<Response> => client.post(`${origin()}/login`, { username: 'alice', password: 'wrong' });

        it('writes no session: the store’s session table is unchanged, and no session cookie is set', async () => {
          const bot = new Client();
          const rows = sessionRows(demo.storePath);
          for (const form of [{ username: 'alice', password: 'wrong' }, { username: 'mallory', password: 'x' }, { username: 'alice' }, { password: 'alice-password' }]) {
            const response = await bot.post(`${origin()}/login`, form);
            assert.equal(response.status, 303);
            assert.equal(response.headers.location, '/?login=failed');
            assert.ok(!response.setCookies.some((cookie) => cookie.name === `${name}.sid`), 'no session cookie');
          }
          await bot.navigate(`${origin()}/?login=failed`);
          assert.equal(sessionRows(demo.storePath), rows);
        });

        it('shows the message on the page it leads to, with the login form', async () => {
          const visitor = new Client();
          const steps = await visitor.navigate(new URL((await failedLogin(visitor)).headers.location!, origin()).href);
          const page = steps.at(-1)!;
          assert.equal(page.status, 200);
          assert.match(page.body, /<p class="message" id="message">Wrong user name or password\.<\/p>/);
          assert.match(page.body, /<form method="post" action="\/login" id="login-form">/);
          // Without the query, no message.
          assert.doesNotMatch((await visitor.navigate(`${origin()}/`)).at(-1)!.body, /id="message"/);
        });

        it('never puts the query into the page', async () => {
          const page = (await new Client().navigate(`${origin()}/?login=%3Cscript%3Ealert(1)%3C%2Fscript%3E`)).at(-1)!;
          assert.equal(page.status, 200);
          assert.doesNotMatch(page.body, /id="message"|alert\(1\)/);
        });

        it('leaves a successful login working: a session, the user, no message', async () => {
          const visitor = new Client();
          await failedLogin(visitor);
          const rows = sessionRows(demo.storePath);
          const login = await visitor.post(`${origin()}/login`, { username: 'alice', password: 'alice-password' });
          assert.equal(login.status, 303);
          assert.equal(login.headers.location, '/');
          assert.notEqual(sessionRows(demo.storePath), rows, 'the login wrote a session');
          const page = (await visitor.navigate(`${origin()}/?login=failed`)).at(-1)!;
          assert.match(page.body, /<strong id="user">alice<\/strong>/);
          assert.doesNotMatch(page.body, /id="message"/, 'no failure message once logged in');
        });
      });

      it('gives a new session id at login and keeps the anonymous cart (session fixation)', async () => {
        const visitor = new Client();
        await visitor.navigate(`${origin()}/`);
        assert.equal((await visitor.post(`${origin()}/cart`, { item: ' tea ' })).status, 303);
        const anonymous = await whoami(visitor, origin());
        assert.equal(anonymous.user, null);
        assert.deepEqual(anonymous.cart, ['tea']);
        assert.ok(anonymous.sessionId);
        await loginOn(visitor, origin(), 'bob');
        const loggedIn = await whoami(visitor, origin());
        assert.equal(loggedIn.user, 'bob');
        assert.deepEqual(loggedIn.cart, ['tea']);
        assert.notEqual(loggedIn.sessionId, anonymous.sessionId);
      });

      it('refuses a 21st cart item with 409 and keeps the 20', async () => {
        const visitor = new Client();
        for (let i = 0; i < 20; i++) assert.equal((await visitor.post(`${origin()}/cart`, { item: `item ${i}` })).status, 303);
        const response = await visitor.post(`${origin()}/cart`, { item: 'one too many' });
        assert.equal(response.status, 409);
        assert.equal(response.body, 'the cart is full\n');
        assert.equal((await whoami(visitor, origin())).cart.length, 20);
      });
    });
  }
});

describe('three demo sites on three frameworks over one store', () => {
  let demo: MixedDemo;

  before(async () => {
    demo = await startMixedDemo();
  });
  after(() => demo.stop());

  const others = (name: Name): Name[] => NAMES.filter((other) => other !== name);

  it('serves each site on its own origin, every page linking to the two others', async () => {
    assert.deepEqual(
      demo.sites.map((origin) => new URL(origin).hostname),
      ['shop.localhost', 'blog.localhost', 'news.localhost'],
    );
    for (const name of NAMES) {
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

  for (const name of NAMES) {
    it(`shares a login and a cart made on ${name} (${DEMO_FRAMEWORKS[name]}) with the two other sites`, async () => {
      const visitor = new Client();
      await visitor.navigate(`${demo[name].origin}/`);
      assert.equal((await visitor.post(`${demo[name].origin}/cart`, { item: `${name} mug` })).status, 303);
      await loginOn(visitor, demo[name].origin, 'bob');
      const here = await whoami(visitor, demo[name].origin);
      assert.equal(here.user, 'bob');
      assert.deepEqual(here.cart, [`${name} mug`]);
      assert.ok(here.sessionId);
      for (const other of others(name)) {
        await visitor.navigate(`${demo[other].origin}/`);
        assert.deepEqual(await whoami(visitor, demo[other].origin), here, `${other} sees ${name}'s session`);
      }
      // A cart item added on the last site shows on the first one: one session, not copies.
      const last = others(name).at(-1)!;
      assert.equal((await visitor.post(`${demo[last].origin}/cart`, { item: `${last} pen` })).status, 303);
      for (const site of NAMES) {
        await visitor.navigate(`${demo[site].origin}/`);
        assert.deepEqual((await whoami(visitor, demo[site].origin)).cart, [`${name} mug`, `${last} pen`], site);
      }
    });

    it(`ends the session on all three sites at a logout on ${name} (${DEMO_FRAMEWORKS[name]})`, async () => {
      const visitor = new Client();
      const bystander = new Client();
      // Log in on the hub, then on the site that will log out if it is another: the session
      // is then known on all three before the logout.
      await loginOn(visitor, demo.shop.origin, 'alice');
      for (const site of others('shop')) await visitor.navigate(`${demo[site].origin}/`);
      await loginOn(bystander, demo.shop.origin, 'bob');
      const before = await whoami(visitor, demo.shop.origin);
      for (const site of NAMES) assert.equal((await whoami(visitor, demo[site].origin)).user, 'alice', `logged in on ${site}`);
      assert.ok(sessionRows(demo.storePath).includes(`"sid":"${before.sessionId}"`), 'the session is in the store before the logout');
      await logoutOn(visitor, demo[name].origin);
      for (const site of NAMES) {
        await visitor.navigate(`${demo[site].origin}/`);
        assert.deepEqual(await whoami(visitor, demo[site].origin), { user: null, sessionId: null, cart: [] }, `logged out on ${site}`);
      }
      assert.ok(!sessionRows(demo.storePath).includes(`"sid":"${before.sessionId}"`), 'the session is gone from the store');
      // Another visitor's session is untouched.
      assert.equal((await whoami(bystander, demo.shop.origin)).user, 'bob');
    });
  }
});

describe('the three frameworks on the demo’s Redis stores', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis.stop());

  for (const kind of ['RedisStore', 'connect-redis'] as const) {
    describe(kind, () => {
      const sites = new Map<Name, SiteProcess>();
      before(async () => {
        const ports = new Set<number>();
        while (ports.size < NAMES.length) ports.add(await freePort());
        const origins = [...ports].map((port, index) => `http://${NAMES[index]}.localhost:${port}`);
        const spec = kind === 'RedisStore' ? redis.url : `connect-redis+${redis.url}`;
        for (const [index, name] of NAMES.entries()) {
          sites.set(name, await startSite(origins[index] as string, origins, spec, {}, ['--framework', DEMO_FRAMEWORKS[name]]));
        }
      });
      after(() => Promise.all([...sites.values()].map((site) => site.stop())));
      const origin = (name: Name): string => sites.get(name)!.origin;

      it('shares a login made on news (hono) with shop and blog, and a logout on blog ends it on all three', async () => {
        const visitor = new Client();
        await loginOn(visitor, origin('news'), 'alice');
        const onNews = await whoami(visitor, origin('news'));
        assert.equal(onNews.user, 'alice');
        for (const name of ['shop', 'blog'] as const) {
          await visitor.navigate(`${origin(name)}/`);
          assert.deepEqual(await whoami(visitor, origin(name)), onNews, name);
        }
        await logoutOn(visitor, origin('blog'));
        for (const name of NAMES) {
          await visitor.navigate(`${origin(name)}/`);
          assert.equal((await whoami(visitor, origin(name))).user, null, name);
        }
      });
    });
  }

  it('answers 503 with Retry-After on every framework when the store is down, and logs no stack', async () => {
    const ports = new Set<number>();
    while (ports.size < NAMES.length) ports.add(await freePort());
    const origins = [...ports].map((port, index) => `http://${NAMES[index]}.localhost:${port}`);
    const sites: SiteProcess[] = [];
    try {
      for (const [index, name] of NAMES.entries()) sites.push(await startSite(origins[index] as string, origins, redis.url, {}, ['--framework', DEMO_FRAMEWORKS[name]]));
      const visitors = await Promise.all(
        NAMES.map(async (name, index) => {
          const visitor = new Client();
          await loginOn(visitor, origins[index] as string, 'bob');
          assert.equal((await whoami(visitor, origins[index] as string)).user, 'bob', name);
          return visitor;
        }),
      );
      await redis.kill('SIGKILL');
      try {
        for (const [index, name] of NAMES.entries()) {
          const site = sites[index] as SiteProcess;
          const from = site.output.length;
          const page = await visitors[index]!.fetch(`${origins[index]}/`);
          assert.equal(page.status, 503, `${name}: ${page.body}`);
          assert.equal(page.headers['retry-after'], '5', name);
          assert.equal(page.body, 'the session store is unavailable; try again shortly\n', name);
          const logged = site.output.slice(from).join('\n');
          assert.doesNotMatch(logged, /\n\s+at /, `${name} logged no stack trace`);
        }
      } finally {
        await redis.start();
      }
    } finally {
      await Promise.all(sites.map((site) => site.stop()));
    }
  });
});
