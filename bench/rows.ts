/**
 * Rows written per 1,000 anonymous requests, on every store: what a bot repeating one
 * request for free leaves in the store. The bench apps (bench/apps.ts: a hub and another
 * site) and the demo's app run in this process on each store; the storage is
 * counted (bench/counts.ts) right before and right after each kind's requests, so the
 * requests that set a kind up (a session, a page that mints push tokens) are not counted.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Express } from 'express';
import type { Store } from 'express-session';
import { createDemoApp } from '../demo/app.ts';
import { scriptSources } from '../test/helpers/express-site.ts';
import { Client, NAVIGATION_HEADERS, type Response } from '../test/helpers/http.ts';
import { scriptLoad } from '../test/helpers/push.ts';
import { benchApp, benchShared, HUB, serve, SESSION_COOKIE, SESSION_SECRET, SITE } from './apps.ts';
import { COUNTED, difference, storages, type Counts, type Storage } from './counts.ts';
import { fmt } from './stats.ts';

/** The shortest life of a claim (a hop's answer: 10 s and twice the default clock skew). */
const SHORTEST_CLAIM_SECONDS = 20;

const DEMO = 'http://demo.localhost:3';

/** One kind of request on one store: what the storage gained, and per 1,000 requests. */
export interface Written {
  readonly store: string;
  readonly kind: string;
  readonly requests: number;
  /** How long the requests took: claims live 20 s at least, so a kind that took longer may have lost some before they were counted. */
  readonly seconds: number;
  readonly counted: Counts;
  readonly perThousand: Counts;
}

interface Kind {
  readonly name: string;
  /** How many requests of this kind a full run sends (a quick run a 250th, at least 2). */
  readonly requests: number;
  /** Set up what the requests need; resolves one function per request. */
  prepare(sites: Sites, n: number): Promise<(() => Promise<void>)[]>;
}

interface Sites {
  /** A client with the hosts mapped to the apps' ports, that keeps no cookie. */
  readonly bare: Client;
  browser(): Client;
}

const times = <T>(n: number, make: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => make(i));

function settled(response: Response, status: number, what: string): void {
  assert.equal(response.status, status, `${what}: status ${response.status}`);
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded', origin: DEMO };

const KINDS: readonly Kind[] = [
  {
    name: 'page load with a session: Chromium’s navigation headers and the session cookie only, no redirect followed',
    requests: 1000,
    async prepare(sites, n) {
      const script = sites.browser();
      await script.fetch(`${HUB}/setup?held=none`);
      const cookie = `${SESSION_COOKIE}=${script.cookies(HUB).get(SESSION_COOKIE)}`;
      return times(n, () => async () => assert.ok((await sites.bare.fetch(`${HUB}/page`, { headers: { ...NAVIGATION_HEADERS, cookie } })).status < 400));
    },
  },
  {
    name: 'page load without a session: the same, no cookie',
    requests: 1000,
    prepare: (sites, n) => Promise.resolve(times(n, () => async () => assert.ok((await sites.bare.fetch(`${HUB}/page`, { headers: NAVIGATION_HEADERS })).status < 400))),
  },
  {
    name: 'hop: a new browser opens the site that is not the hub, and completes the hop',
    requests: 1000,
    prepare: (sites, n) =>
      Promise.resolve(
        times(n, () => async () => {
          const steps = await sites.browser().navigate(`${SITE}/page`);
          assert.ok(steps.length > 1 && steps.at(-1)!.status === 200, `a hop: ${steps.map((step) => step.status).join(' → ')}`);
        }),
      ),
  },
  {
    name: 'push: one accepted token (the tokens minted beforehand, one linked page each)',
    requests: 1000,
    async prepare(sites, n) {
      const sources = await inParallel(
        times(n, () => async () => {
          const browser = sites.browser();
          await browser.fetch(`${HUB}/setup?held=self`);
          return scriptSources((await browser.navigate(`${HUB}/page`)).at(-1)!.body);
        }),
      );
      return sources.flat().map((source) => async () => {
        const response = await sites.bare.fetch(source, { headers: scriptLoad(HUB) });
        settled(response, 200, 'a push');
        assert.equal(response.headers['shared-session-reason'], 'ACCEPTED');
      });
    },
  },
  {
    name: 'POST /logout without a cookie (the demo): express-session destroys an id it never stored',
    requests: 1000,
    prepare: (sites, n) => Promise.resolve(times(n, () => async () => settled(await sites.bare.fetch(`${DEMO}/logout`, { method: 'POST', headers: FORM, body: '' }), 303, 'a logout'))),
  },
  {
    name: 'failed POST /login (the demo)',
    // Each costs a scrypt hash (tens of milliseconds): fewer, and normalised like the others.
    requests: 100,
    prepare: (sites, n) =>
      Promise.resolve(
        times(n, () => async () => {
          const response = await sites.bare.fetch(`${DEMO}/login`, { method: 'POST', headers: FORM, body: 'username=nobody&password=wrong' });
          settled(response, 303, 'a failed login');
          assert.equal(response.headers.location, '/?login=failed');
        }),
      ),
  },
];

/** Run `tasks` eight at a time; resolves their results in order. */
async function inParallel<T>(tasks: readonly (() => Promise<T>)[], width = 8): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  await Promise.all(
    times(width, async () => {
      while (next < tasks.length) {
        const index = next++;
        results[index] = await tasks[index]!();
      }
    }),
  );
  return results;
}

