/**
 * Store calls per request: what a page load asks of the store, express-session's own calls
 * and shared-session's together, against the same page with express-session alone. The
 * bench apps (bench/apps.ts) run in this process on one SQLite store, wrapped so that
 * every call is counted; the browser's setup requests are not.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Express } from 'express';
import type { Store } from 'express-session';
import { sharedSession } from 'shared-session/express';
import { SqliteStore } from 'shared-session/sqlite';
import { scriptSources } from '../test/helpers/express-site.ts';
import { Client, SCRIPT_LOAD_HEADERS } from '../test/helpers/http.ts';
import { benchApp, serve } from './apps.ts';
import { fmt } from './stats.ts';

/** The store methods a request may call: express-session's, then the sharing store's. */
export const CALLS = ['get', 'set', 'touch', 'destroy', 'readLink', 'writeLink', 'claimOnce'] as const;
export type Calls = Record<(typeof CALLS)[number], number>;

export interface CallsPerRequest {
  readonly name: string;
  readonly requests: number;
  readonly perRequest: Calls;
}

const HUB = 'http://hub.localhost:1';
const SITE = 'http://site.localhost:2';
const PLAIN = 'http://plain.localhost:3';

/** `store`, with every call of `CALLS` counted into `calls` (methods run on the store itself: it has private fields). */
function counting(store: SqliteStore, calls: Calls): Store {
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== 'function') return value;
      const counted = (CALLS as readonly (string | symbol)[]).includes(property);
      return (...args: unknown[]) => {
        if (counted) calls[property as keyof Calls]++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

interface Case {
  readonly name: string;
  /** A browser made ready for the counted navigation (setup, not counted). */
  prepare(browser: Client): Promise<void>;
  /** The counted navigation (all its redirects). */
  readonly url: string;
  readonly redirects: number;
}

const CASES: readonly Case[] = [
  { name: 'express-session alone: a page with a session (baseline)', prepare: (b) => b.fetch(`${PLAIN}/setup`).then(() => undefined), url: `${PLAIN}/page`, redirects: 0 },
  {
    name: 'browser page load, steady state (the session unchanged since this site agreed)',
    prepare: (b) => b.fetch(`${HUB}/setup?held=all`).then(() => undefined),
    url: `${HUB}/page`,
    redirects: 0,
  },
  { name: 'browser page load, no session, browser known', prepare: (b) => b.navigate(`${SITE}/page`).then(() => undefined), url: `${SITE}/page`, redirects: 0 },
  { name: 'a login on the other site, then this site’s page: the whole navigation, its hop included', prepare: (b) => loggedInOnHub(b, false), url: `${SITE}/page`, redirects: 3 },
  { name: 'the same, the push voucher of the login’s page accepted before', prepare: (b) => loggedInOnHub(b, true), url: `${SITE}/page`, redirects: 0 },
];

/** Both sites hold the browser's session; then a login on the hub and its page (whose push scripts are loaded when `push`). */
async function loggedInOnHub(browser: Client, push: boolean): Promise<void> {
  await browser.fetch(`${HUB}/setup?held=none`);
  await browser.navigate(`${HUB}/page`);
  await browser.navigate(`${SITE}/page`);
  await browser.post(`${HUB}/login`, {});
  const page = (await browser.navigate(`${HUB}/page`)).at(-1)!;
  if (push) for (const source of scriptSources(page.body)) await browser.fetch(source, { headers: { ...SCRIPT_LOAD_HEADERS, referer: `${HUB}/` } });
}

/** Store calls per request of each case, on SQLite. */
export async function storeCalls(options: { quick: boolean; secret: string }): Promise<CallsPerRequest[]> {
  const dir = mkdtempSync(join(tmpdir(), 'shared-session-bench-calls-'));
  const store = new SqliteStore({ path: join(dir, 'calls.sqlite') });
  const calls = Object.fromEntries(CALLS.map((name) => [name, 0])) as Calls;
  const counted = counting(store, calls);
  const origins = [HUB, SITE];
  const shared = (origin: string): Express => benchApp(counted, { middleware: sharedSession({ sites: origins, secret: options.secret, hubProbe: false }), origin });
  const { balance, stop } = await serve({ [HUB]: shared(HUB), [SITE]: shared(SITE), [PLAIN]: benchApp(counted) });
  const out: CallsPerRequest[] = [];
  try {
    const n = options.quick ? 5 : 100;
    for (const c of CASES) {
      const browsers = Array.from({ length: n }, () => new Client({ balance }));
      for (const browser of browsers) await c.prepare(browser);
      for (const name of CALLS) calls[name] = 0;
      for (const browser of browsers) {
        const steps = await browser.navigate(c.url);
        assert.equal(steps.length - 1, c.redirects, `${c.name}: ${steps.map((step) => step.url).join(' → ')}`);
      }
      out.push({ name: c.name, requests: n, perRequest: Object.fromEntries(CALLS.map((name) => [name, calls[name] / n])) as Calls });
    }
  } finally {
    await stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

export function callsTable(rows: readonly CallsPerRequest[]): string {
  return [
    `| store calls per page load (SQLite) | ${CALLS.join(' | ')} |`,
    `|---|${CALLS.map(() => '---|').join('')}`,
    ...rows.map((row) => `| ${row.name} | ${CALLS.map((name) => fmt(row.perRequest[name], 2)).join(' | ')} |`),
  ].join('\n');
}
