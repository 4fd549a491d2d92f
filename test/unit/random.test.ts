import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { base64url } from '../../src/core/platform/web.ts';
import { randomBytesPooled, randomId } from '../../src/core/random.ts';

describe('random bytes and ids (Web Crypto getRandomValues)', () => {
  it('encodes base64url exactly as Buffer does, every length and byte', () => {
    for (let length = 0; length <= 40; length++) {
      const bytes = new Uint8Array(length).map((_, i) => (i * 97 + length * 31) & 255);
      assert.equal(base64url(bytes), Buffer.from(bytes).toString('base64url'), `length ${length}`);
    }
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    assert.equal(base64url(all), Buffer.from(all).toString('base64url'));
  });

  it('hands out plain Uint8Array views of fresh bytes across pool refills', () => {
    const seen = new Set<string>();
    // 8 KiB pool: 2,000 ids of 16 bytes refill it four times.
    for (let i = 0; i < 2000; i++) {
      const id = randomId();
      assert.match(id, /^[A-Za-z0-9_-]{22}$/);
      seen.add(id);
    }
    assert.equal(seen.size, 2000);
    const bytes = randomBytesPooled(12);
    assert.equal(Object.getPrototypeOf(bytes), Uint8Array.prototype);
    assert.equal(bytes.length, 12);
    assert.throws(() => randomBytesPooled(8193), RangeError);
  });
});
