/**
 * The hop case: what a browser's navigations cost in redirects and time, on two sites (the
 * hub and one other) of the bench server, against a plain page. Each visit is a new
 * browser (a cookie jar per host); each round takes the median of its visits.
 *
 * 1. A browser the hub knows (its session linked there, by the hub's own first page)
 *    opens the other site: the site's first page, then its next one.
 * 2. The browser logs in on the hub (a new session), loads the hub's page (the change
 *    there), then the other site's next page; once with the hub page's push scripts left
 *    unloaded (as where third-party cookies are blocked), once with them loaded.
 */
import assert from 'node:assert/strict';
import { scriptSources } from '../test/helpers/express-site.ts';
import { Client, type Step } from '../test/helpers/http.ts';
import { scriptLoad } from '../test/helpers/push.ts';
import { HUB, SITE, type Served } from './apps.ts';
import type { Row, Run } from './load.ts';
import { median } from './stats.ts';

/** One timed navigation: its milliseconds, and its redirects as "3 redirects (2 to another site)". */
interface Timed {
  readonly ms: number;
  readonly redirects: number;
  readonly route: string;
}

async function timed(client: Client, url: string): Promise<Timed & { readonly steps: Step[] }> {
  const started = performance.now();
  const steps = await client.navigate(url);
  const ms = performance.now() - started;
  assert.equal(steps.at(-1)?.status, 200, `${url} ends on the page`);
  const redirects = steps.length - 1;
  const crossing = steps.filter((step, i) => i > 0 && new URL(step.url).origin !== new URL(steps[i - 1]!.url).origin).length;
  const route = redirects === 0 ? 'no redirect' : `${redirects} redirects (${crossing} to another site)`;
  return { ms, redirects, route, steps };
}

async function sessionAt(client: Client, origin: string): Promise<string | null> {
  return (JSON.parse((await client.fetch(`${origin}/whoami`)).body) as { id: string | null }).id;
}

/** A new browser whose session the hub linked: it has a cart on the hub, and loaded one page there. */
export async function knownToHub(balance: Served['balance']): Promise<Client> {
  const browser = new Client({ balance });
  await browser.fetch(`${HUB}/setup?held=none`);
  await browser.navigate(`${HUB}/page`);
  return browser;
}

/** Log in on the hub and load the page the login redirects to; `push`: load its scripts as Chromium does. */
export async function loginOnHub(browser: Client, push: boolean): Promise<Timed> {
  assert.equal((await browser.post(`${HUB}/login`, {})).status, 303);
  const page = await timed(browser, `${HUB}/page`);
  if (push) {
    const sources = scriptSources(page.steps.at(-1)!.body);
    assert.equal(sources.length, 1, 'the hub’s page after the login pushes to the other site');
    for (const source of sources) assert.equal((await browser.fetch(source, { headers: scriptLoad(HUB) })).headers['shared-session-reason'], 'ACCEPTED');
  }
  return page;
}

interface Series {
  readonly name: string;
  readonly values: number[];
  /** The most redirects one navigation took, and each route as `Timed` words it. */
  redirects: number;
  readonly routes: Set<string>;
}

export async function hopCase(run: Run): Promise<Row[]> {
  const balance = { [new URL(HUB).host]: [run.ports.hub!], [new URL(SITE).host]: [run.ports.site!] };
  const visits = run.quick ? 5 : 150;
  const series = (name: string): Series => ({ name, values: [], redirects: 0, routes: new Set() });
  const plain = series('page without session or hop (baseline)');
  const first = series('a site’s first page of a browser the hub knows');
  const next = series('the same site’s next page (steady state)');
  const loginPage = series('login on the hub: the hub’s page after it (a change here)');
  const afterLogin = series('login on the hub: the other site’s next page');
  const afterPush = series('login on the hub: the other site’s next page, the hub’s push voucher accepted before');

  for (let round = 0; round < run.rounds; round++) {
    const samples = new Map<Series, number[]>([plain, first, next, loginPage, afterLogin, afterPush].map((s) => [s, []]));
    const record = (into: Series, result: Timed): void => {
      samples.get(into)!.push(result.ms);
      into.redirects = Math.max(into.redirects, result.redirects);
      into.routes.add(result.route);
    };
    for (let visit = 0; visit < visits; visit++) {
      const check = visit === 0;
      const browser = await knownToHub(balance);
      const hubSession = check ? await sessionAt(browser, HUB) : undefined;
      record(first, await timed(browser, `${SITE}/page`));
      if (check) assert.equal(await sessionAt(browser, SITE), hubSession, 'the site took the hub’s session');
      record(next, await timed(browser, `${SITE}/page`));
      record(loginPage, await loginOnHub(browser, false));
      record(afterLogin, await timed(browser, `${SITE}/page`));
      if (check) assert.equal(await sessionAt(browser, SITE), await sessionAt(browser, HUB), 'the site follows the login');

      const pushed = await knownToHub(balance);
      await pushed.navigate(`${SITE}/page`);
      await loginOnHub(pushed, true);
      record(afterPush, await timed(pushed, `${SITE}/page`));
      if (check) assert.equal(await sessionAt(pushed, SITE), await sessionAt(pushed, HUB), 'the voucher brought the login');

      const started = performance.now();
      await new Client({ balance }).fetch(`${SITE}/page`);
      samples.get(plain)!.push(performance.now() - started);
    }
    for (const [into, values] of samples) into.values.push(median(values));
  }

  return [
    { group: 'Hop', name: plain.name, unit: 'ms', values: plain.values },
    ...[first, next, loginPage, afterLogin, afterPush].map((s) => ({
      group: 'Hop',
      name: `${s.name}: ${[...s.routes].join(' or ')}, then the page`,
      unit: 'ms',
      values: s.values,
      ratios: s.values.map((value, i) => value / plain.values[i]!),
      redirects: s.redirects,
    })),
  ];
}
