/**
 * The README cannot rot: its quick start is a file a test runs, its options table names
 * every option, and its reason table every reason code with its status.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { REJECT_STATUS } from 'shared-session';
import { OPTION_NAMES } from '../../src/core/options.ts';
import { EXPRESS_OPTION_NAMES } from '../../src/express/index.ts';
import { FASTIFY_OPTION_NAMES } from '../../src/fastify/index.ts';
import { HONO_OPTION_NAMES } from '../../src/hono/index.ts';
import { KOA_OPTION_NAMES } from '../../src/koa/index.ts';
import { FETCH_OPTION_NAMES, WEB_SESSION_OPTION_NAMES } from '../../src/web/index.ts';
import { scriptSources } from '../helpers/express-site.ts';
import { Client } from '../helpers/http.ts';
import { freePort } from '../helpers/ports.ts';
import { scriptLoad } from '../helpers/push.ts';
import { SESSION_SECRET, SHARED_SECRET } from '../helpers/sites.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The code block that follows `<!-- example: path -->` (or `<!-- excerpt: path -->`) in the README. */
function exampleBlock(path: string, kind: 'example' | 'excerpt' = 'example'): string {
  const marker = `<!-- ${kind}: ${path} -->\n`;
  const start = README.indexOf(marker);
  assert.ok(start >= 0, `README embeds ${path}`);
  const fence = README.indexOf('\n', start + marker.length) + 1;
  const end = README.indexOf('\n```\n', fence);
  return README.slice(fence, end + 1);
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      await new Client().fetch(`http://127.0.0.1:${port}/`, { headers: { host: `x.localhost:${port}` } });
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`nothing listens on ${port}`);
}

describe('README', () => {
  const children: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'shared-session-readme-'));
  after(() => {
    for (const child of children) child.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const example of ['examples/express.ts', 'examples/store-promises.ts']) {
    it(`shows ${example} unchanged`, () => {
      assert.equal(exampleBlock(example), readFileSync(join(ROOT, example), 'utf8'));
    });
  }

  it('runs the store example with promises', () => {
    const run = spawnSync(process.execPath, ['--conditions=@shared-session/source', join(ROOT, 'examples/store-promises.ts')], {
      env: { ...process.env, SESSION_DB: join(dir, 'promises.sqlite') },
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, "1 [ 'tea' ]\nnull\n");
  });

  for (const excerpt of ['examples/real-app/app.ts']) {
    it(`shows lines of ${excerpt} as they are, in order`, () => {
      // Compared without indentation (the README drops the enclosing function's); a line
      // `// …` leaves lines out, and lines without one between them are neighbours in the file.
      const file = readFileSync(join(ROOT, excerpt), 'utf8').split('\n').map((line) => line.trim());
      let next = 0;
      let adjacent = false;
      for (const [index, line] of exampleBlock(excerpt, 'excerpt').trimEnd().split('\n').entries()) {
        const text = line.trim();
        if (text === '// …') {
          adjacent = false;
          continue;
        }
        const found = adjacent ? (file[next] === text ? next : -1) : file.indexOf(text, next);
        assert.ok(found >= 0, `README line ${index + 1} of the ${excerpt} excerpt is ${adjacent ? 'the next line' : 'a later line'} of the file: ${text}`);
        next = found + 1;
        adjacent = true;
      }
    });
  }

  it('runs the Express quick start as two sites that share a cart', async () => {
    const ports = [await freePort(), await freePort()];
    const sites = ports.map((port, i) => `http://site${i}.localhost:${port}`);
    for (const port of ports) {
      const child = spawn(process.execPath, ['--conditions=@shared-session/source', join(ROOT, 'examples/express.ts')], {
        env: { ...process.env, SITES: sites.join(','), PORT: String(port), SHARED_SESSION_SECRET: SHARED_SECRET, SESSION_SECRET, SESSION_DB: join(dir, 'quickstart.sqlite') },
        stdio: 'inherit',
      });
      children.push(child);
    }
    await Promise.all(ports.map(waitForPort));
    const visitor = new Client();
    assert.equal((await visitor.fetch(`${sites[0]}/cart`, { method: 'POST' })).status, 303);
    // The next page load links the cart's session (after a hop: the browser is new to both
    // sites), and its loader pushes it to the other site.
    const page = (await visitor.navigate(`${sites[0]}/`)).at(-1)!;
    assert.match(page.body, /cart: 1 items/);
    const [src] = scriptSources(page.body);
    assert.ok(src && src.startsWith(`${sites[1]}/shared-session/`), 'a script for the other site');
    const pushed = await visitor.fetch(src, { headers: scriptLoad(sites[0]!) });
    assert.equal(pushed.headers['shared-session-reason'], 'ACCEPTED');
    // The voucher it left is taken by the other site's next page load: the cart, without a hop.
    const steps = await visitor.navigate(`${sites[1]}/`);
    assert.equal(steps.length, 1, steps.map((step) => step.url).join(' → '));
    assert.match(steps[0]!.body, /cart: 1 items/);
  });

  it('documents every option', () => {
    for (const name of OPTION_NAMES) {
      assert.ok(new RegExp(`^\\| \`${name}\` \\|`, 'm').test(README), `option ${name} is in the options table`);
    }
    // Each adapter's own options, on rows marked with the adapter: `| \`nonce\` (Koa) |`.
    const adapters: [string, ReadonlySet<string>][] = [
      ['Express', EXPRESS_OPTION_NAMES],
      ['Fastify', FASTIFY_OPTION_NAMES],
      ['Koa', KOA_OPTION_NAMES],
      ['fetch', FETCH_OPTION_NAMES],
      ['fetch', new Set([...WEB_SESSION_OPTION_NAMES].map((name) => `session.${name}`))],
      ['Hono', HONO_OPTION_NAMES],
    ];
    for (const [adapter, names] of adapters) {
      assert.ok(names.size > 0, `${adapter} exports its option names`);
      for (const name of names) {
        const row = new RegExp(`^\\| \`${name.replaceAll('.', '\\.')}\` \\(${adapter}\\) \\|`, 'm');
        assert.ok(row.test(README), `${adapter} option ${name} is in the options table`);
      }
    }
  });

  it('documents every reason code with its status', () => {
    for (const [reason, status] of Object.entries(REJECT_STATUS)) {
      assert.ok(new RegExp(`^\\| \`${reason}\` \\| ${status} \\|`, 'm').test(README), `reason ${reason} is in the table with status ${status}`);
    }
  });
});
