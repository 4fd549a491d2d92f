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
      // blog took the voucher on its page load: the session cookie is blog's own first-party one.
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
      const pushed: string[] = [];
      page.on('request', (request) => {
        if (request.resourceType() === 'script' && request.url().startsWith(`${pair.blog.origin}/shared-session/`)) pushed.push(request.url());
      });
      await login(page, pair.shop.origin, 'alice');
      await loaderSettled(page);
      // Chromium cannot be told apart from one that keeps third-party cookies: shop pushed,
      // blog set its voucher, and the browser refused it.
      assert.ok(pushed.length > 0, 'shop’s page loaded the push');
      await page.goto(`${pair.blog.origin}/`);
      assert.equal((await shown(page)).user, 'anonymous');
      assert.equal((await browser.context.cookies(pair.blog.origin)).some((cookie) => cookie.name.endsWith('shared-session.voucher')), false);
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

  it('pushes nothing to Firefox, whose Total Cookie Protection would partition the voucher: blog stays anonymous', async () => {
    const firefox = await launchFirefox();
    try {
      const page = await firefox.browser.newPage();
      await page.goto(`${pair.shop.origin}/`);
      await page.type('input[name=username]', 'alice');
      await page.type('input[name=password]', 'alice-password');
      await Promise.all([page.waitForNavigation({ waitUntil: 'networkidle0' }), page.click('#login')]);
      assert.equal(await page.$eval('#user', (element) => element.textContent?.trim()), 'alice');
      assert.equal(await page.$$eval('script[src*="/shared-session/"]', (scripts) => scripts.length), 0, 'no script tags for Firefox');
      await page.goto(`${pair.blog.origin}/`);
      assert.equal(await page.$eval('#user', (element) => element.textContent?.trim()), 'anonymous');
    } finally {
      await firefox.close();
    }
  });
});
