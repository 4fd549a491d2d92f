import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { SqliteStore } from 'shared-session/sqlite';
import { scriptSources, startExpressSite, type ExpressSite } from './express-site.ts';
import { runBuild, startApp, type AppProcess } from './framework-app.ts';
import { Client, request, type Response } from './http.ts';
import { freePort } from './ports.ts';
import { craftPush, scriptLoad } from './push.ts';

/** A framework example of examples/ as the suite builds and runs it. */
export interface FrameworkExample {
  /** The framework's name, in test titles and messages. */
  name: string;
  /** The build, as arguments to this Node from the repository root. */
  build: readonly string[];
  /** The built server's entry, from the root. */
  entry: string;
  /** Arguments after the entry; `{port}` stands for the site's port. */
  args?: readonly string[];
  /** A line of the server's output that says it listens. */
  ready: RegExp;
  /** Environment the server needs besides the example's own (SITES, secrets, SESSION_DB, PORT…). */
  env?: (origin: string) => Record<string, string>;
}

/**
 * A framework example built and run as one site (its page at `/` shows the user in
 * `<output id="user">` and the cart in `<output id="cart">`, with the loader; form posts to
 * /cart, /login, /logout), an Express site beside it, both on one SQLite file: one visitor's
 * cart, login and logout cross between them both ways, and attacks on the example fail.
 */

interface Seen {
  user: string;
  cart: string;
}

/** What the example's page shows (its text, as a browser would render it). */
function shown(page: Response): Seen {
  const field = (id: string): string => new RegExp(`<output id="${id}">([^<]*)</output>`).exec(page.body)?.[1] ?? `(no #${id} in ${page.status} ${page.body.slice(0, 200)})`;
  return { user: field('user'), cart: field('cart') };
}

/** Who the Express site says the visitor is. */
async function me(visitor: Client, origin: string): Promise<{ user: string | null; cart: string[] }> {
  return JSON.parse((await visitor.fetch(`${origin}/me`)).body) as { user: string | null; cart: string[] };
}

/** The page a navigation ends on, after any hop. */
async function pageOf(visitor: Client, url: string): Promise<Response> {
  return (await visitor.navigate(url)).at(-1)!;
}

/** A page load as a browser does it: the navigation (any hop), then the loader's scripts, each a cross-site script load. */
async function browse(visitor: Client, url: string): Promise<Response> {
  const page = await pageOf(visitor, url);
  for (const src of scriptSources(page.body)) {
    const pushed = await visitor.fetch(src, { headers: scriptLoad(new URL(url).origin) });
    assert.equal(pushed.headers['shared-session-reason'], 'ACCEPTED', src);
  }
  return page;
}