/** The hub, the other site and the demo on `store`; resolves the sites and how to stop them. */
async function startSites(store: Store, secret: string): Promise<{ sites: Sites; stop: () => Promise<void> }> {
  const origins = [HUB, SITE];
  // No health checks: the origins' ports are not where the apps listen (the clients map them).
  const app = (origin: string): Express => benchApp(store, benchShared({ sites: origins, secret, hubProbe: false }, origin));
  const demo = createDemoApp({ origin: DEMO, sites: [DEMO, 'http://demo-other.localhost:4'], secret, sessionSecret: SESSION_SECRET, store, log: () => undefined }).app;
  const { balance, stop } = await serve({ [HUB]: app(HUB), [SITE]: app(SITE), [DEMO]: demo });
  return { sites: { bare: new Client({ balance, cookieless: true }), browser: () => new Client({ balance }) }, stop };
}

/** Every kind of request on one kind of storage, each on a namespace of its own. */
async function countOn(storage: Storage, options: { quick: boolean; secret: string }): Promise<Written[]> {
  const out: Written[] = [];
  for (const [index, kind] of KINDS.entries()) {
    const counted = storage.open(`kind${index}`);
    const { sites, stop } = await startSites(counted.store, options.secret);
    try {
      const n = options.quick ? Math.max(2, Math.round(kind.requests / 250)) : kind.requests;
      const requests = await kind.prepare(sites, n);
      const before = await counted.count();
      const started = performance.now();
      await inParallel(requests);
      const seconds = (performance.now() - started) / 1000;
      const gained = difference(await counted.count(), before);
      const perThousand = Object.fromEntries(COUNTED.map((what) => [what, (gained[what] * 1000) / requests.length])) as unknown as Counts;
      out.push({ store: storage.name, kind: kind.name, requests: requests.length, seconds, counted: gained, perThousand });
    } finally {
      await stop();
      await counted.close();
    }
  }
  return out;
}

/**
 * Every kind of request on every store. A quick run sends a 250th of the requests (at least
 * 2 of each) and counts on the stores side by side; a full run one store after another, so
 * that each kind ends well within the life of its claims.
 */
export async function rowsWritten(options: { quick: boolean; secret: string }): Promise<Written[]> {
  const dir = mkdtempSync(join(tmpdir(), 'shared-session-bench-rows-'));
  try {
    const all = await storages(dir);
    const countAndClose = (storage: Storage): Promise<Written[]> => countOn(storage, options).finally(() => storage.close());
    if (options.quick) return (await Promise.all(all.map(countAndClose))).flat();
    const out: Written[] = [];
    for (const storage of all) out.push(...(await countAndClose(storage)));
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Long-lived rows as "1,000 tombstones + 2,000 links", or "0". */
function longLived(counts: Counts): string {
  const parts = (['sessions', 'tombstones', 'links'] as const).filter((what) => counts[what] !== 0).map((what) => `${fmt(counts[what])} ${what}`);
  return parts.length ? parts.join(' + ') : '0';
}

/** The Markdown table: a row per kind of request, a pair of columns per store. */
export function rowsTable(written: readonly Written[]): string {
  const stores = [...new Set(written.map((w) => w.store))];
  const kinds = [...new Set(written.map((w) => w.kind))];
  const lines = [
    `| rows written per 1,000 requests | ${stores.map((store) => `${store}: long-lived | ${store}: claims`).join(' | ')} |`,
    `|---|${stores.map(() => '---|---|').join('')}`,
  ];
  for (const kind of kinds) {
    const cells = stores.map((store) => {
      const found = written.find((w) => w.store === store && w.kind === kind)!;
      return `${longLived(found.perThousand)} | ${found.seconds > SHORTEST_CLAIM_SECONDS ? '≥ ' : ''}${fmt(found.perThousand.claims)}`;
    });
    const sent = written.find((w) => w.kind === kind)!.requests;
    lines.push(`| ${kind} (${fmt(sent)} sent) | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}
