import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SESSION_SECRET, SHARED_SECRET } from './sites.ts';

/** The repository root: the examples build and run from here, so `shared-session/*` resolves to this package. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * No framework may phone home or fetch anything while a test builds or runs it: telemetry
 * and update checks are off, so the tests pass on a machine without network.
 */
export const OFFLINE_ENV: Readonly<Record<string, string>> = {
  ASTRO_TELEMETRY_DISABLED: '1',
  NEXT_TELEMETRY_DISABLED: '1',
  DO_NOT_TRACK: '1',
  CI: '1',
};

/** Run a framework's build (`args` to this Node, from the root) and fail with its output if it fails; resolves its duration in ms. */
export function runBuild(args: readonly string[]): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...OFFLINE_ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(Date.now() - started) : reject(new Error(`${args.join(' ')} exited ${code}:\n${output}`))));
  });
}

/** A built example app running as one site in its own process. */
export interface AppProcess {
  readonly origin: string;
  /** Everything it printed (the example logs refusals). */
  readonly output: string[];
  stop(): Promise<void>;
}

export interface AppOptions {
  /** The server's entry file, relative to the root. */
  entry: string;
  /** Arguments after the entry (a CLI's command and flags). */
  args?: readonly string[];
  origin: string;
  sites: readonly string[];
  /** The SQLite file the Express sites of the test use too. */
  storePath: string;
  cookieName: string;
  /** A line of the server's output that says it listens. */
  ready: RegExp;
  /** More environment (e.g. the site's own origin, for a framework that cannot tell it). */
  env?: Record<string, string>;
}

/**
 * Start a built example (`node --conditions=@shared-session/source <entry>`: the library
 * from its TypeScript sources, as every test runs it) on the origin's port, with the
 * example's environment, and wait until it says it listens.
 */
export function startApp(options: AppOptions): Promise<AppProcess> {
  const env = {
    ...process.env,
    ...OFFLINE_ENV,
    SITES: options.sites.join(','),
    SHARED_SESSION_SECRET: SHARED_SECRET,
    SESSION_SECRET,
    SESSION_DB: options.storePath,
    SESSION_COOKIE: options.cookieName,
    HOST: '127.0.0.1',
    PORT: new URL(options.origin).port,
    ...options.env,
  };
  const child = spawn(process.execPath, ['--conditions=@shared-session/source', options.entry, ...(options.args ?? [])], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${options.entry} did not start:\n${output.join('')}`)), 30_000);
    const onData = (chunk: Buffer): void => {
      output.push(chunk.toString());
      if (options.ready.test(output.join(''))) {
        clearTimeout(timer);
        resolve({
          origin: options.origin,
          output,
          stop: async () => {
            if (child.exitCode === null) child.kill('SIGTERM');
            await exited;
          },
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${options.entry} exited ${code}:\n${output.join('')}`));
    });
  });
}
