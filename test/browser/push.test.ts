import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launchChromium, launchFirefox, type ChromiumSession } from '../helpers/browser.ts';
import { addToCart, loaderSettled, login, shown } from '../helpers/demo-page.ts';
import { startDemoPair, type DemoPair } from '../helpers/sites.ts';

describe('script push in headless Chromium, on the demo', () => {
  let pair: DemoPair;
  before(async () => {
    pair = await startDemoPair({ DEMO_HOP: 'off' });
  });
  after(() => pair.stop());

  describe('third-party cookies allowed', () => {
    let browser: ChromiumSession;
    before(async () => {
      browser = await launchChromium('allowed');
    });
    after(() => browser.close());

    it('log in on shop, open a page there, open blog: logged in, same session', async () => {
      const page = await browser.context.newPage();
      await login(page, pair.shop.origin, 'alice');
      const onShop = await shown(page);
      await loaderSettled(page);
      await page.goto(`${pair.blog.origin}/`);
      const onBlog = await shown(page);
      assert.equal(onShop.user, 'alice');
      assert.deepEqual(onBlog, onShop);
      // blog now holds the session as its own first-party cookie (repaired from SameSite=None).
      const cookies = await browser.context.cookies(pair.blog.origin);
      assert.equal(cookies.find((cookie) => cookie.name === 'blog.sid')?.sameSite, 'Lax');
      await page.close();
    });

    it('an anonymous cart filled on shop is on blog', async () => {
      await browser.context.clearCookies();
      const page = await browser.context.newPage();
      await addToCart(page, pair.shop.origin, 'green tea');
      await loaderSettled(page);
      await page.goto(`${pair.blog.origin}/`);
      const onBlog = await shown(page);
      assert.equal(onBlog.user, 'anonymous');
      assert.deepEqual(onBlog.cart, ['green tea']);
      await page.close();
    });
  });

  describe('third-party cookies blocked (this Chromium’s default, and Safari’s)', () => {
    let browser: ChromiumSession;
    before(async () => {
      browser = await launchChromium('blocked');
    });
    after(() => browser.close());

    it('the push alone shares nothing: blog stays anonymous', async () => {
      const page = await browser.context.newPage();
      const logged = pair.blog.output.length;
      await login(page, pair.shop.origin, 'alice');
      await loaderSettled(page);
      await page.goto(`${pair.blog.origin}/`);
      assert.equal((await shown(page)).user, 'anonymous');
      // The script did reach blog and was accepted; only the browser refused its cookie.
      assert.ok(pair.blog.output.slice(logged).some((line) => line.includes('took over the session')));
      await page.close();
    });
  });
});

describe('script push in Firefox ESR (default Total Cookie Protection), on the demo', () => {
  let pair: DemoPair;
  before(async () => {
    pair = await startDemoPair({ DEMO_HOP: 'off' });
  });
  after(() => pair.stop());

  it('the push alone shares nothing: the cookie is partitioned, blog stays anonymous', async () => {
    const firefox = await launchFirefox();
    try {
      const page = await firefox.browser.newPage();
      await page.goto(`${pair.shop.origin}/`);
      await page.type('input[name=username]', 'alice');
      await page.type('input[name=password]', 'alice-password');
      await Promise.all([page.waitForNavigation({ waitUntil: 'networkidle0' }), page.click('#login')]);
      assert.equal(await page.$eval('#user', (element) => element.textContent?.trim()), 'alice');
      await page.goto(`${pair.blog.origin}/`);
      assert.equal(await page.$eval('#user', (element) => element.textContent?.trim()), 'anonymous');
      // blog accepted the token; Firefox kept the cookie in shop's partition only.
      assert.ok(pair.blog.output.some((line) => line.includes('took over the session')));
    } finally {
      await firefox.close();
    }
  });
});