export function frameworkSuite(example: FrameworkExample): void {
describe(`${example.name} example beside an Express site on one SQLite store`, () => {
  let dir: string;
  let store: SqliteStore;
  let express_: ExpressSite;
  let site: AppProcess;
  let x: string;
  let y: string;
  let warnings: string[] = [];
  const snapshot = async (): Promise<string> => JSON.stringify(await store.all());

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shared-session-framework-'));
    const took = await runBuild(example.build);
    console.log(`${example.name} build: ${took} ms`);
    x = `http://xexpress.localhost:${await freePort()}`;
    y = `http://yframework.localhost:${await freePort()}`;
    const storePath = join(dir, 'sessions.sqlite');
    store = new SqliteStore({ path: storePath });
    express_ = await startExpressSite({
      origin: x,
      sites: [x, y],
      store,
      routes: (app, shared) => {
        app.get('/me', (req, res) => void res.json({ user: req.session.user ?? null, cart: req.session.cart ?? [] }));
        app.get('/loader', async (req, res) => void res.type('html').send(`<main>page</main>${await shared.loader(req, res)}`));
        app.post('/login', express.urlencoded({ extended: false }), (req, res, next) => {
          const cart = req.session.cart;
          req.session.regenerate((error) => {
            if (error) return next(error);
            if (cart) req.session.cart = cart;
            const user = (req.body as { user?: unknown }).user;
            req.session.user = typeof user === 'string' ? user : 'anonymous';
            req.session.save((saveError) => (saveError ? next(saveError) : res.redirect(303, '/')));
          });
        });
        app.post('/logout', (req, res, next) => req.session.destroy((error) => (error ? next(error) : res.redirect(303, '/'))));
      },
    });
    site = await startApp({ entry: example.entry, args: (example.args ?? []).map((arg) => arg.replace('{port}', new URL(y).port)), origin: y, sites: [x, y], storePath, cookieName: 'yframework.sid', ready: example.ready, env: example.env?.(y) ?? {} });
    // A built site loads a route's code on its first request, which can take longer than the
    // one second Express waits for its check of the other site (it would then count the site
    // as down for ten seconds): warm both up before the visitor comes.
    assert.equal((await request(`${y}/shared-session/health`)).status, 204);
    assert.equal((await request(`${y}/`)).status, 200);
    warnings = [];
    express_.shared.on('warning', (event) => warnings.push(event.code));
  });

  after(async () => {
    assert.deepEqual(warnings, [], `Express never found the ${example.name} site down`);
    await site?.stop();
    await express_?.close();
    store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shares the cart, a login and a logout between Express and the example, both ways', async () => {
    const visitor = new Client();
    // A cart on Express reaches the example's page after a navigation (the hop: the example's first page load of this browser).
    await visitor.fetch(`${x}/add?item=tea`);
    await visitor.navigate(`${x}/plain`);
    const steps = await visitor.navigate(`${y}/`);
    assert.ok(steps.length > 1, `the first page load hops: ${steps.map((step) => `${step.status} ${step.url}`).join(' → ')}`);
    assert.deepEqual(shown(steps.at(-1)!), { user: 'nobody', cart: 'tea' }, 'the cart reaches the example');

    // Login on Express (a new id): the example follows after a navigation.
    assert.equal((await visitor.post(`${x}/login`, { user: 'ann' })).status, 303);
    await visitor.navigate(`${x}/`);
    assert.deepEqual(shown(await pageOf(visitor, `${y}/`)), { user: 'ann', cart: 'tea' }, 'the login reaches the example');

    // One session now: the example's cart route changes what Express sees at once, and the other way.
    assert.equal((await visitor.post(`${y}/cart`, { item: 'jam' })).status, 303);
    assert.deepEqual(await me(visitor, x), { user: 'ann', cart: ['tea', 'jam'] }, 'the cart change reaches Express');
    await visitor.fetch(`${x}/add?item=honey`);
    assert.deepEqual(shown(await pageOf(visitor, `${y}/`)), { user: 'ann', cart: 'tea,jam,honey' }, 'and back');

    // Logout on the example: Express follows after a navigation.
    assert.equal((await visitor.post(`${y}/logout`, {})).status, 303);
    assert.deepEqual(shown(await pageOf(visitor, `${y}/`)), { user: 'nobody', cart: '' });
    await visitor.navigate(`${x}/plain`);
    assert.deepEqual(await me(visitor, x), { user: null, cart: [] }, 'the logout reaches Express');

    // Login on the example, seen on Express; logout on Express, seen on the example.
    assert.equal((await visitor.post(`${y}/login`, { user: 'bob' })).status, 303);
    // A new session that Express never held: the example's page's loader pushes it (a browser runs its scripts).
    assert.equal(shown(await browse(visitor, `${y}/`)).user, 'bob');
    await visitor.navigate(`${x}/plain`);
    assert.equal((await me(visitor, x)).user, 'bob', 'the login on the example reaches Express');
    assert.equal((await visitor.post(`${x}/logout`, {})).status, 303);
    await visitor.navigate(`${x}/`);
    assert.deepEqual(shown(await pageOf(visitor, `${y}/`)), { user: 'nobody', cart: '' }, 'the logout on Express reaches the example');
  });

  it('renders the loader on the example page, kept out of shared caches, and its push is accepted by Express', async () => {
    const visitor = new Client();
    await visitor.navigate(`${x}/plain`); // Express knows this browser: the push's voucher can save it a hop
    await visitor.navigate(`${y}/`);
    assert.equal((await visitor.post(`${y}/cart`, { item: 'tea' })).status, 303);
    const page = await pageOf(visitor, `${y}/`);
    const sources = scriptSources(page.body);
    assert.deepEqual(sources.map((src) => new URL(src).origin), [x], 'one script, to the other site');
    assert.equal(page.headers['cache-control'], 'private, no-store');
    assert.match(String(page.headers.vary), /cookie/i);
    const pushed = await visitor.fetch(sources[0]!, { headers: scriptLoad(y) });
    assert.equal(pushed.headers['shared-session-reason'], 'ACCEPTED');
    await visitor.navigate(`${x}/plain`);
    assert.deepEqual((await me(visitor, x)).cart, ['tea'], 'Express adopted the session the example page pushed');
  });

  it('refuses a cross-site form post, forged and malformed tokens on the example site: no 500, no cookie, no store write', async () => {
    const visitor = new Client();
    await visitor.navigate(`${y}/`);
    assert.equal((await visitor.post(`${y}/cart`, { item: 'tea' })).status, 303);
    const before = await snapshot();
    // The framework's CSRF guard (Astro's checkOrigin, SvelteKit's csrf): a form on an attacker's page cannot log the visitor in or fill the cart.
    for (const path of ['/login', '/cart', '/logout']) {
      const forged = await visitor.post(`${y}${path}`, { user: 'mallory', item: 'bomb' }, { origin: 'https://evil.example' });
      assert.equal(forged.status, 403, path);
      assert.equal(forged.setCookies.length, 0, path);
    }
    const cases: [string, string, number, string][] = [
      ['a token for another site', await craftPush(x, 'http://other.localhost:1', 'some-session'), 403, 'WRONG_DESTINATION'],
      ['garbage', 'not$base64', 400, 'TOKEN_MALFORMED'],
      ['a huge token', 'A'.repeat(3000), 414, 'TOKEN_TOO_LONG'],
    ];
    for (const [label, token, status, reason] of cases) {
      const response = await visitor.fetch(`${y}/shared-session/${token}.js`, { headers: scriptLoad(x) });
      assert.equal(response.status, status, label);
      assert.equal(response.headers['shared-session-reason'], reason, label);
      assert.equal(response.setCookies.length, 0, label);
    }
    const hop = await visitor.fetch(`${y}/shared-session/hop?q=x`, { headers: { 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' } });
    assert.equal(hop.status, 403);
    assert.equal(hop.headers['shared-session-reason'], 'NOT_A_NAVIGATION');
    assert.equal(await snapshot(), before, 'nothing written');
    assert.equal(shown(await visitor.fetch(`${y}/`)).cart, 'tea', 'the visitor’s own session is untouched');
    assert.match(site.output.join(''), /shared-session refused a request: WRONG_DESTINATION/, 'the example logs refusals');
  });

  it('escapes a user name set on Express when the example page shows it', async () => {
    const visitor = new Client();
    const name = '<img src=x onerror=alert(1)>';
    await visitor.post(`${x}/login`, { user: name });
    await visitor.navigate(`${x}/`);
    const page = await pageOf(visitor, `${y}/`);
    assert.ok(!/<img/i.test(page.body), 'no markup from the session reaches the page');
    // Shown as text, escaped however the page escapes it (named or numeric references).
    const text = shown(page).user;
    const decoded = text
      .replace(/&#(\d+);/g, (_match, code: string) => String.fromCharCode(Number(code)))
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&amp;/g, '&');
    assert.notEqual(text, name);
    assert.equal(decoded, name);
  });
});
}
