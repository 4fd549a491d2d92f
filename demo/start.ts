/**
 * `npm run demo`: three sites (or those --sites names) that every browser treats as
 * different sites, each in its own process on its own framework, sharing one SQLite file.
 *
 *   http://shop.localhost:3001   Express  (demo/app.ts, the hub)
 *   http://blog.localhost:3002   Fastify  (demo/fastify-app.ts)
 *   http://news.localhost:3003   Hono     (demo/hono-app.ts)
 *
 * Options: --shop-port, --blog-port, --data <dir> (default demo/data), and --store to
 * share another store than the SQLite file: `redis://…`, `redis-cluster://h:p,h:p`,
 * `postgres://…`, `file:<dir>` (see demo/store.ts). --sites shop,blog names the
 * sites (the first is the hub); a site other than shop and blog takes the next port
 * after both of theirs: news on 3003. --frameworks express,hono,… picks each site's
 * framework in the order of --sites (default: shop Express, blog Fastify, news Hono,
 * any other Express).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FRAMEWORKS, frameworkOf, type Framework } from './page.ts';

const { values } = parseArgs({
  options: {
    sites: { type: 'string', default: 'shop,blog,news' },
    frameworks: { type: 'string' },
    'shop-port': { type: 'string', default: '3001' },
    'blog-port': { type: 'string', default: '3002' },
    data: { type: 'string', default: fileURLToPath(new URL('./data', import.meta.url)) },
    store: { type: 'string' },
  },
});

const names = values.sites.split(',');
if (names.length < 2 || new Set(names).size !== names.length || !names.every((name) => /^[a-z][a-z0-9-]*$/.test(name))) {
  console.error(`demo/start.ts: --sites takes two or more distinct lowercase names, like shop,blog,news (got ${values.sites})`);
  process.exit(2);
}
const frameworks: Framework[] = values.frameworks ? (values.frameworks.split(',') as Framework[]) : names.map(frameworkOf);
if (frameworks.length !== names.length || !frameworks.every((framework) => FRAMEWORKS.includes(framework))) {
  console.error(`demo/start.ts: --frameworks takes one of ${FRAMEWORKS.join(', ')} per site, in the order of --sites (got ${values.frameworks})`);
  process.exit(2);
}
// shop and blog keep their own port options, so the default demo stays where the README
// says; any other site takes the next port after both, so no two sites ask for one port.
const ports = new Map([
  ['shop', Number(values['shop-port'])],
  ['blog', Number(values['blog-port'])],
]);
let nextPort = Math.max(...ports.values()) + 1;
const sites = names.map((name) => `http://${name}.localhost:${ports.get(name) ?? nextPort++}`);

const dataDir = resolve(values.data);
mkdirSync(dataDir, { recursive: true });

/** A secret kept in the data folder, so sessions survive a restart of the demo. */
function secretFile(name: string): string {
  const file = join(dataDir, name);
  if (!existsSync(file)) writeFileSync(file, randomBytes(48).toString('base64url'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

const env = {
  ...process.env,
  SHARED_SESSION_SECRET: secretFile('shared-session.secret'),
  SESSION_SECRET: secretFile('session.secret'),
};
const server = fileURLToPath(new URL('./server.ts', import.meta.url));
const storeSpec = values.store ?? join(dataDir, 'sessions.sqlite');
const children: ChildProcess[] = [];
let ready = 0;

for (const [index, origin] of sites.entries()) {
  const child = spawn(process.execPath, [...process.execArgv, server, '--origin', origin, '--sites', sites.join(','), '--store', storeSpec, '--framework', frameworks[index] as Framework], {
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
shared-session demo: ${sites.length} sites on ${sites.length} domains, ${new Set(frameworks).size === 1 ? 'one framework' : `${new Set(frameworks).size} frameworks`}, one session.

${sites.map((origin, index) => `  ${origin}/  (${frameworks[index]})`).join('\n')}

Users: alice / alice-password, bob / bob-password. Log in on one site, open another.
Sessions are kept in ${storeSpec.replace(/\/\/[^@/]*@/, '//…@')}. Ctrl-C stops every site.
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
