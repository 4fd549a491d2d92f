/**
 * `npm run demo`: two sites that every browser treats as different sites, each in its
 * own process, sharing one SQLite file.
 *
 *   http://shop.localhost:3001   http://blog.localhost:3002
 *
 * Options: --shop-port, --blog-port, --data <dir> (default demo/data), and --store to
 * share another store than the SQLite file: `redis://…`, `redis-cluster://h:p,h:p`,
 * `postgres://…`, `file:<dir>` (see demo/store.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    'shop-port': { type: 'string', default: '3001' },
    'blog-port': { type: 'string', default: '3002' },
    data: { type: 'string', default: fileURLToPath(new URL('./data', import.meta.url)) },
    store: { type: 'string' },
  },
});

const dataDir = resolve(values.data);
mkdirSync(dataDir, { recursive: true });

/** A secret kept in the data folder, so sessions survive a restart of the demo. */
function secretFile(name: string): string {
  const file = join(dataDir, name);
  if (!existsSync(file)) writeFileSync(file, randomBytes(48).toString('base64url'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

const sites = [`http://shop.localhost:${values['shop-port']}`, `http://blog.localhost:${values['blog-port']}`];
const env = {
  ...process.env,
  SHARED_SESSION_SECRET: secretFile('shared-session.secret'),
  SESSION_SECRET: secretFile('session.secret'),
};
const server = fileURLToPath(new URL('./server.ts', import.meta.url));
const storeSpec = values.store ?? join(dataDir, 'sessions.sqlite');
const children: ChildProcess[] = [];
let ready = 0;

for (const origin of sites) {
  const child = spawn(process.execPath, [...process.execArgv, server, '--origin', origin, '--sites', sites.join(','), '--store', storeSpec], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    for (const line of chunk.split('\n').filter(Boolean)) {
      if (line.startsWith('ready ') && ++ready === sites.length) banner();
      else if (!line.startsWith('ready ')) console.log(line);
    }
  });
  child.on('exit', (code, signal) => {
    if (stopping) return;
    console.error(`${origin} stopped (${signal ?? `exit ${code}`}); stopping the demo`);
    stop(1);
  });
}

function banner(): void {
  console.log(`
shared-session demo: two sites on two domains, one session.

  ${sites[0]}/
  ${sites[1]}/

Users: alice / alice-password, bob / bob-password. Log in on one site, open the other.
Sessions are kept in ${storeSpec.replace(/\/\/[^@/]*@/, '//…@')}. Ctrl-C stops both sites.
`);
}

let stopping = false;
function stop(code: number): void {
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  process.exitCode = code;
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
