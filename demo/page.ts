/**
 * What every demo site shows and accepts, whatever framework serves it: the home page
 * (demo/views/home.ejs), the checks on a cart item, the text of a client error. The three
 * apps (app.ts on Express, fastify-app.ts, hono-app.ts) differ only in how they wire these
 * into their framework, so that a page looks and behaves the same on every site.
 */
import ejs from 'ejs';
import { STATUS_CODES } from 'node:http';
import { fileURLToPath } from 'node:url';

/** The frameworks a demo site can run on. */
export const FRAMEWORKS = ['express', 'fastify', 'hono'] as const;
export type Framework = (typeof FRAMEWORKS)[number];
/** What serves each site of `npm run demo`: one framework each, so that the demo shows them sharing. Other names run on Express. */
export const DEMO_FRAMEWORKS = { shop: 'express', blog: 'fastify', news: 'hono' } as const satisfies Record<string, Framework>;

/** The framework of a site of `npm run demo` by its name: Express for a name the demo does not know. */
export function frameworkOf(name: string): Framework {
  return Object.hasOwn(DEMO_FRAMEWORKS, name) ? DEMO_FRAMEWORKS[name as keyof typeof DEMO_FRAMEWORKS] : 'express';
}

/** A short name for a site: the first label of its host (`shop` for http://shop.localhost:3001). */
export function siteName(origin: string): string {
  return new URL(origin).hostname.split('.')[0] ?? origin;
}

export const VIEWS = fileURLToPath(new URL('./views', import.meta.url));
const HOME = fileURLToPath(new URL('./views/home.ejs', import.meta.url));
export const MAX_CART = 20;
/** Bytes a form post may have; more is refused with 413 before it is parsed. */
export const FORM_LIMIT = 2048;
/** Each site's colour on its page, in the order of `sites`, so tabs side by side tell apart. */
const ACCENTS = ['#0b6e4f', '#6a1b9a', '#b3541e', '#1565c0', '#ad1457'];

export function accentOf(origin: string, sites: readonly string[]): string {
  return ACCENTS[Math.max(0, sites.indexOf(origin)) % ACCENTS.length] as string;
}

/** What the home page shows of the visitor. */
export interface Visitor {
  user: string | undefined;
  /** Shown only once the session holds something (a login or a cart). */
  sessionId: string | undefined;
  cart: readonly string[];
  /** The `login` query parameter, if any. */
  loginQuery: unknown;
}

/** The data home.ejs renders (Express's `res.render` takes it as is). */
export function homeView(origin: string, sites: readonly string[], framework: Framework, visitor: Visitor, sharedSessionLoader?: string): Record<string, unknown> {
  return {
    siteName: siteName(origin),
    accent: accentOf(origin, sites),
    origin,
    framework,
    otherSites: sites.filter((site) => site !== origin).map((site) => ({ name: siteName(site), origin: site })),
    user: visitor.user,
    sessionId: visitor.user !== undefined || visitor.cart.length > 0 ? visitor.sessionId : undefined,
    cart: visitor.cart,
    // A fixed text chosen by the query, never the query itself (nothing reflected); not
    // once logged in, which may have happened on another site since.
    message: visitor.user === undefined && visitor.loginQuery === 'failed' ? 'Wrong user name or password.' : undefined,
    ...(sharedSessionLoader === undefined ? {} : { sharedSessionLoader }),
  };
}

/** The home page as HTML, for the frameworks that do not render views themselves. */
export function renderHome(view: Record<string, unknown>): Promise<string> {
  return ejs.renderFile(HOME, view, { async: false });
}

/** A cart item's refusal (status and text), or the trimmed item. */
export function checkItem(item: unknown, cart: readonly string[]): { status: number; text: string } | { item: string } {
  if (typeof item !== 'string' || item.trim() === '' || item.length > 60) return { status: 400, text: 'an item is 1 to 60 characters\n' };
  if (cart.length >= MAX_CART) return { status: 409, text: 'the cart is full\n' };
  return { item: item.trim() };
}

/** The fixed text a client error answers with: its status's name, never the error's message (it may quote the request). */
export function clientErrorText(status: number): string {
  return `${STATUS_CODES[status] ?? 'Bad Request'}\n`;
}

/** The answer to a form post that did not come from this site's own pages. */
export const CROSS_SITE_TEXT = 'cross-site form post refused\n';
/** The answer when the store cannot be reached. */
export const STORE_DOWN_TEXT = 'the session store is unavailable; try again shortly\n';

/** The status of an error that a store or framework raised: 503 for an unreachable store (its errors carry `status`), else 500. */
export function serverErrorStatus(error: unknown): 503 | 500 {
  return typeof error === 'object' && error !== null && (error as { status?: unknown }).status === 503 ? 503 : 500;
}
