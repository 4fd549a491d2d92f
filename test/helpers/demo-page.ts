import type { Page } from 'playwright-core';

/** What the demo's home page shows. */
export interface Shown {
  user: string;
  sessionId: string;
  cart: string[];
}

export async function shown(page: Page): Promise<Shown> {
  return {
    user: ((await page.textContent('#user')) ?? '').trim(),
    sessionId: ((await page.textContent('#session-id')) ?? '').trim(),
    cart: (await page.locator('#cart li').allTextContents()).map((text) => text.trim()).filter((text) => text !== 'empty'),
  };
}

export async function login(page: Page, origin: string, user: string): Promise<void> {
  await page.goto(`${origin}/`);
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', `${user}-password`);
  await Promise.all([page.waitForURL(`${origin}/`), page.click('#login')]);
  await page.waitForSelector('#logout');
}

export async function addToCart(page: Page, origin: string, item: string): Promise<void> {
  await page.goto(`${origin}/`);
  await page.fill('input[name=item]', item);
  await Promise.all([page.waitForURL(`${origin}/`), page.click('#add')]);
}

/** Wait until the page's loader scripts have all been fetched (they are async). */
export async function loaderSettled(page: Page): Promise<void> {
  await page.waitForLoadState('load');
  await page.waitForLoadState('networkidle');
}
