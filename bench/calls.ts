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
import { SqliteStore } from 'shared-session/sqlite';
import { Client } from '../test/helpers/http.ts';
import { benchApp, benchShared, HUB, serve, SITE, type Served } from './apps.ts';
import { knownToHub, loginOnHub } from './hop.ts';
import { fmt } from './stats.ts';

/** The store methods a request may call: express-session's, then the sharing store's. */
export const CALLS = ['get', 'set', 'touch', 'destroy', 'readLink', 'writeLink', 'claimOnce'] as const;
export type Calls = Record<(typeof CALLS)[number], number>;

export interface CallsPerRequest {
  readonly name: string;
  readonly requests: number;
  readonly perRequest: Calls;
}

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
  prepare(balance: Served['balance']): Promise<Client>;
  /** The counted navigation (all its redirects). */
  readonly url: string;
  readonly redirects: number;
}

/** A new browser that fetched `setup` (a session), then navigated to `page` once: a browser that site knows. */
async function visited(balance: Served['balance'], setup: string | undefined, page?: string): Promise<Client> {
  const browser = new Client({ balance });
  if (setup !== undefined) await browser.fetch(setup);
  if (page !== undefined) await browser.navigate(page);
  return browser;
}

/** A browser both sites hold the session of. */
async function knownToBoth(balance: Served['balance']): Promise<Client> {
  const browser = await knownToHub(balance);
  await browser.navigate(`${SITE}/page`);
  return browser;
}

/** A browser both sites held the session of, logged in on the hub since (`push`: the push scripts of the hub's page loaded). */
async function loggedInOnHub(balance: Served['balance'], push: boolean): Promise<Client> {
  const browser = await knownToBoth(balance);
  await loginOnHub(browser, push);
  return browser;
}

const CASES: readonly Case[] = [
  { name: 'express-session alone: a page with a session (baseline)', prepare: (balance) => visited(balance, `${PLAIN}/setup`, `${PLAIN}/page`), url: `${PLAIN}/page`, redirects: 0 },
  {
    name: 'browser page load, steady state (the session unchanged since this site agreed)',
    prepare: (balance) => visited(balance, `${HUB}/setup?held=all`, `${HUB}/page`),
    url: `${HUB}/page`,
    redirects: 0,
  },
  { name: 'browser page load, no session, browser known', prepare: (balance) => visited(balance, undefined, `${SITE}/page`), url: `${SITE}/page`, redirects: 0 },
  {
    name: 'a login here (a new session), then this site’s page: a change here',
    prepare: async (balance) => {
      const browser = await knownToBoth(balance);
      assert.equal((await browser.post(`${HUB}/login`, {})).status, 303);
      return browser;
    },
    url: `${HUB}/page`,
    redirects: 0,
  },
  { name: 'a login on the other site, then this site’s page: the whole navigation, its hop included', prepare: (balance) => loggedInOnHub(balance, false), url: `${SITE}/page`, redirects: 3 },
  { name: 'the same, the push voucher of the login’s page accepted before', prepare: (balance) => loggedInOnHub(balance, true), url: `${SITE}/page`, redirects: 0 },
];

/** Store calls per request of each case, on SQLite. */
export async function storeCalls(options: { quick: boolean; secret: string }): Promise<CallsPerRequest[]> {
  const dir = mkdtempSync(join(tmpdir(), 'shared-session-bench-calls-'));
  const store = new SqliteStore({ path: join(dir, 'calls.sqlite') });
  const calls = Object.fromEntries(CALLS.map((name) => [name, 0])) as Calls;
  const counted = counting(store, calls);
  const origins = [HUB, SITE];
  const shared = (origin: string): Express => benchApp(counted, benchShared({ sites: origins, secret: options.secret, hubProbe: false }, origin));
  const { balance, stop } = await serve({ [HUB]: shared(HUB), [SITE]: shared(SITE), [PLAIN]: benchApp(counted) });
  const out: CallsPerRequest[] = [];
  try {
    const n = options.quick ? 5 : 100;
    for (const c of CASES) {
      const browsers: Client[] = [];
      for (let i = 0; i < n; i++) browsers.push(await c.prepare(balance));
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
