/**
 * examples/real-app in real browsers: Passport's login with a remember-me box, helmet's CSP
 * with a nonce, csrf-sync and flash messages, on two sites sharing one session. Every check
 * runs in both directions (log in on the hub or on the other site), with third-party cookies
 * blocked in Chromium (this Debian build's default) and in Firefox ESR (Total Cookie
 * Protection): the session travels by the top-level hop.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page as PlaywrightPage } from 'playwright-core';
import type { Page as PuppeteerPage } from 'puppeteer-core';
import { launchChromium, launchFirefox } from '../helpers/browser.ts';
import { FACTORIES } from '../compat/stores.ts';
import { sidOfCookie, startRealApp, type RealAppSites } from '../helpers/real-app.ts';

const DAY_S = 24 * 3600;

/** What a test does with a tab, the same in both engines. */
interface Tab {
  goto(url: string): Promise<void>;
  /** Fill the fields, tick the boxes, press the button; the status of the page the navigation ends on. */
  submit(button: string, fields?: Record<string, string>, tick?: readonly string[]): Promise<number>;
  /** The trimmed text of the first element matching `selector`, or undefined. */
  text(selector: string): Promise<string | undefined>;
  texts(selector: string): Promise<string[]>;
  /** The page's HTML as the browser holds it now. */
  html(): Promise<string>;
  /**
   * Chromium only (CDP): call `inspect` when a response to `pathname` arrives, before the
   * browser goes on, so a test can read the store as that request left it (the next page
   * load may write the session again).
   */
  whenAnswered?(pathname: string, inspect: () => Promise<void>): Promise<void>;
}

interface SessionCookie {
  value: string;
  /** Seconds since the epoch; -1 for a browser-session cookie. */
  expires: number;
}

interface BrowserUnderTest {
  newTab(): Promise<Tab>;
  /** This browser's `sid` cookie for `origin`'s host. */
  sessionCookie(origin: string): Promise<SessionCookie | undefined>;
  /** Console errors, page errors and CSP violations of every tab. */
  readonly problems: string[];
  /** Whether shared-session prints a loader for this engine (Chromium only: Firefox partitions the push's cookie). */
  readonly pushes: boolean;
  close(): Promise<void>;
}

/** Reports CSP violations to the console, where the listeners below collect them. */
const WATCH_CSP = `document.addEventListener('securitypolicyviolation', (event) => console.error('CSP violation: ' + event.violatedDirective + ' ' + event.blockedURI + ' on ' + location.href));`;

