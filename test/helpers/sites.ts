import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { DEMO_FRAMEWORKS, type Framework } from '../../demo/page.ts';
import { freePort } from './ports.ts';

import { SESSION_SECRET, SHARED_SECRET } from './secrets.ts';

export { SESSION_SECRET, SHARED_SECRET };

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** One running demo site process. */
export interface SiteProcess {
  readonly origin: string;
  readonly child: ChildProcess;
  /** Everything the process printed, for assertions on logged events. */
  readonly output: string[];
  stop(): Promise<void>;
}

/** Start one demo site (`demo/server.ts`) in its own process and wait until it serves. */
export function startSite(
  origin: string,
  sites: readonly string[],
  storePath: string,
  extraEnv: Record<string, string> = {},
  extraArgs: readonly string[] = [],
): Promise<SiteProcess> {
  return startSiteProcess(
    origin,
    [join(ROOT, 'demo/server.ts'), '--origin', origin, '--sites', sites.join(','), '--store', storePath, ...extraArgs],
    { SHARED_SESSION_SECRET: SHARED_SECRET, SESSION_SECRET: SESSION_SECRET, ...extraEnv },
  );
}

/**
 * The conditions a site process runs under: the sources, and the Web Crypto platform when
 * this test process runs on it (`npm run test:web-platform`), so that the sites' core seals
 * on the platform under test, not only the test's own.
 */
export const SITE_CONDITIONS: readonly string[] = [
  '--conditions=@shared-session/source',
  ...(process.execArgv.includes('--conditions=@shared-session/web-platform') ? ['--conditions=@shared-session/web-platform'] : []),
];

/** Run a site's script (`args`, on this Node with {@link SITE_CONDITIONS}) and wait until it prints `ready <origin>`. */
export function startSiteProcess(origin: string, args: readonly string[], env: Record<string, string>): Promise<SiteProcess> {
  const child = spawn(process.execPath, [...SITE_CONDITIONS, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${origin} did not start:\n${output.join('\n')}`)), 20_000);
    const collect = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        output.push(line);
        if (line === `ready ${origin}`) {
          clearTimeout(timer);
          resolve({ origin, child, output, stop });
        }
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${origin} exited with ${code}:\n${output.join('\n')}`));
    });
  });
}

/**
 * The first line `site` printed, from line `from` on, that `match` accepts; waits for it
 * as the process prints. A test that must show something was *not* logged makes the site
 * log something else after it, and waits for that line: output arrives in order.
 */
export function waitForLine(site: SiteProcess, match: (line: string) => boolean, from = 0): Promise<string> {
  const found = (): string | undefined => site.output.slice(from).find(match);
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const line = found();
      if (line === undefined) return;
      stopWatching();
      resolve(line);
    };
    const exited = (): void => {
      stopWatching();
      // The last chunks may arrive with the exit.
      const line = found();
      if (line === undefined) reject(new Error(`${site.origin} exited without printing the line awaited:\n${site.output.join('\n')}`));
      else resolve(line);
    };
    const stopWatching = (): void => {
      site.child.stdout?.off('data', check);
      site.child.stderr?.off('data', check);
      site.child.off('close', exited);
    };
    site.child.stdout?.on('data', check);
    site.child.stderr?.on('data', check);
    site.child.once('close', exited);
    check();
    if (site.child.stdout?.closed && site.child.stderr?.closed) exited();
  });
}

/** Every row of the demo's session table in the SQLite file at `storePath`: any session write shows up here. */
export function sessionRows(storePath: string): string {
  const db = new DatabaseSync(storePath, { readOnly: true });
  try {
    return JSON.stringify(db.prepare('SELECT sid, data, expires FROM shared_session_sessions ORDER BY sid').all());
  } finally {
    db.close();
  }
}

/**
 * Demo sites by name (`shop`, `blog`, …), each in its own process, over one SQLite file.
 * A test that restarts a site puts the new process in its place (`demo.shop = await startSite(…)`).
 */
export type DemoSites<Name extends string> = { [N in Name]: SiteProcess } & {
  /** Every site's origin, in the order of the names given: the first is the hub. */
  readonly sites: readonly string[];
  readonly storePath: string;
  /** Stops the processes held now (a test may have restarted one) and removes the store. */
  stop(): Promise<void>;
};

const SITE_NAME = /^[a-z][a-z0-9-]*$/;
const TAKEN_NAMES: ReadonlySet<string> = new Set(['sites', 'storePath', 'stop']);

/**
 * One demo process per name, serving `http://<name>.localhost:<fresh port>`, over one
 * fresh SQLite file; every site lists all of them, the first being the hub. Resolves once
 * every site serves; if one fails to start, stops the others and rejects. A site runs on
 * the framework `frameworks` names for it (demo/server.ts --framework), Express otherwise.
 *
 * @example
 * const demo = await startDemoSites(['shop', 'blog', 'news']);
 * await new Client().navigate(`${demo.news.origin}/`);
 * await demo.stop();
 */
export async function startDemoSites<const Name extends string>(
  names: readonly Name[],
  extraEnv: Record<string, string> = {},
  frameworks: Partial<Record<Name, Framework>> = {},
): Promise<DemoSites<Name>> {
  for (const name of names) {
    if (!SITE_NAME.test(name) || TAKEN_NAMES.has(name)) throw new TypeError(`startDemoSites: "${name}" is no site name; use a lowercase host label other than ${[...TAKEN_NAMES].join(', ')}`);
  }
  if (names.length === 0 || new Set(names).size !== names.length) throw new TypeError(`startDemoSites: give distinct site names (got ${names.join(', ')})`);
  // freePort closes its probe before returning, so two calls may name the same port.
  const ports = new Set<number>();
  while (ports.size < names.length) ports.add(await freePort());
  const sites = [...ports].map((port, index) => `http://${names[index] as Name}.localhost:${port}`);
  const dir = mkdtempSync(join(tmpdir(), 'shared-session-'));
  const storePath = join(dir, 'sessions.sqlite');
  const started = await Promise.allSettled(
    sites.map((origin, index) => {
      const framework = frameworks[names[index] as Name];
      return startSite(origin, sites, storePath, extraEnv, framework ? ['--framework', framework] : []);
    }),
  );
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((result) => (result.status === 'fulfilled' ? result.value.stop() : Promise.resolve())));
    rmSync(dir, { recursive: true, force: true });
    throw failed.reason;
  }
  const processes = started.map((result) => (result as PromiseFulfilledResult<SiteProcess>).value);
  const demo = {
    ...Object.fromEntries(names.map((name, index) => [name, processes[index]])),
    sites,
    storePath,
    async stop() {
      await Promise.all(names.map((name) => demo[name].stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  } as DemoSites<Name>;
  return demo;
}

/** shop (the hub) and blog: the demo as `npm run demo` starts it, on fresh ports. */
export type DemoPair = DemoSites<'shop' | 'blog'>;

export function startDemoPair(extraEnv: Record<string, string> = {}): Promise<DemoPair> {
  return startDemoSites(['shop', 'blog'], extraEnv);
}

/** The three sites of `npm run demo` on their frameworks (shop Express and the hub, blog Fastify, news Hono), on fresh ports. */
export type MixedDemo = DemoSites<'shop' | 'blog' | 'news'>;

export function startMixedDemo(extraEnv: Record<string, string> = {}): Promise<MixedDemo> {
  return startDemoSites(['shop', 'blog', 'news'], extraEnv, DEMO_FRAMEWORKS);
}
