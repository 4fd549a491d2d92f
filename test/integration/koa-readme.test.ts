/**
 * The README's Koa quick start is a file this test runs: two sites of examples/koa.ts on one
 * store share a cart, both ways. (Kept apart from readme.test.ts, as each adapter's quick
 * start is.)
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
const EXAMPLE = 'examples/koa.ts';

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

describe('the README’s Koa quick start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shared-session-koa-readme-'));
  const children: ChildProcess[] = [];
  after(async () => {
    // Wait for the sites to exit: their ports must be free for the next test file.
    await Promise.all(children.map((child) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()).kill()))));
    rmSync(dir, { recursive: true, force: true });
  });

  it(`shows ${EXAMPLE} unchanged`, () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const marker = `<!-- example: ${EXAMPLE} -->\n`;
    const start = readme.indexOf(marker);
    assert.ok(start >= 0, `README embeds ${EXAMPLE}`);
    const fence = readme.indexOf('\n', start + marker.length) + 1;
    assert.equal(readme.slice(fence, readme.indexOf('\n```\n', fence) + 1), readFileSync(join(ROOT, EXAMPLE), 'utf8'));
  });

  it('runs as two sites that share a cart, both ways', async () => {
    const ports = [await freePort(), await freePort()];
    const sites = ports.map((port, i) => `http://site${i}.localhost:${port}`);
    for (const port of ports) {
      children.push(
        spawn(process.execPath, ['--conditions=@shared-session/source', join(ROOT, EXAMPLE)], {
          env: { ...process.env, SITES: sites.join(','), PORT: String(port), SHARED_SESSION_SECRET: SHARED_SECRET, SESSION_SECRET, SESSION_DB: join(dir, 'quickstart.sqlite') },
          stdio: 'inherit',
        }),
      );
    }
    await Promise.all(ports.map(waitForPort));
    const [first, second] = sites as [string, string];
    const visitor = new Client();
    assert.equal((await visitor.fetch(`${first}/cart`, { method: 'POST' })).status, 303);
    const page = (await visitor.navigate(`${first}/`)).at(-1)!;
    assert.match(page.body, /cart: 1 items/);
    const [src] = scriptSources(page.body);
    assert.ok(src !== undefined && src.startsWith(`${second}/shared-session/`), 'a script for the other site');
    assert.equal((await visitor.fetch(src, { headers: scriptLoad(first) })).headers['shared-session-reason'], 'ACCEPTED');
    // The voucher the push left is taken by the other site's next page load: the cart, without a hop.
    const steps = await visitor.navigate(`${second}/`);
    assert.equal(steps.length, 1, steps.map((step) => step.url).join(' → '));
    assert.match(steps[0]!.body, /cart: 1 items/);
    // One session now: a change on the second site is the first site's too.
    assert.equal((await visitor.fetch(`${second}/cart`, { method: 'POST' })).status, 303);
    assert.match((await visitor.navigate(`${first}/`)).at(-1)!.body, /cart: 2 items/);
  });
});