async function chromiumUnderTest(): Promise<BrowserUnderTest> {
  const browser = await launchChromium('blocked');
  const problems: string[] = [];
  await browser.context.addInitScript({ content: WATCH_CSP });
  const tabOf = (page: PlaywrightPage): Tab => ({
    async goto(url) {
      await page.goto(url);
    },
    async submit(button, fields = {}, tick = []) {
      for (const [name, value] of Object.entries(fields)) await page.fill(`input[name=${name}]`, value);
      for (const box of tick) await page.check(box);
      const [response] = await Promise.all([page.waitForNavigation(), page.click(button)]);
      return response?.status() ?? 0;
    },
    async text(selector) {
      const element = await page.$(selector);
      return element ? ((await element.textContent()) ?? '').trim() : undefined;
    },
    async texts(selector) {
      return (await page.locator(selector).allTextContents()).map((text) => text.trim());
    },
    html: () => page.content(),
    async whenAnswered(pathname, inspect) {
      const cdp = await page.context().newCDPSession(page);
      cdp.on('Fetch.requestPaused', (event) => {
        const inspected = new URL(event.request.url).pathname === pathname ? inspect() : Promise.resolve();
        void inspected.finally(() => cdp.send('Fetch.continueRequest', { requestId: event.requestId }));
      });
      await cdp.send('Fetch.enable', { patterns: [{ urlPattern: `*${pathname}`, requestStage: 'Response' }] });
    },
  });
  return {
    problems,
    pushes: true,
    async newTab() {
      const page = await browser.context.newPage();
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console: ${message.text()}`);
      });
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      return tabOf(page);
    },
    async sessionCookie(origin) {
      const cookie = (await browser.context.cookies(origin)).find((candidate) => candidate.name === 'sid');
      return cookie && { value: cookie.value, expires: cookie.expires };
    },
    close: () => browser.close(),
  };
}

async function firefoxUnderTest(): Promise<BrowserUnderTest> {
  const firefox = await launchFirefox();
  const problems: string[] = [];
  const tabOf = (page: PuppeteerPage): Tab => ({
    async goto(url) {
      await page.goto(url);
    },
    async submit(button, fields = {}, tick = []) {
      for (const [name, value] of Object.entries(fields)) await page.type(`input[name=${name}]`, value);
      for (const box of tick) await page.click(box);
      const [response] = await Promise.all([page.waitForNavigation(), page.click(button)]);
      return response?.status() ?? 0;
    },
    async text(selector) {
      const element = await page.$(selector);
      return element ? ((await element.evaluate((node) => node.textContent)) ?? '').trim() : undefined;
    },
    async texts(selector) {
      return page.$$eval(selector, (nodes) => nodes.map((node) => (node.textContent ?? '').trim()));
    },
    html: () => page.content(),
  });
  return {
    problems,
    pushes: false,
    async newTab() {
      const page = await firefox.browser.newPage();
      await page.evaluateOnNewDocument(WATCH_CSP);
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console: ${message.text()}`);
      });
      page.on('pageerror', (error) => problems.push(`page error: ${error instanceof Error ? error.message : String(error)}`));
      return tabOf(page);
    },
    async sessionCookie(origin) {
      const host = new URL(origin).hostname;
      const cookie = (await firefox.browser.cookies()).find((candidate) => candidate.name === 'sid' && candidate.domain === host);
      return cookie && { value: cookie.value, expires: cookie.session ? -1 : cookie.expires };
    },
    close: () => firefox.close(),
  };
}

const ENGINES = { 'Chromium (third-party cookies blocked)': chromiumUnderTest, 'Firefox ESR': firefoxUnderTest } as const;

async function logIn(tab: Tab, origin: string, user: string, remember: boolean): Promise<void> {
  await tab.goto(`${origin}/`);
  const status = await tab.submit('#login', { username: user, password: `${user}-password` }, remember ? ['#remember'] : []);
  assert.equal(status, 200, `the login on ${origin} ends on a page`);
  assert.equal(await tab.text('#user'), user, `logged in on ${origin}`);
}

/** Whole days from now until `expires` (seconds since the epoch), rounded; -1 stays -1 (a browser-session cookie). */
const daysLeft = (expires: number): number => (expires === -1 ? -1 : Math.round((expires - Date.now() / 1000) / DAY_S));

