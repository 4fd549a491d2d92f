/**
 * The matrix itself: every adapter with itself, then every ordered pair; and a pair really
 * runs its two sites on two adapters. Express under a second name stands in for a second
 * framework until one joins ADAPTERS, so that the pair code runs today.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client } from '../helpers/http.ts';
import { ADAPTERS, combinations, describeMatrix } from './adapters.ts';
import { login, whoami } from './browser.ts';
import type { SpecAdapter } from './site.ts';
import { expressAdapter } from './sites/express.ts';

/** Express, counted per start: shows which adapter started which site. */
function counted(name: string): SpecAdapter & { readonly origins: string[] } {
  const origins: string[] = [];
  return {
    name,
    origins,
    start: async (options) => {
      origins.push(options.origin);
      return expressAdapter.start(options);
    },
  };
}

describe('the spec matrix', () => {
  it('lists each adapter once, Express among them', () => {
    const names = ADAPTERS.map((adapter) => adapter.name);
    assert.ok(names.includes('express'));
    assert.equal(new Set(names).size, names.length);
  });

  it('combines each adapter with itself, then every ordered pair of two different ones', () => {
    const [x, y, z] = ['x', 'y', 'z'].map((name): SpecAdapter => ({ name, start: () => Promise.reject(new Error('not started')) }));
    assert.deepEqual(combinations([x!, y!, z!], true).map((combination) => combination.label), ['x', 'y', 'z', 'x → y', 'x → z', 'y → x', 'y → z', 'z → x', 'z → y']);
    assert.deepEqual(combinations([x!, y!, z!], false).map((combination) => combination.label), ['x', 'y', 'z']);
    assert.deepEqual(combinations([x!], true).map((combination) => [combination.a.name, combination.b.name]), [['x', 'x']]);
  });
});

const first = counted('express-1');
const second = counted('express-2');
const started: string[] = [];
describeMatrix(
  'a pair of adapters',
  (ctx) => {
    it('starts site A on the first adapter of its combination and B on the second, and they share', async () => {
      const { a, b, combination } = ctx;
      started.push(combination.label);
      const adapterOf = (adapter: SpecAdapter) => (adapter === first ? first : second);
      const [onA, onB] = [adapterOf(combination.a), adapterOf(combination.b)];
      assert.ok(onA.origins.includes(a.origin) && onB.origins.includes(b.origin));
      if (onA !== onB) assert.ok(!onB.origins.includes(a.origin) && !onA.origins.includes(b.origin), 'each site on its own adapter');
      const browser = new Client();
      await login(browser, a.origin, 'alice');
      await browser.navigate(`${b.origin}/`);
      assert.equal((await whoami(browser, b.origin)).user, 'alice');
    });
  },
  { adapters: [first, second] },
);

describe('the combinations run', () => {
  it('ran once per combination', () => {
    assert.deepEqual(started, ['express-1', 'express-2', 'express-1 → express-2', 'express-2 → express-1']);
  });
});
