import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './ports.ts';

/** The PostgreSQL server every test run shares: never stopped or reconfigured by a test. */
export const SHARED_SERVER = process.env.SHARED_SESSION_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  readonly name: string;
  readonly connectionString: string;
  /** Drop the database (ending, after 5 s, whatever connections are still open on it). */
  drop(): Promise<void>;
}

/** A dedicated, empty database on the shared server, so that test runs never see each other's tables. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `shared_session_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = new URL(SHARED_SERVER);
  url.pathname = `/${name}`;
  return { name, connectionString: url.toString(), drop: () => dropDatabase(name) };
}

async function dropDatabase(name: string): Promise<void> {
  try {
    // Waits up to 5 s for closing connections: pg's pool.end() resolves before its sockets are closed.
    await adminQuery(`DROP DATABASE IF EXISTS ${name}`);
  } catch (error) {
    if ((error as { code?: string }).code !== '55006') throw error;
    await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: SHARED_SERVER, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A throwaway PostgreSQL cluster of this test: it may be stopped, paused and started again on the same port. */
export interface PostgresCluster {
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  readonly connectionString: string;
  /** `fast` ends sessions politely (clients get an error message); `immediate` is a crash (clients see the socket close). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP every process of the server: connections are accepted by the kernel and never answered. */
  pause(): void;
  resume(): void;
  /** Stop (immediately) and delete the data directory. */
  destroy(): Promise<void>;
}

const running = new Set<() => void>();
// A test that dies must not leave a server behind.
process.once('exit', () => {
  for (const kill of running) kill();
});

/** Where initdb and pg_ctl are: POSTGRES_BIN, else the newest Debian/Ubuntu package, else PATH. */
function binDir(): string | undefined {
  if (process.env.POSTGRES_BIN) return process.env.POSTGRES_BIN;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb')));
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  return newest === undefined ? undefined : join(root, newest, 'bin');
}

/**
 * A new PostgreSQL cluster in a temporary directory, listening on a free port of
 * 127.0.0.1 only (its unix socket in that directory). initdb refuses to run as root, so
 * as root (CI, containers) every server command runs as the `postgres` OS user.
 */
export async function startPostgresCluster(): Promise<PostgresCluster> {
  const bin = binDir();
  const tool = (name: string) => (bin ? join(bin, name) : name);
  const asRoot = process.getuid?.() === 0;
  const run = (name: string, args: string[]): Promise<string> =>
    new Promise((resolve, reject) => {
      const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', tool(name), ...args]] : [tool(name), args];
      execFile(file, argv, { timeout: 60_000 }, (error, stdout, stderr) => (error ? reject(new Error(`${name} failed: ${stderr || error.message}`)) : resolve(stdout)));
    });

  const dir = mkdtempSync(join(tmpdir(), 'shared-session-pg-'));
  const data = join(dir, 'data');
  const socket = join(dir, 'socket');
  mkdirSync(socket);
  if (asRoot) {
    const [uid, gid] = ['-u', '-g'].map((flag) => Number(execFileSync('id', [flag, 'postgres']).toString().trim())) as [number, number];
    for (const path of [dir, socket]) chownSync(path, uid, gid);
  }
  await run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync']).catch((error: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  const port = await freePort();
  // fsync off: this data needs to survive the server process, not the machine.
  const serverOptions = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${socket} -c fsync=off -c max_connections=50`;
  const start = () => run('pg_ctl', ['-D', data, '-o', serverOptions, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']).then(() => undefined);
  const stop = (mode: 'fast' | 'immediate' = 'fast') => run('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']).then(() => undefined);
  const postmaster = () => Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const children = (parent: number) => execFileSync('ps', ['-o', 'pid=', '--ppid', String(parent)]).toString().split('\n').map(Number).filter(Boolean);
  const kill = (pid: number, name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch (error) {
      // A backend that exited in the meantime.
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  };
  // The postmaster first when pausing (it forks no backend after that), last when resuming.
  const signal = (name: NodeJS.Signals) => {
    const parent = postmaster();
    if (name === 'SIGSTOP') kill(parent, name);
    for (const pid of children(parent)) kill(pid, name);
    if (name !== 'SIGSTOP') kill(parent, name);
  };
  const killNow = () => {
    try {
      signal('SIGCONT');
      const argv = ['-D', data, '-m', 'immediate', '-W', 'stop'];
      execFileSync(asRoot ? 'runuser' : tool('pg_ctl'), asRoot ? ['-u', 'postgres', '--', tool('pg_ctl'), ...argv] : argv, { stdio: 'ignore' });
    } catch {
      // not running
    }
  };

  await start();
  running.add(killNow);
  return {
    port,
    connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop,
    start,
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    destroy: async () => {
      running.delete(killNow);
      try {
        signal('SIGCONT');
      } catch {
        // not running
      }
      await stop('immediate').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
