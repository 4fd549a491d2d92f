/**
 * The README's Hono quick start is a file this test runs: next to the Express quick start,
 * on one store, the two share a cart.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { scriptSources } from '../helpers/express-site.ts';
import { Client } from '../helpers/http.ts';
import { freePort } from '../helpers/ports.ts';
import { scriptLoad } from '../helpers/push.ts';
import { SESSION_SECRET, SHARED_SECRET } from '../helpers/sites.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

function exampleBlock(path: string): string {
  const marker = `<!-- example: ${path} -->\n`;
  const start = README.indexOf(marker);
  assert.ok(start >= 0, `README embeds ${path}`);
  const fence = README.indexOf('\n', start + marker.length) + 1;
  return README.slice(fence, README.indexOf('\n```\n', fence) + 1);
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

describe('README: the Hono quick start', () => {
  const children: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'shared-session-hono-readme-'));
  after(async () => {
    // Wait for the sites to exit: their ports must be free for the next test file.
    const exits = children.map((child) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()).kill())));
    await Promise.all(exits);
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows examples/hono.ts unchanged', () => {
    assert.equal(exampleBlock('examples/hono.ts'), readFileSync(join(ROOT, 'examples/hono.ts'), 'utf8'));
  });

  it('runs next to the Express quick start on one store: a cart made on either is seen on the other', async () => {
    const ports = [await freePort(), await freePort()];
    const sites = ports.map((port, i) => `http://site${i}.localhost:${port}`);
    for (const [index, example] of ['examples/express.ts', 'examples/hono.ts'].entries()) {
      children.push(
        spawn(process.execPath, ['--conditions=@shared-session/source', join(ROOT, example)], {
          env: { ...process.env, SITES: sites.join(','), PORT: String(ports[index]), SHARED_SESSION_SECRET: SHARED_SECRET, SESSION_SECRET, SESSION_DB: join(dir, 'quickstart.sqlite') },
          stdio: 'inherit',
        }),
      );
    }
    await Promise.all(ports.map(waitForPort));
    const [express, hono] = sites as [string, string];
    const visitor = new Client();
    assert.equal((await visitor.fetch(`${express}/cart`, { method: 'POST' })).status, 303);
    const page = (await visitor.navigate(`${express}/`)).at(-1)!;
    assert.match(page.body, /cart: 1 items/);
    const [src] = scriptSources(page.body);
    assert.ok(src !== undefined && src.startsWith(`${hono}/shared-session/`), 'a script for the Hono site');
    assert.equal((await visitor.fetch(src, { headers: scriptLoad(express) })).headers['shared-session-reason'], 'ACCEPTED');
    const steps = await visitor.navigate(`${hono}/`);
    assert.equal(steps.length, 1, steps.map((step) => step.url).join(' → '));
    assert.match(steps[0]!.body, /cart: 1 items/);
    // One session now: the Hono site's change is the Express site's too.
    assert.equal((await visitor.fetch(`${hono}/cart`, { method: 'POST' })).status, 303);
    assert.match((await visitor.navigate(`${express}/`)).at(-1)!.body, /cart: 2 items/);
  });
});
