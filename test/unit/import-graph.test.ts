import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';

// The shape of the house (docs/ARCHITECTURE.md, "The import rule"), checked on the source
// itself: no file under src/ reaches itself through relative imports, type-only ones
// included; and an adapter (any folder of src/ but core/ and stores/) reaches the core
// only through its public entry or the adapters' entry.

const ROOT = resolve(import.meta.dirname, '../..');
const SRC = join(ROOT, 'src');
const NOT_ADAPTERS = new Set(['core', 'stores']);
const ADAPTER_ENTRIES = new Set(['src/index.ts', 'src/core/adapter.ts']);

// `import … from './x.ts'`, `export … from './x.ts'`, `import './x.ts'`, `import('./x.ts')`,
// over several lines too. Comments are dropped first, so a commented-out import is none.
const IMPORT = /\b(?:import|export)\s+(?:type\s+)?[\w*{}\s,$]*?\bfrom\s*['"](\.{1,2}\/[^'"]+)['"]|\bimport\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The relative imports of a source text, as written. */
function relativeImports(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
  return [...code.matchAll(IMPORT)].map((match) => (match[1] ?? match[2])!);
}

/** Every source file under src/ (paths relative to the repository) and the files it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const imports = relativeImports(readFileSync(file, 'utf8')).map((spec) => relative(ROOT, resolve(dirname(file), spec)));
    graph.set(relative(ROOT, file), [...new Set(imports)]);
  }
  return graph;
}

/** Each cycle once, as the path of files that closes it (Tarjan's strongly connected components, then one path through each). */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const seen = state.get(next);
      if (seen === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (seen === undefined) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return found;
}

describe('the import graph of src/', () => {
  const graph = importGraph();

  it('finds the files and their imports (the parser works)', () => {
    assert.ok(graph.size > 20, `only ${graph.size} files under src/`);
    assert.ok(graph.get('src/index.ts')?.includes('src/core/shared-session.ts'));
    assert.deepEqual(relativeImports("import type {\n  A,\n  B,\n} from './a.ts';\nexport { c } from '../c.ts';\n// import { d } from './d.ts';\nimport './e.ts';"), [
      './a.ts',
      '../c.ts',
      './e.ts',
    ]);
    assert.deepEqual(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]])), [['a', 'b', 'c', 'a']]);
  });

  it('resolves every relative import to a file under src/', () => {
    const missing = [...graph].flatMap(([file, imports]) => imports.filter((target) => !graph.has(target)).map((target) => `${file} → ${target}`));
    assert.deepEqual(missing, []);
  });

  it('has no cycle, type-only imports included', () => {
    const found = cycles(graph).map((cycle) => cycle.join(' → '));
    assert.deepEqual(found, [], `import cycles under src/:\n  ${found.join('\n  ')}`);
  });

  it('keeps every adapter to the core’s public entry (src/index.ts) or the adapters’ entry (src/core/adapter.ts)', () => {
    const breaches = [...graph].flatMap(([file, imports]) => {
      const folder = file.split('/')[1];
      if (folder === undefined || !file.startsWith('src/') || file.split('/').length < 3 || NOT_ADAPTERS.has(folder)) return [];
      return imports.filter((target) => (target.startsWith('src/core/') || target === 'src/index.ts') && !ADAPTER_ENTRIES.has(target)).map((target) => `${file} → ${target}`);
    });
    assert.deepEqual(breaches, [], `adapters importing core internals:\n  ${breaches.join('\n  ')}`);
  });

  it('keeps adapters apart: none imports another, but the Hono adapter the fetch handler’s entry (src/web/index.ts)', () => {
    // Layers an adapter may build on: adapter folder → files of other folders it may import.
    const layers: Readonly<Record<string, ReadonlySet<string>>> = { hono: new Set(['src/web/index.ts']) };
    const breaches = [...graph].flatMap(([file, imports]) => {
      const folder = file.split('/')[1];
      if (folder === undefined || file.split('/').length < 3 || NOT_ADAPTERS.has(folder)) return [];
      return imports
        .filter((target) => {
          const other = target.split('/')[1];
          if (target.split('/').length < 3 || other === undefined || other === folder || other === 'core') return false;
          return !(layers[folder]?.has(target) ?? false);
        })
        .map((target) => `${file} → ${target}`);
    });
    assert.deepEqual(breaches, [], `adapters importing each other or a store:\n  ${breaches.join('\n  ')}`);
    assert.ok(graph.get('src/hono/index.ts')?.includes('src/web/index.ts'), 'the check sees the Hono adapter');
    assert.ok(graph.has('src/fastify/index.ts') && graph.has('src/express/index.ts'), 'the check sees the Express and Fastify adapters');
  });
});
