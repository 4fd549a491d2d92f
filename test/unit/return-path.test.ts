import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { safeReturnPath, withSkipMarker } from '../../src/core/return-path.ts';

const ORIGIN = 'https://b.example';

describe('hop return paths (no open redirect)', () => {
  it('keeps same-origin paths with their query', () => {
    assert.equal(safeReturnPath('/', ORIGIN), '/');
    assert.equal(safeReturnPath('/cart?item=tea&x=1', ORIGIN), '/cart?item=tea&x=1');
    assert.equal(safeReturnPath('/a/../b', ORIGIN), '/b');
    assert.equal(safeReturnPath('/%2F%2Fevil.example', ORIGIN), '/%2F%2Fevil.example');
  });

  it('refuses everything a browser could read as another origin', () => {
    for (const target of [
      '//evil.example/',
      '//evil.example',
      '/\\evil.example',
      '\\\\evil.example',
      '/.//evil.example',
      '/./..//evil.example',
      'https://evil.example/',
      'https:evil.example',
      'evil.example',
      '',
      '/\t/evil.example',
      '/\n/evil.example',
      '/ok\r\nSet-Cookie: x=1',
      'javascript:alert(1)',
      `/${'a'.repeat(3000)}`,
    ]) {
      assert.equal(safeReturnPath(target, ORIGIN), undefined, JSON.stringify(target));
    }
  });

  it('marks a path so that the next page load does not hop again', () => {
    assert.equal(withSkipMarker('/'), '/?shared-session-skip=1');
    assert.equal(withSkipMarker('/a?b=c'), '/a?b=c&shared-session-skip=1');
  });
});
