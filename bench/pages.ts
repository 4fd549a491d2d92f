/**
 * The page and script-endpoint cases: throughput of one variant against its baseline,
 * A/B/A/B (bench/load.ts). Every page request is a Chromium top-level navigation (Fetch
 * Metadata and User-Agent as test/helpers/http.ts `NAVIGATION_HEADERS`).
 */
import { deriveKeys } from '../src/core/keys.ts';
import { randomId } from '../src/core/random.ts';
import { Purpose, Sealer } from '../src/core/token.ts';
import { Client, NAVIGATION_HEADERS } from '../test/helpers/http.ts';
import { scriptLoad } from '../test/helpers/push.ts';
import { pairs, type Load, type Row, type Run, type Variant } from './load.ts';

const HOST = 'bench.localhost:1';

interface PageCase {
  readonly name: string;
  readonly variant: string;
  /** The session the browser holds (bench/apps.ts `/setup`), or a link cookie and no session. */
  readonly held: 'all' | 'self' | 'none' | 'link';
  readonly path?: string;
  readonly target?: string;
  readonly note?: string;
}

export async function pageCase(run: Run): Promise<Row[]> {
  const cookieFor = async (c: PageCase): Promise<string> => {
    // A browser that site knows: its session, then one page load (whatever cookies it sets, kept).
    const client = new Client({ balance: { [HOST]: [run.ports[c.variant]!] } });
    await client.fetch(`http://${HOST}/setup?held=${c.held}`);
    await client.navigate(`http://${HOST}/page?loader=0`);
    return [...client.cookies(`http://${HOST}`)].map(([name, value]) => `${name}=${value}`).join('; ');
  };
  const variant = async (c: PageCase): Promise<Variant> => {
    const load: Load = { port: run.ports[c.variant]!, host: HOST, path: c.path ?? '/page', headers: { ...NAVIGATION_HEADERS, cookie: await cookieFor(c) }, expectStatus: 200 };
    return { name: c.name, load, target: c.target, note: c.note };
  };

  // The whole cost of sharing, against the status quo: express-session alone.
  const statusQuo = await variant({ name: 'express-session page, no shared-session (baseline)', variant: 'baseline', held: 'none' });
  const mounted: PageCase = {
    name: 'shared-session mounted, page without the loader',
    variant: 'shared5',
    held: 'all',
    path: '/page?loader=0',
    note: 'browser page load, steady state',
  };
  const whole = await Promise.all(
    (
      [
        mounted,
        {
          name: 'browser page load, steady state, 5 sites',
          variant: 'shared5',
          held: 'all',
          target: '≥ 0.95',
          note: 'the session unchanged since this site agreed; the loader mints nothing; no store access beyond express-session’s',
        },
        { name: 'browser page load, no session, browser known', variant: 'shared5', held: 'link', note: '1 link read' },
        { name: 'first linked page, 2 sites', variant: 'shared2', held: 'self', path: '/page?first=1', note: 'the loader mints 1 push token; the note is saved' },
        { name: 'first linked page, 5 sites', variant: 'shared5', held: 'self', path: '/page?first=1', note: 'the loader mints 4 push tokens; the note is saved' },
      ] satisfies PageCase[]
    ).map(variant),
  );
  const rows = await pairs(run, 'Page: sharing against the status quo', statusQuo.name, statusQuo.load, whole);

  // The loader's own cost: the same app and session, the page rendered with and without it.
  const withoutLoader = await variant(mounted);
  const loaderOnly = await variant({ name: 'the same page with the loader, 5 sites, steady state', variant: 'shared5', held: 'all', target: '≥ 0.95' });
  rows.push(...(await pairs(run, 'Page: the loader alone', `${mounted.name}, ${mounted.note} (baseline)`, withoutLoader.load, [loaderOnly])));
  return rows;
}

export async function pushCase(run: Run, secret: string): Promise<Row[]> {
  const sealer = new Sealer(deriveKeys(secret));
  const host = 'receiver.localhost:2';
  const port = run.ports.receiver!;
  const [source, destination] = ['http://sender.localhost:1', `http://${host}`];
  const client = new Client({ balance: { [host]: [port] } });
  const { id } = JSON.parse((await client.fetch(`http://${host}/setup?held=none`)).body) as { id: string };
  const token = (): Promise<string> => sealer.seal(Purpose.push, { sid: id, src: source, dst: destination, iat: Date.now(), jti: randomId() });
  // Sealed ahead, newest used first (a seal is a promise, the load generator asks for paths
  // synchronously), topped up in the background before the pool runs low: each used once.
  const pool: string[] = [];
  let filling = false;
  const refill = async (): Promise<void> => {
    if (filling) return;
    filling = true;
    while (pool.length < 20_000) pool.push(...(await Promise.all(Array.from({ length: 1000 }, token))));
    filling = false;
  };
  await refill();
  const forged = Buffer.from(await token(), 'base64url');
  forged[40] = (forged[40] as number) ^ 1;
  const headers = scriptLoad(source);
  return pairs(run, 'Script endpoint', 'bare route: one claim (the store’s claimOnce) and a Set-Cookie as long as the voucher (baseline)', { port, host, path: '/bare', expectStatus: 200 }, [
    {
      name: 'script endpoint, fresh valid tokens: Fetch Metadata and Referer checked, token opened, its id claimed, the voucher set',
      load: { port, host, headers, nextPath: () => {
          if (pool.length < 10_000) void refill();
          return `/shared-session/${pool.pop()!}.js`;
        }, expectStatus: 200 },
      target: '≥ 0.90',
    },
    {
      name: 'script endpoint, forged tokens: refused once opened, no store access',
      load: { port, host, headers, path: `/shared-session/${forged.toString('base64url')}.js`, expectStatus: 403 },
    },
  ]);
}
