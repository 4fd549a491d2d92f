/**
 * Two Hono sites served by the runtime's own HTTP server (`Bun.serve` or `Deno.serve`), one
 * server per site on its own port, each site with its own store instance on one database
 * (a SqliteStore on one file, or a RedisStore client on one Redis): two sites sharing one
 * store, as in production. Bundled by esbuild for the `node` platform (the stores import
 * `node:` modules; `redis` is loaded from node_modules, as the store loads its peer) and
 * started by runtimes.test.ts, which waits for `READY` and drives both sites over HTTP.
 *
 * Environment: SITES (JSON list of origins, each served on 127.0.0.1 at its own port),
 * STORE (`sqlite` or `redis`), SQLITE_PATH or REDIS_URL.
 */
import type { Hono } from 'hono';
import type { WebSessionStore } from 'shared-session/hono';
import { runtimeSite } from './hono-app.ts';

type Serve = (port: number, fetch: (request: Request) => Response | Promise<Response>) => Promise<void>;

interface BunLike {
  serve(options: { port: number; hostname: string; fetch: (request: Request) => Response | Promise<Response> }): unknown;
}
interface DenoLike {
  serve(options: { port: number; hostname: string; onListen?: () => void }, handler: (request: Request) => Response | Promise<Response>): unknown;
  env: { get(name: string): string | undefined };
}

const { Bun, Deno } = globalThis as { Bun?: BunLike; Deno?: DenoLike };
const env = (name: string): string => {
  const value = Deno ? Deno.env.get(name) : (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};

const serve: Serve = Bun
  ? (port, fetch) => {
      // Bun.serve listens before it returns.
      Bun.serve({ port, hostname: '127.0.0.1', fetch });
      return Promise.resolve();
    }
  : Deno
    ? (port, fetch) => new Promise((resolve) => void Deno.serve({ port, hostname: '127.0.0.1', onListen: () => resolve() }, fetch))
    : () => Promise.reject(new Error('neither Bun nor Deno: run this on one of them'));

// Imported only when chosen: a run on Redis loads no node:sqlite, and the reverse.
async function store(): Promise<WebSessionStore> {
  if (env('STORE') === 'sqlite') {
    const { SqliteStore } = await import('shared-session/sqlite');
    return new SqliteStore({ path: env('SQLITE_PATH') });
  }
  const { RedisStore } = await import('shared-session/redis');
  return new RedisStore({ url: env('REDIS_URL') });
}

const sites = JSON.parse(env('SITES')) as string[];
const runtime = Bun ? 'Bun' : 'Deno';
for (const origin of sites) {
  const app: Hono = runtimeSite({ origin, sites, store: await store() });
  await serve(Number(new URL(origin).port), (request) => app.fetch(request));
}
console.log(`READY ${runtime}`);
