/**
 * The README's Fastify quick start is a file this test runs: two sites of examples/fastify.ts
 * on one store share a cart. (Kept apart from readme.test.ts so that each adapter's quick
 * start has its own test.)
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
const EXAMPLE = 'examples/fastify.ts';

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

describe('the README’s Fastify quick start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shared-session-fastify-readme-'));
  const children: ChildProcess[] = [];
  after(() => {
    for (const child of children) child.kill();
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

  it('runs as two sites that share a cart', async () => {
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
    const visitor = new Client();
    assert.equal((await visitor.fetch(`${sites[0]}/cart`, { method: 'POST' })).status, 303);
    const page = (await visitor.navigate(`${sites[0]}/`)).at(-1)!;
    assert.match(page.body, /cart: 1 items/);
    const [src] = scriptSources(page.body);
    assert.ok(src && src.startsWith(`${sites[1]}/shared-session/`), 'a script for the other site');
    assert.equal((await visitor.fetch(src, { headers: scriptLoad(sites[0]!) })).headers['shared-session-reason'], 'ACCEPTED');
    const steps = await visitor.navigate(`${sites[1]}/`);
    assert.equal(steps.length, 1, steps.map((step) => step.url).join(' → '));
    assert.match(steps[0]!.body, /cart: 1 items/);
  });
});
