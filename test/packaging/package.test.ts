/**
 * The package as users get it: `npm run build` output, resolved with default conditions
 * (not our own `@shared-session/source`), declarations that type-check a consumer, and a
 * tarball with no sources or tests in it, yet with the target of every export condition
 * a user may set.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { NODE22, OWN_CONDITION, ROOT, packedFiles, pkg, specifierOf, subpaths } from './package-files.ts';

describe('packaging', () => {
  it('resolves every export to built JavaScript under default conditions', () => {
    for (const subpath of subpaths) {
      const specifier = specifierOf(subpath);
      const script = `const m = await import(${JSON.stringify(specifier)}); console.log(import.meta.resolve(${JSON.stringify(specifier)}) + ' ' + Object.keys(m).length);`;
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' }).trim();
      assert.match(out, /\/dist\/.+\.js [1-9]\d* ?$/, `${specifier} → ${out}`);
    }
  });

  it('runs on Node 22, the oldest supported version', () => {
    const script = `
      import { SharedSession } from 'shared-session';
      import { sharedSession } from 'shared-session/express';
      import { SqliteStore } from 'shared-session/sqlite';
      import { FileStore } from 'shared-session/file';
      import { postgresSchema } from 'shared-session/postgres';
      import { RedisStore } from 'shared-session/redis';
      const store = new SqliteStore({ path: ':memory:' });
      if (typeof FileStore !== 'function' || typeof RedisStore !== 'function' || !postgresSchema().includes('CREATE TABLE')) throw new Error('stores');
      const first = await store.claimOnce('k', 1000);
      const second = await store.claimOnce('k', 1000);
      const core = new SharedSession({ sites: ['https://a.example', 'https://b.example'], secret: 'JCSqKVzUYsGLLizIjTMHO2HHlyKac7/0lxoU8dBJmb8lyhhOS8mlMmWjQf/fdv9K' });
      sharedSession({ sites: ['https://a.example', 'https://b.example'], secret: 'GOSjmX3LIv+m0jaax+GsoJg82gCzikpyXapJFEUSxulkjpiBFgMei6k8p1Om7ccv' });
      store.close();
      console.log(process.version, first, second, core.sites.length);`;
    const out = execFileSync(NODE22, ['--no-warnings', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' }).trim();
    assert.match(out, /^v22\.\d+\.\d+ true false 2$/);
  });

  it('declares the core without Node types: no Buffer in any declaration of the core (issue 10)', () => {
    const dir = join(ROOT, 'dist');
    const files = ['index.d.ts', ...readdirSync(join(dir, 'core')).filter((name) => name.endsWith('.d.ts')).map((name) => `core/${name}`)];
    assert.ok(files.includes('core/options.d.ts'), 'the core is built');
    for (const file of files) {
      // Comments may name Buffer (as one kind of Uint8Array); declarations may not.
      const code = readFileSync(join(dir, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
      assert.doesNotMatch(code, /\bBuffer\b/, file);
      // The platform's Node implementation (core/platform/node.d.ts) is the one place for node:crypto's types.
      assert.doesNotMatch(code, /from ['"]node:/, `${file} imports no Node module type`);
    }
  });

  it('ships declarations that type-check a consumer without the source condition', () => {
    execFileSync(process.execPath, [`${ROOT}/node_modules/typescript/bin/tsc`, '-p', `${ROOT}/test/packaging/tsconfig.consumer.json`], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
  });

  it('packs dist and docs, and no sources, tests or demo data', () => {
    const files = [...packedFiles()];
    for (const subpath of subpaths) {
      const target = (pkg.exports[subpath] as { default: string }).default.slice(2);
      assert.ok(files.includes(target), `${target} is packed`);
      assert.ok(files.includes(target.replace(/\.js$/, '.d.ts')), `declarations of ${target} are packed`);
    }
    assert.deepEqual(files.filter((file) => /^(src|test|demo|bench)\//.test(file)), []);
  });

  it('packs the target of every `imports` condition (#platform) a user may set, each a built file', () => {
    const files = packedFiles();
    assert.ok(pkg.imports['#platform'], 'the core reaches its platform through #platform');
    // Conditions nest (`@shared-session/web-platform` holds a source and a built target): every built one is packed.
    const check = (where: string, conditions: Record<string, unknown>): void => {
      for (const [condition, target] of Object.entries(conditions)) {
        if (condition === OWN_CONDITION) continue;
        if (typeof target === 'string') assert.ok(files.has(target.slice(2)), `${where}["${condition}"] = ${target} is packed`);
        else check(`${where}["${condition}"]`, target as Record<string, unknown>);
      }
    };
    for (const [name, conditions] of Object.entries(pkg.imports)) check(`imports["${name}"]`, conditions);
    for (const name of ['node', 'web', 'types']) assert.ok(files.has(`dist/core/platform/${name}.js`), `dist/core/platform/${name}.js is packed`);
  });

  it('packs the target of every export condition a user may set (all but our own)', () => {
    const files = packedFiles();
    for (const subpath of subpaths) {
      for (const [condition, target] of Object.entries(pkg.exports[subpath] as Record<string, string>)) {
        if (condition === OWN_CONDITION) continue;
        assert.ok(files.has(target.slice(2)), `exports["${subpath}"]["${condition}"] = ${target} is packed`);
      }
    }
  });
});
