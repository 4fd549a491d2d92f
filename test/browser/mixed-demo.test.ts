/**
 * The three sites of `npm run demo`, each on its own framework (shop on Express and the
 * hub, blog on Fastify, news on Hono) over one SQLite store, in real browsers: a login on
 * any one of them is found on the two others with its cart, and a logout on any one ends
 * the session on all three. In Chromium with third-party cookies blocked (this build's
 * default, as in Safari) and allowed, and in Firefox ESR with its Total Cookie Protection:
 * the top-level hop is what shares, so every setting must give the same result.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page as PuppeteerPage } from 'puppeteer-core';
import { DEMO_FRAMEWORKS } from '../../demo/page.ts';
import { launchChromium, launchFirefox, type ThirdPartyCookies } from '../helpers/browser.ts';
import { addToCart, login, shown, type Shown } from '../helpers/demo-page.ts';
import { startMixedDemo, type MixedDemo } from '../helpers/sites.ts';

const NAMES = ['shop', 'blog', 'news'] as const;
type Name = (typeof NAMES)[number];

/** The site after `name` in the demo's order, round: where the scenario logs out. */
const nextOf = (name: Name): Name => NAMES[(NAMES.indexOf(name) + 1) % NAMES.length] as Name;
const othersOf = (name: Name): Name[] => NAMES.filter((other) => other !== name);

/** What a browser does in the scenario, the same for Playwright (Chromium) and Puppeteer (Firefox). */
interface Driver {
  /** Open a site's home page (a typed URL) and read it once it has loaded, after any hop. */
  visit(origin: string): Promise<Shown & { url: string; framework: string }>;
  addToCart(origin: string, item: string): Promise<void>;
  login(origin: string, user: string): Promise<void>;
  /** Click "Log out" on the page open now. */
  logout(): Promise<void>;
}

/**
 * Log in on `name` with an anonymous cart, find the login and the cart on the two other
 * sites (same session id), add to the cart there and see it back home, then log out on
 * the next site and find every site logged out.
 */
async function scenario(demo: MixedDemo, name: Name, driver: Driver): Promise<void> {
  const origin = demo[name].origin;
  const user = name === 'blog' ? 'bob' : 'alice';
  await driver.addToCart(origin, `${name} tea`);
  await driver.login(origin, user);
  const home = await driver.visit(origin);
  assert.equal(home.framework, DEMO_FRAMEWORKS[name]);
  assert.equal(home.user, user);
  assert.deepEqual(home.cart, [`${name} tea`], 'the anonymous cart came along to the login');
  assert.match(home.sessionId, /^[\w-]{16,}$/);
  const { url: _url, framework: _framework, ...session } = home;

  for (const other of othersOf(name)) {
    const page = await driver.visit(demo[other].origin);
    assert.equal(page.url, `${demo[other].origin}/`, `back on ${other}'s page after the hop`);
    assert.equal(page.framework, DEMO_FRAMEWORKS[other], `${other} runs on ${DEMO_FRAMEWORKS[other]}`);
    assert.deepEqual({ user: page.user, sessionId: page.sessionId, cart: page.cart }, session, `${other} finds ${name}'s login and cart`);
  }

  // One session, not copies: what another site adds is in the cart back home.
  const far = othersOf(name).at(-1) as Name;
  await driver.addToCart(demo[far].origin, `${far} cup`);
  assert.deepEqual((await driver.visit(origin)).cart, [`${name} tea`, `${far} cup`]);

  // A logout on the next site ends the session everywhere.
  const leaving = nextOf(name);
  assert.equal((await driver.visit(demo[leaving].origin)).user, user);
  await driver.logout();
  for (const site of NAMES) {
    const page = await driver.visit(demo[site].origin);
    assert.deepEqual([page.user, page.sessionId, page.cart], ['anonymous', 'none', []], `logged out on ${site} after the logout on ${leaving}`);
  }
}

describe('the three-framework demo in headless Chromium', () => {
  let demo: MixedDemo;
  before(async () => {
    demo = await startMixedDemo();
  });
  after(() => demo.stop());

  for (const mode of ['blocked', 'allowed'] as const satisfies readonly ThirdPartyCookies[]) {
    describe(`third-party cookies ${mode}`, () => {
      for (const name of NAMES) {
        it(`log in on ${name} (${DEMO_FRAMEWORKS[name]}): found with the cart on ${othersOf(name).join(' and ')}; log out on ${nextOf(name)}: out on all three`, async () => {
          const browser = await launchChromium(mode);
          try {
            const page = await browser.context.newPage();
            const driver: Driver = {
              async visit(origin) {
                await page.goto(`${origin}/`);
                return { ...(await shown(page)), url: page.url(), framework: ((await page.textContent('#framework')) ?? '').trim() };
              },
              addToCart: (origin, item) => addToCart(page, origin, item),
              login: (origin, user) => login(page, origin, user),
              async logout() {
                const here = page.url();
                await Promise.all([page.waitForURL(here), page.click('#logout')]);
              },
            };
            await scenario(demo, name, driver);
          } finally {
            await browser.close();
          }
        });
      }
    });
  }
});

describe('the three-framework demo in Firefox ESR (WebDriver BiDi, Total Cookie Protection)', () => {
  let demo: MixedDemo;
  before(async () => {
    demo = await startMixedDemo();
  });
  after(() => demo.stop());

  const read = async (page: PuppeteerPage): Promise<Shown & { url: string; framework: string }> => ({
    user: (await page.$eval('#user', (element) => element.textContent ?? '')).trim(),
    sessionId: (await page.$eval('#session-id', (element) => element.textContent ?? '')).trim(),
    cart: (await page.$$eval('#cart li', (items) => items.map((item) => (item.textContent ?? '').trim()))).filter((text) => text !== 'empty'),
    url: page.url(),
    framework: (await page.$eval('#framework', (element) => element.textContent ?? '')).trim(),
  });

  for (const name of NAMES) {
    it(`log in on ${name} (${DEMO_FRAMEWORKS[name]}): found with the cart on ${othersOf(name).join(' and ')}; log out on ${nextOf(name)}: out on all three`, async () => {
      const firefox = await launchFirefox();
      try {
        const page = await firefox.browser.newPage();
        const submit = async (button: string): Promise<void> => {
          await Promise.all([page.waitForNavigation(), page.click(button)]);
        };
        const driver: Driver = {
          async visit(origin) {
            await page.goto(`${origin}/`);
            return read(page);
          },
          async addToCart(origin, item) {
            await page.goto(`${origin}/`);
            await page.type('input[name=item]', item);
            await submit('#add');
          },
          async login(origin, user) {
            await page.goto(`${origin}/`);
            await page.type('input[name=username]', user);
            await page.type('input[name=password]', `${user}-password`);
            await submit('#login');
            await page.waitForSelector('#logout');
          },
          logout: () => submit('#logout'),
        };
        await scenario(demo, name, driver);
      } finally {
        await firefox.close();
      }
    });
  }
});
