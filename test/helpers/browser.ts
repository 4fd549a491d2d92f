import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import type { Browser as PuppeteerBrowser } from 'puppeteer-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const FIREFOX = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

// From shared/BROWSERS.md: headless, no sandbox (root), and no background traffic the
// closed network here would refuse.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export type ThirdPartyCookies = 'allowed' | 'blocked';

export interface ChromiumSession {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Headless Chromium with a fresh profile. `cookie_controls_mode` 0 allows third-party
 * cookies, 1 blocks them (this Debian build's own default, and Safari's and Firefox's
 * behaviour in effect).
 */
export async function launchChromium(thirdPartyCookies: ThirdPartyCookies): Promise<ChromiumSession> {
  const dir = mkdtempSync(join(tmpdir(), 'shared-session-chromium-'));
  const profile = join(dir, 'profile');
  mkdirSync(join(profile, 'Default'), { recursive: true });
  writeFileSync(
    join(profile, 'Default', 'Preferences'),
    JSON.stringify({ profile: { cookie_controls_mode: thirdPartyCookies === 'allowed' ? 0 : 1 } }),
  );
  const home = join(dir, 'home');
  mkdirSync(home);
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    // The crash-report folder ignores --user-data-dir: keep Chromium's files in the temp dir.
    env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_CACHE_HOME: join(home, '.cache') },
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface FirefoxSession {
  readonly browser: PuppeteerBrowser;
  close(): Promise<void>;
}

/** Headless Firefox ESR over WebDriver BiDi (puppeteer-core), with its default Total Cookie Protection. */
export async function launchFirefox(): Promise<FirefoxSession> {
  const { default: puppeteer } = await import('puppeteer-core');
  const dir = mkdtempSync(join(tmpdir(), 'shared-session-firefox-'));
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    env: { ...process.env, HOME: dir, XDG_CONFIG_HOME: join(dir, '.config'), XDG_CACHE_HOME: join(dir, '.cache') },
    extraPrefsFirefox: {
      // No update checks, telemetry or other background traffic the closed network refuses.
      'app.update.enabled': false,
      'datareporting.policy.dataSubmissionEnabled': false,
      'toolkit.telemetry.enabled': false,
      'network.captive-portal-service.enabled': false,
    },
  });
  return {
    browser,
    async close() {
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
