/**
 * The tarball as npm installs it into fresh projects (from the registry, no
 * `--legacy-peer-deps`): every entry point imports under default conditions and under
 * `--conditions=source`, a setting common in monorepos that must not lead into sources
 * the tarball lacks; a project on Express 4.17 that only wants a store can install it and
 * use the store; a project without `pg` or `redis` gets ERR_SHARED_SESSION_PEER, whose
 * message names the install command.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NODE22, ROOT, specifierOf, subpaths } from './package-files.ts';

const ENTRIES = subpaths.map(specifierOf);
/** npm as a user runs it: without the npm_* variables of the `npm run` around this test (npm_config_local_prefix would install into this repo). */
const ENV = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
const INSTALL_TIMEOUT_MS = 300_000;

const dir = mkdtempSync(join(tmpdir(), 'shared-session-install-'));
let tarball = '';

function npm(cwd: string, args: string[]): string {
  try {
    return execFileSync('npm', args, { cwd, env: ENV, encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`npm ${args.join(' ')} failed in ${cwd}:\n${stderr ?? ''}${stdout ?? ''}`, { cause: error });
  }
}

/** A fresh project with `dependencies`, into which `npm install <tarball>` then adds the package. */
function project(name: string, dependencies: Record<string, string>): string {
  const cwd = join(dir, name);
  mkdirSync(cwd);
  writeFileSync(join(cwd, 'package.json'), JSON.stringify({ name, private: true, type: 'module', dependencies }, null, 2));
  npm(cwd, ['install', '--no-audit', '--no-fund', '--prefer-offline']);
  npm(cwd, ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball]);
  return cwd;
}

/** Runs `source` as a file of the project (an ES module unless `file` says .cjs) and parses the JSON it prints. */
function run(cwd: string, source: string, { args = [] as string[], node = process.execPath, file = 'script.mjs' } = {}): unknown {
  writeFileSync(join(cwd, file), source);
  return JSON.parse(execFileSync(node, ['--no-warnings', ...args, file], { cwd, encoding: 'utf8' }));
}

const IMPORT_EVERY_ENTRY = `
  const found = {};
  for (const entry of ${JSON.stringify(ENTRIES)}) {
    const module = await import(entry);
    found[entry] = [import.meta.resolve(entry), Object.keys(module).length];
  }
  console.log(JSON.stringify(found));`;

before(() => {
  const [packed] = JSON.parse(npm(ROOT, ['pack', '--json', '--ignore-scripts', '--pack-destination', dir])) as [{ filename: string }];
  tarball = join(dir, packed.filename);
});

after(() => rmSync(dir, { recursive: true, force: true }));

describe('installed into an Express 5 project with every optional peer', () => {
  let cwd = '';
  before(() => {
    cwd = project('express5', { express: '^5', 'express-session': '^1.19', pg: '^8', redis: '^6' });
  }, { timeout: INSTALL_TIMEOUT_MS });

  for (const conditions of [[], ['--conditions=source']]) {
    for (const [version, node] of [['24', process.execPath], ['22', NODE22]] as const) {
      it(`imports every entry point from dist on Node ${version} ${conditions.join(' ') || 'with default conditions'}`, () => {
        const found = run(cwd, IMPORT_EVERY_ENTRY, { args: conditions, node }) as Record<string, [string, number]>;
        assert.deepEqual(Object.keys(found), ENTRIES);
        for (const [entry, [url, exports]] of Object.entries(found)) {
          assert.match(url, /\/node_modules\/shared-session\/dist\/.+\.js$/, entry);
          assert.ok(exports > 0, `${entry} exports something`);
        }
      });
    }
  }

  it('lets CommonJS require() every entry point (no top-level await anywhere)', () => {
    const source = `const found = {}; for (const entry of ${JSON.stringify(ENTRIES)}) found[entry] = Object.keys(require(entry)).length; console.log(JSON.stringify(found));`;
    for (const node of [process.execPath, NODE22]) {
      const found = run(cwd, source, { node, file: 'script.cjs' }) as Record<string, number>;
      assert.deepEqual(Object.keys(found), ENTRIES);
      for (const [entry, exports] of Object.entries(found)) assert.ok(exports > 0, `${entry} exports something`);
    }
  });
});

describe('installed into an Express 4.17 project that only wants a store', () => {
  let cwd = '';
  before(() => {
    // express-session 1.18 is the oldest the optional peer range admits; it runs on Express 4.
    cwd = project('express4', { express: '~4.17.1', 'express-session': '~1.18.0' });
  }, { timeout: INSTALL_TIMEOUT_MS });

  it('keeps a session in a SqliteStore under express-session on Express 4.17', () => {
    const result = run(cwd, `
      import { createRequire } from 'node:module';
      import express from 'express';
      import session from 'express-session';
      import { SqliteStore } from 'shared-session/sqlite';
      const store = new SqliteStore({ path: ':memory:' });
      const app = express();
      app.use(session({ secret: 'packaging-test', store, resave: false, saveUninitialized: false }));
      app.get('/set', (req, res) => { req.session.visits = 41; res.end('set'); });
      app.get('/get', (req, res) => { res.end(String(req.session.visits + 1)); });
      const server = app.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      const base = 'http://127.0.0.1:' + server.address().port;
      const cookie = (await fetch(base + '/set')).headers.get('set-cookie').split(';')[0];
      const visits = await (await fetch(base + '/get', { headers: { cookie } })).text();
      server.close();
      store.close();
      console.log(JSON.stringify({ express: createRequire(import.meta.url)('express/package.json').version, visits }));`) as { express: string; visits: string };
    assert.match(result.express, /^4\.17\./);
    assert.equal(result.visits, '42');
  });

  it('refuses shared-session/postgres and shared-session/redis with ERR_SHARED_SESSION_PEER naming the install command', () => {
    assert.equal(existsSync(join(cwd, 'node_modules/pg')), false, 'pg is not installed');
    assert.equal(existsSync(join(cwd, 'node_modules/redis')), false, 'redis is not installed');
    const found = run(cwd, `
      import { SharedSessionError } from 'shared-session';
      const found = {};
      for (const entry of ['shared-session/postgres', 'shared-session/redis']) {
        try {
          await import(entry);
          found[entry] = 'imported';
        } catch (error) {
          found[entry] = { shared: error instanceof SharedSessionError, code: error.code, message: error.message };
        }
      }
      console.log(JSON.stringify(found));`) as Record<string, { shared: boolean; code: string; message: string }>;
    for (const [entry, peer] of [['shared-session/postgres', 'pg'], ['shared-session/redis', 'redis']] as const) {
      assert.equal(found[entry]?.shared, true, `${entry}: ${JSON.stringify(found[entry])}`);
      assert.equal(found[entry].code, 'ERR_SHARED_SESSION_PEER');
      assert.ok(found[entry].message.includes(`\`${entry}\``), found[entry].message);
      assert.ok(found[entry].message.includes(`npm install ${peer}`), found[entry].message);
    }
  });
});
