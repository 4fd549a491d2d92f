/** What the packaging tests share: the package's manifest, entry points, packed files and the Node 22 binary. */
import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, unknown>; imports: Record<string, Record<string, string>> };
/** The export subpaths with code behind them (`.`, `./express`, …). */
export const subpaths = Object.keys(pkg.exports).filter((key) => key !== './package.json');
/** The specifier a user imports for a subpath. */
export const specifierOf = (subpath: string): string => (subpath === '.' ? 'shared-session' : `shared-session/${subpath.slice(2)}`);
/** The export condition of this repo's own commands, which run the TypeScript sources; nobody else sets it. */
export const OWN_CONDITION = '@shared-session/source';
/** The workspace tools/node22's Node; in a worktree whose node_modules links to another checkout, that checkout's. */
export const NODE22 = join(realpathSync(join(ROOT, 'node_modules')), '../tools/node22/node_modules/node/bin/node');

/** The paths `npm pack` would put into the tarball. */
export function packedFiles(): Set<string> {
  const [report] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' })) as [{ files: { path: string }[] }];
  return new Set(report.files.map((file) => file.path));
}
