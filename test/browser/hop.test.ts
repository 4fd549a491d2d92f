import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { launchChromium, launchFirefox, type ThirdPartyCookies } from '../helpers/browser.ts';
import { addToCart, login, shown } from '../helpers/demo-page.ts';
import { startDemoPair, type DemoPair } from '../helpers/sites.ts';

/** A fresh Chromium for one test: every scenario starts from a browser that never saw the sites. */
async function withChromium<T>(mode: ThirdPartyCookies, run: (page: Page) => Promise<T>): Promise<T> {
  const browser = await launchChromium(mode);
  try {
    return await run(await browser.context.newPage());
  } finally {
    await browser.close();
  }
}

describe('the top-level hop in headless Chromium, on the demo', () => {
  let pair: DemoPair;
  let shop: string;
  let blog: string;
  before(async () => {
    pair = await startDemoPair();
    [shop, blog] = [pair.shop.origin, pair.blog.origin];
  });
  after(() => pair.stop());

  for (const mode of ['blocked', 'allowed'] as const) {
    describe(`third-party cookies ${mode}`, () => {
      it('log in on shop, then open blog by typed URL: logged in, same session', () =>
        withChromium(mode, async (page) => {
          await login(page, shop, 'alice');
          const onShop = await shown(page);
          await page.goto(`${blog}/`);
          assert.deepEqual(await shown(page), onShop);
          assert.equal(new URL(page.url()).href, `${blog}/`, 'back on the page that was asked for');
        }));

      it('log in on shop, then follow a link to blog: logged in', () =>
        withChromium(mode, async (page) => {
          await login(page, shop, 'alice');
          const onShop = await shown(page);
          await Promise.all([page.waitForURL(`${blog}/`), page.click('#to-blog')]);
          assert.deepEqual(await shown(page), onShop);
        }));

      it('log in on blog (not the hub), then open shop: logged in', () =>
        withChromium(mode, async (page) => {
          await login(page, blog, 'bob');
          const onBlog = await shown(page);
          await page.goto(`${shop}/`);
          assert.deepEqual(await shown(page), onBlog);
          assert.equal(onBlog.user, 'bob');
        }));

      it('an anonymous cart is shared, both ways', () =>
        withChromium(mode, async (page) => {
          await addToCart(page, shop, 'green tea');
          await page.goto(`${blog}/`);
          assert.deepEqual((await shown(page)).cart, ['green tea']);
          await addToCart(page, blog, 'oolong');
          await page.goto(`${shop}/`);
          const onShop = await shown(page);
          assert.deepEqual([onShop.user, onShop.cart], ['anonymous', ['green tea', 'oolong']]);
        }));

      it('log out on one site, and the other is logged out; log in again, and it follows', () =>
        withChromium(mode, async (page) => {
          await login(page, shop, 'alice');
          await page.goto(`${blog}/`);
          assert.equal((await shown(page)).user, 'alice');
          await Promise.all([page.waitForURL(`${blog}/`), page.click('#logout')]);
          await page.goto(`${shop}/`);
          assert.equal((await shown(page)).user, 'anonymous');
          await login(page, shop, 'bob');
          const again = await shown(page);
          await page.goto(`${blog}/`);
          assert.deepEqual(await shown(page), again);
        }));
    });
  }
});

describe('a stopped hub, in headless Chromium', () => {
  let pair: DemoPair;
  before(async () => {
    pair = await startDemoPair();
  });
  after(() => pair.stop());

  it('blog still serves its pages within a second or two', () =>
    withChromium('blocked', async (page) => {
      await pair.shop.stop();
      const started = performance.now();
      await page.goto(`${pair.blog.origin}/`);
      const elapsed = performance.now() - started;
      assert.equal((await shown(page)).user, 'anonymous');
      assert.ok(elapsed < 2000, `blog answered in ${Math.round(elapsed)} ms`);
      const again = performance.now();
      await page.goto(`${pair.blog.origin}/`);
      assert.ok(performance.now() - again < 2000);
    }));
});

describe('the top-level hop in Firefox ESR (WebDriver BiDi), on the demo', () => {
  let pair: DemoPair;
  before(async () => {
    pair = await startDemoPair();
  });
  after(() => pair.stop());

  it('log in on shop, open blog: logged in, same session', async () => {
    const firefox = await launchFirefox();
    try {
      const page = await firefox.browser.newPage();
      await page.goto(`${pair.shop.origin}/`);
      await page.type('input[name=username]', 'alice');
      await page.type('input[name=password]', 'alice-password');
      await Promise.all([page.waitForNavigation(), page.click('#login')]);
      const read = async () => ({
        user: await page.$eval('#user', (element) => element.textContent?.trim()),
        sessionId: await page.$eval('#session-id', (element) => element.textContent?.trim()),
      });
      const onShop = await read();
      assert.equal(onShop.user, 'alice');
      await page.goto(`${pair.blog.origin}/`);
      assert.deepEqual(await read(), onShop);
    } finally {
      await firefox.close();
    }
  });
});
