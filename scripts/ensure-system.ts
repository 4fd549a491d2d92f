/**
 * Make sure the Debian packages the test suite drives are installed: the browsers for
 * the browser tests, and the Redis and PostgreSQL server binaries that the store tests
 * start as throwaway servers on free ports. Installs what is missing with apt-get (as
 * root, or through passwordless sudo); otherwise stops with the exact command to run.
 * Never downloads a browser any other way.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

function onPath(binary: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${binary}`]).status === 0;
}

function postgresBinaries(): boolean {
  const root = '/usr/lib/postgresql';
  return existsSync(root) && readdirSync(root).some((version) => existsSync(`${root}/${version}/bin/initdb`) && existsSync(`${root}/${version}/bin/pg_ctl`));
}

const NEEDED: readonly { present: () => boolean; pkg: string }[] = [
  { present: () => existsSync('/usr/bin/chromium'), pkg: 'chromium' },
  { present: () => existsSync('/usr/bin/firefox-esr'), pkg: 'firefox-esr' },
  { present: () => onPath('redis-server'), pkg: 'redis-server' },
  { present: () => onPath('redis-cli'), pkg: 'redis-tools' },
  { present: postgresBinaries, pkg: 'postgresql' },
];

const missing = NEEDED.filter((need) => !need.present()).map((need) => need.pkg);
if (missing.length === 0) process.exit(0);

const command = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}`;
const isRoot = process.getuid?.() === 0;
const sudo = !isRoot && spawnSync('sudo', ['-n', 'true']).status === 0;
if (!isRoot && !sudo) {
  console.error(`The tests need Debian packages that are missing: ${missing.join(', ')}.\nInstall them with:\n  sudo sh -c '${command}'`);
  process.exit(1);
}
console.log(`Installing ${missing.join(', ')} from Debian's packages…`);
const run = (args: string[]): void => {
  execFileSync(sudo ? 'sudo' : args[0]!, sudo ? ['-n', ...args] : args.slice(1), { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
};
run(['apt-get', 'update']);
run(['apt-get', 'install', '-y', '--no-install-recommends', ...missing]);
