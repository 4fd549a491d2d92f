import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.ts';

export const SHARED_SECRET = '5pNSSeLdb8LDZZXj2Wc2ZV6Vedy+aJpnCJqJEkP+9jwZRTlRv0fsYejF6nq7MsX6';
export const SESSION_SECRET = 'test-session-secret-0123456789-ABCDEFGHIJKLMNOPQRSTUVWXYZ';

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
  const child = spawn(
    process.execPath,
    ['--conditions=source', join(ROOT, 'demo/server.ts'), '--origin', origin, '--sites', sites.join(','), '--store', storePath, ...extraArgs],
    { env: { ...process.env, SHARED_SESSION_SECRET: SHARED_SECRET, SESSION_SECRET: SESSION_SECRET, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
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

/** The two demo sites on fresh ports, each in its own process, over one fresh SQLite file. */
export interface DemoPair {
  shop: SiteProcess;
  blog: SiteProcess;
  readonly sites: readonly string[];
  readonly storePath: string;
  stop(): Promise<void>;
}

export async function startDemoPair(extraEnv: Record<string, string> = {}): Promise<DemoPair> {
  const dir = mkdtempSync(join(tmpdir(), 'shared-session-'));
  const storePath = join(dir, 'sessions.sqlite');
  const sites = [`http://shop.localhost:${await freePort()}`, `http://blog.localhost:${await freePort()}`] as const;
  const started = await Promise.allSettled(sites.map((origin) => startSite(origin, sites, storePath, extraEnv)));
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((result) => (result.status === 'fulfilled' ? result.value.stop() : Promise.resolve())));
    rmSync(dir, { recursive: true, force: true });
    throw failed.reason;
  }
  const [shop, blog] = started.map((result) => (result as PromiseFulfilledResult<SiteProcess>).value);
  const pair: DemoPair = {
    shop: shop as SiteProcess,
    blog: blog as SiteProcess,
    sites,
    storePath,
    // Stops whatever processes the pair holds now: a test may have restarted one.
    async stop() {
      await Promise.all([pair.shop.stop(), pair.blog.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return pair;
}