// Every store in Chromium; Firefox on the default store (the store does not depend on the engine).
for (const factory of FACTORIES.filter((candidate) => candidate.kind !== 'memory')) describe(`examples/real-app (Passport, helmet, csrf-sync, flash) on two sites, ${factory.name}`, () => {
  let app: RealAppSites;
  before(async () => {
    app = await startRealApp(factory);
  });
  after(() => app.stop());

  /** Whole days until the store record of `sid` expires, rounded; undefined without a record. */
  async function storeDaysLeft(sid: string): Promise<number | undefined> {
    return (await storeDaysLeftOfAll()).get(sid);
  }

  /** Whole days until each store record expires, rounded, by session id. */
  async function storeDaysLeftOfAll(): Promise<Map<string, number>> {
    return new Map([...(await app.storeExpiries())].map(([sid, expiry]) => [sid, Math.round((expiry - Date.now()) / 1000 / DAY_S)]));
  }

  /** Neither site printed anything but its start: no error (a 500), no refusal of shared-session. */
  function assertNoServerErrors(): void {
    for (const site of [app.a, app.b]) {
      const errors = site.output.filter((line) => !line.startsWith('ready '));
      assert.deepEqual(errors, [], `${site.origin} logged no error`);
    }
  }

  for (const [engine, launch] of Object.entries(ENGINES).filter(([name]) => factory.kind === 'sqlite' || name.startsWith('Chromium'))) {
    describe(engine, () => {
      /** A fresh browser per test; no CSP violation and no console error in any of its tabs. */
      async function withBrowser(run: (browser: BrowserUnderTest) => Promise<void>): Promise<void> {
        const browser = await launch();
        try {
          await run(browser);
          assert.deepEqual(browser.problems, [], 'no CSP violation, console error or page error');
          assertNoServerErrors();
        } finally {
          await browser.close();
        }
      }

      for (const direction of ['a→b', 'b→a'] as const) {
        const sites = (): [string, string] => (direction === 'a→b' ? [app.a.origin, app.b.origin] : [app.b.origin, app.a.origin]);

        it(`remember me: log in on ${direction[0]}, logged in on ${direction[2]}; a 30-day cookie on both and in the store`, () =>
          withBrowser(async (browser) => {
            const [here, there] = sites();
            const tab = await browser.newTab();
            // The store as the login's own request left it (Chromium only): the next page load
            // writes the session again (it takes the flash), which would hide a save the store skipped.
            // (Its Set-Cookie is hidden from CDP: every record is read, and the session's found later.)
            let storeWhenLoginAnswered = new Map<string, number>();
            await tab.whenAnswered?.('/login', async () => {
              storeWhenLoginAnswered = await storeDaysLeftOfAll();
            });
            await logIn(tab, here, 'alice', true);
            assert.deepEqual(await tab.texts('.flash-info'), ['Welcome, alice.'], 'the flash message after the login');
            // The page after a login pushes it to the other site: a loader script under helmet's CSP, with its nonce.
            const loaderTags = (await tab.html()).match(/<script [^>]*>/g)?.filter((tag) => tag.includes(`src="${there}/shared-session/`)) ?? [];
            assert.equal(loaderTags.length, browser.pushes ? 1 : 0, 'the loader, where the engine takes a push');
            for (const tag of loaderTags) assert.match(tag, / nonce=/, 'with the nonce (browsers hide its value from the DOM)');
            const afterLogin = await browser.sessionCookie(here);
            await tab.goto(`${there}/`);
            assert.equal(await tab.text('#user'), 'alice', `logged in on ${there} too`);
            assert.deepEqual(await tab.texts('.flash'), [], 'the flash was shown once');
            // More page loads on both sites: the lifetime must stay what the login chose.
            for (const origin of [here, there, here, there]) {
              await tab.goto(`${origin}/`);
              assert.equal(await tab.text('#user'), 'alice');
            }
            const cookies = [await browser.sessionCookie(here), await browser.sessionCookie(there)];
            assert.ok(cookies[0] && cookies[1], 'a session cookie on both sites');
            const sid = sidOfCookie(cookies[0].value);
            assert.equal(sidOfCookie(cookies[1].value), sid, 'one session');
            // Every lifetime in one comparison, so a failure shows each of them.
            assert.deepEqual(
              {
                [`cookie on ${here}, right after the login`]: afterLogin && daysLeft(afterLogin.expires),
                [`cookie on ${here}`]: daysLeft(cookies[0].expires),
                [`cookie on ${there}`]: daysLeft(cookies[1].expires),
                ...(tab.whenAnswered ? { 'store record when the login answered': storeWhenLoginAnswered.get(sid) } : {}),
                'store record': await storeDaysLeft(sid),
              },
              {
                [`cookie on ${here}, right after the login`]: 30,
                [`cookie on ${here}`]: 30,
                [`cookie on ${there}`]: 30,
                ...(tab.whenAnswered ? { 'store record when the login answered': 30 } : {}),
                'store record': 30,
              },
              'the session lasts 30 days, in the browser on both sites and in the store (days left, rounded)',
            );
          }));

        it(`no remember me: log in on ${direction[0]}; a browser-session cookie on both sites`, () =>
          withBrowser(async (browser) => {
            const [here, there] = sites();
            const tab = await browser.newTab();
            await tab.goto(`${here}/`);
            assert.equal(await tab.submit('#login', { username: 'bob', password: 'wrong' }), 200);
            assert.deepEqual(await tab.texts('.flash-error'), ['Wrong user name or password.'], 'a failed login says so');
            assert.equal(await tab.text('#user'), 'anonymous');
            await logIn(tab, here, 'bob', false);
            assert.deepEqual(await tab.texts('.flash-info'), ['Welcome, bob.']);
            const afterLogin = await browser.sessionCookie(here);
            await tab.goto(`${there}/`);
            assert.equal(await tab.text('#user'), 'bob');
            for (const origin of [here, there, here, there]) {
              await tab.goto(`${origin}/`);
              assert.equal(await tab.text('#user'), 'bob');
            }
            const cookies = [await browser.sessionCookie(here), await browser.sessionCookie(there)];
            assert.ok(cookies[0] && cookies[1], 'a session cookie on both sites');
            assert.deepEqual(
              {
                [`cookie on ${here}, right after the login`]: afterLogin && daysLeft(afterLogin.expires),
                [`cookie on ${here}`]: daysLeft(cookies[0].expires),
                [`cookie on ${there}`]: daysLeft(cookies[1].expires),
              },
              { [`cookie on ${here}, right after the login`]: -1, [`cookie on ${here}`]: -1, [`cookie on ${there}`]: -1 },
              'a browser-session cookie (no Expires) on both sites (days left; -1: none)',
            );
          }));

        it(`log in on ${direction[0]}, log out on ${direction[2]}: logged out on ${direction[0]}`, () =>
          withBrowser(async (browser) => {
            const [here, there] = sites();
            const tab = await browser.newTab();
            await logIn(tab, here, 'alice', true);
            await tab.goto(`${there}/`);
            assert.equal(await tab.text('#user'), 'alice');
            assert.equal(await tab.submit('#logout'), 200);
            assert.equal(await tab.text('#user'), 'anonymous');
            assert.deepEqual(await tab.texts('.flash-info'), ['You are logged out.']);
            await tab.goto(`${here}/`);
            assert.equal(await tab.text('#user'), 'anonymous', `logged out on ${here} too`);
          }));

        it(`stale tabs on ${direction[0]}: after a logout and a new login in another tab, their forms are refused with 403, before and after this site sees the new session`, () =>
          withBrowser(async (browser) => {
            const [here, there] = sites();
            // Two tabs on this site with a form of alice's session: one is posted before this site
            // sees the new session (its cookie names the destroyed one), one after.
            const early = await browser.newTab();
            await logIn(early, here, 'alice', true);
            assert.ok((await early.text('#note-form')) !== undefined, 'a form with the session’s CSRF token');
            const stale = await browser.newTab();
            await stale.goto(`${here}/`);
            assert.equal(await stale.text('#user'), 'alice');
            // Another tab: log out and in again on the other site (a new session, a new token).
            const other = await browser.newTab();
            await other.goto(`${there}/`);
            assert.equal(await other.text('#user'), 'alice');
            assert.equal(await other.submit('#logout'), 200);
            await logIn(other, there, 'bob', true);
            /** Post a stale form: a clean refusal, nothing saved. */
            const postStale = async (tab: Tab): Promise<void> => {
              assert.equal(await tab.submit('#save-note', { note: 'from a stale tab' }), 403);
              // Chromium logs a document's 4xx status as a console error: that one is expected.
              const logged403 = browser.problems.findIndex((problem) => problem.includes('status of 403'));
              if (logged403 >= 0) browser.problems.splice(logged403, 1);
              assert.equal(await tab.text('#error'), 'This form has expired. Reload the page and try again.');
            };
            await postStale(early);
            await other.goto(`${here}/`);
            assert.equal(await other.text('#user'), 'bob', 'the new session reached this site');
            await postStale(stale);
            await stale.goto(`${here}/`);
            assert.equal(await stale.text('#user'), 'bob');
            assert.equal(await stale.text('#note'), '', 'the stale posts changed nothing');
            // The fresh form of the same tab works, on this site and on the other.
            assert.equal(await stale.submit('#save-note', { note: 'fresh' }), 200);
            assert.equal(await stale.text('#note'), 'fresh');
            await other.goto(`${there}/`);
            assert.equal(await other.text('#note'), 'fresh');
          }));
      }
    });
  }
});
