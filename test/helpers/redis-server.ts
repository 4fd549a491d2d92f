import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './ports.ts';

/**
 * Throwaway `redis-server` processes for tests and benchmarks: each on a free port of
 * 127.0.0.1 with its own temporary directory, never the shared Redis on 6379.
 */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** The server's directory (its AOF lives here when `persist` is on). */
  readonly dir: string;
  /** Whether the process is running. */
  readonly running: boolean;
  /** End the process, like a crash (SIGKILL) or a clean shutdown (SIGTERM); `start()` brings it back. */
  kill(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /** Start the server again on the same port and directory, and wait until it answers. */
  start(): Promise<void>;
  /** Freeze the process (SIGSTOP): connections stay open, nothing is answered, like a hung server. */
  pause(): void;
  /** Let a paused process run again (SIGCONT). */
  resume(): void;
  /** End the process for good and remove its directory. */
  stop(): Promise<void>;
}

export interface StartRedisOptions {
  /**
   * Keep the data across `kill()`/`start()`: an append-only file synced on every write.
   * Default false: `--save '' --appendonly no`, the data dies with the process.
   */
  persist?: boolean;
  /** More `redis-server` arguments, e.g. `['--cluster-enabled', 'yes']`. */
  args?: readonly string[];
}

const running = new Set<ChildProcess>();
// A test run that ends without cleaning up must not leave servers behind.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Run `redis-cli -p <port> ...args`; resolves its output. */
export function redisCli(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`redis-cli ${args.join(' ')} failed: ${stderr || error.message}`));
      else resolve(stdout.trim());
    });
  });
}

/** Wait until `check` resolves true, polling; throw after `timeoutMs`. */
async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Start a throwaway `redis-server` on a free port; `stop()` it when done. */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'shared-session-redis-'));
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    if (port === 6379) continue;
    try {
      return await launch(port, dir, options);
    } catch (error) {
      // Another process took the port between freePort() and the server's bind: try another.
      if (attempt >= 4) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
}

async function launch(port: number, dir: string, options: StartRedisOptions): Promise<RedisServer> {
  const persistence = options.persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...persistence, '--loglevel', 'warning', ...(options.args ?? [])];
  let child: ChildProcess | undefined;
  let log = '';

  const start = async (): Promise<void> => {
    if (child) throw new Error(`redis-server on ${port} is already running`);
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    running.add(proc);
    proc.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
    proc.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
    proc.once('exit', () => {
      running.delete(proc);
      if (child === proc) child = undefined;
    });
    try {
      await waitFor(`redis-server on port ${port}`, async () => {
        if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`redis-server on ${port} exited:\n${log}`);
        return (await redisCli(port, 'PING')) === 'PONG';
      });
    } catch (error) {
      await kill('SIGKILL');
      throw new Error(`redis-server on port ${port} did not start:\n${log}`, { cause: error });
    }
  };

  const kill = (signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) {
      child = undefined;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGCONT'); // a paused process ignores SIGTERM until it runs again
      proc.kill(signal);
    });
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    get running() {
      return child !== undefined;
    },
    kill,
    start,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    stop: async () => {
      await kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A Redis Cluster of masters on 127.0.0.1, no replicas. */
export interface RedisClusterServers {
  readonly nodes: readonly RedisServer[];
  readonly ports: readonly number[];
  readonly urls: readonly string[];
  /** For node-redis `createCluster()`: `[{ url }]` of every node. */
  readonly rootNodes: readonly { url: string }[];
  /** End every node and remove their directories. */
  stop(): Promise<void>;
}

/**
 * Start `masters` (default 3) cluster-enabled servers, join them with
 * `redis-cli --cluster create`, and wait until every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(masters = 3): Promise<RedisClusterServers> {
  const nodes: RedisServer[] = [];
  try {
    for (let i = 0; i < masters; i++) {
      // The cluster bus needs a second port; the default (port + 10000) may be taken or out of range.
      const busPort = await freePort();
      const server = await startRedis({ args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-port', String(busPort), '--cluster-node-timeout', '5000'] });
      nodes.push(server);
    }
    const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
    await redisCli(nodes[0]!.port, '--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes');
    await waitFor(
      'cluster_state:ok on every node',
      async () => {
        const infos = await Promise.all(nodes.map((node) => redisCli(node.port, 'CLUSTER', 'INFO')));
        return infos.every((info) => info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${masters}`) && info.includes('cluster_slots_ok:16384'));
      },
      60_000,
    );
  } catch (error) {
    await Promise.all(nodes.map((node) => node.stop()));
    throw error;
  }
  return {
    nodes,
    ports: nodes.map((node) => node.port),
    urls: nodes.map((node) => node.url),
    rootNodes: nodes.map((node) => ({ url: node.url })),
    stop: async () => {
      await Promise.all(nodes.map((node) => node.stop()));
    },
  };
}
