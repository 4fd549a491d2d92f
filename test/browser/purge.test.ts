import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { Page as PuppeteerPage } from 'puppeteer-core';
import { launchChromium, launchFirefox, type ThirdPartyCookies } from '../helpers/browser.ts';
import { startDemoSites, type DemoSites } from '../helpers/sites.ts';

/**
 * Bounce-tracking protection deletes the hub's cookies and storage while every other site
 * keeps its own (see ../../../shared/BROWSERS.md). Deleting the hub's cookies in the
 * browser is the faithful simulation: after it, the sites that know the browser keep
 * sharing, the hub learns the browser back on its next page, a login and a logout made
 * anywhere (the hub included) reach every site, and one login leaves one live session.
 */

/** What the scenario needs of a browser, whichever engine drives it. */
interface Driver {
  /** Open the site's home page; resolves what it shows. */
  visit(origin: string): Promise<{ user: string; sessionId: string }>;
  login(origin: string, user: string): Promise<void>;
  logout(origin: string): Promise<void>;
  /** Delete every cookie of the hub's site. */
  purgeHub(): Promise<void>;
}

async function scenario(browser: Driver, demo: DemoSites<'shop' | 'blog' | 'news'>): Promise<void> {
  const [shop, blog, news] = demo.sites as [string, string, string];
  /** Ids of the live sessions in the store that belong to `user`. */
  const liveSessionsOf = (user: string): string[] => {
    const db = new DatabaseSync(demo.storePath, { readOnly: true });
    try {
      const rows = db.prepare('SELECT sid, data FROM shared_session_sessions WHERE expires > ?').all(Date.now()) as { sid: string; data: string }[];
      return rows.filter((row) => (JSON.parse(row.data) as { user?: string }).user === user).map((row) => row.sid);
    } finally {
      db.close();
    }
  };
  // Other browsers' sessions (earlier tests on this demo) are not this visitor's.
  const earlier = new Set(liveSessionsOf('alice'));

  await browser.login(shop, 'alice');
  const first = await browser.visit(shop);
  for (const origin of [blog, news]) assert.deepEqual(await browser.visit(origin), first, origin);

  await browser.purgeHub();
  // The sites that know the browser keep sharing, without the hub.
  await browser.logout(blog);
  assert.equal((await browser.visit(news)).user, 'anonymous');
  await browser.login(news, 'bob');
  const bob = await browser.visit(news);
  assert.deepEqual(await browser.visit(blog), bob);
  // The hub asks the others on its next page: the new login reached it too, same session.
  assert.deepEqual(await browser.visit(shop), bob);

  // A logout made on the hub after a purge logs out every site.
  await browser.purgeHub();
  assert.deepEqual(await browser.visit(shop), bob);
  await browser.logout(shop);
  for (const origin of [blog, news]) assert.equal((await browser.visit(origin)).user, 'anonymous', origin);

  // One login, one live session: after another purge the hub joins it, and no second one appears.
  await browser.login(blog, 'alice');
  const again = await browser.visit(blog);
  await browser.purgeHub();
  assert.deepEqual(await browser.visit(shop), again);
  assert.deepEqual(await browser.visit(news), again);
  assert.deepEqual(liveSessionsOf('alice').filter((sid) => !earlier.has(sid)), [again.sessionId], 'one live session for this login');
}

function playwrightDriver(page: Page, hubHost: string): Driver {
  const read = async () => ({
    user: ((await page.textContent('#user')) ?? '').trim(),
    sessionId: ((await page.textContent('#session-id')) ?? '').trim(),
  });
  return {
    async visit(origin) {
      await page.goto(`${origin}/`);
      return read();
    },
    async login(origin, user) {
      await page.goto(`${origin}/`);
      await page.fill('input[name=username]', user);
      await page.fill('input[name=password]', `${user}-password`);
      await Promise.all([page.waitForURL(`${origin}/`), page.click('#login')]);
      await page.waitForSelector('#logout');
    },
    async logout(origin) {
      await page.goto(`${origin}/`);
      await Promise.all([page.waitForURL(`${origin}/`), page.click('#logout')]);
    },
    async purgeHub() {
      await page.context().clearCookies({ domain: hubHost });
      assert.equal((await page.context().cookies(`http://${hubHost}`)).length, 0);
    },
  };
}

function puppeteerDriver(page: PuppeteerPage, hubHost: string): Driver {
  const text = (selector: string) => page.$eval(selector, (element) => element.textContent?.trim() ?? '');
  return {
    async visit(origin) {
      await page.goto(`${origin}/`);
      return { user: await text('#user'), sessionId: await text('#session-id') };
    },
    async login(origin, user) {
      await page.goto(`${origin}/`);
      await page.type('input[name=username]', user);
      await page.type('input[name=password]', `${user}-password`);
      await Promise.all([page.waitForNavigation(), page.click('#login')]);
      await page.waitForSelector('#logout');
    },
    async logout(origin) {
      await page.goto(`${origin}/`);
      await Promise.all([page.waitForNavigation(), page.click('#logout')]);
    },
    async purgeHub() {
      const browser = page.browser();
      const hub = (await browser.cookies()).filter((cookie) => cookie.domain.replace(/^\./, '') === hubHost);
      if (hub.length > 0) await browser.deleteCookie(...hub);
      assert.equal((await browser.cookies()).filter((cookie) => cookie.domain.replace(/^\./, '') === hubHost).length, 0);
    },
  };
}

describe('sharing after the hub’s cookies are purged, in real browsers, on three demo sites', () => {
  let demo: DemoSites<'shop' | 'blog' | 'news'>;
  let hubHost: string;
  before(async () => {
    demo = await startDemoSites(['shop', 'blog', 'news']);
    hubHost = new URL(demo.shop.origin).hostname;
  });
  after(() => demo.stop());

  for (const mode of ['blocked', 'allowed'] as ThirdPartyCookies[]) {
    it(`Chromium, third-party cookies ${mode}`, async () => {
      const browser = await launchChromium(mode);
      try {
        await scenario(playwrightDriver(await browser.context.newPage(), hubHost), demo);
      } finally {
        await browser.close();
      }
    });
  }

  it('Firefox ESR (Total Cookie Protection)', async () => {
    const firefox = await launchFirefox();
    try {
      await scenario(puppeteerDriver(await firefox.browser.newPage(), hubHost), demo);
    } finally {
      await firefox.close();
    }
  });
});
