import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deriveKeys } from '../../src/core/keys.ts';
import { MAX_TOKEN_LENGTH, Purpose, Sealer, TOKEN_VERSION } from '../../src/core/token.ts';

const OLD = 'MBrhRwSKwm5EGYfHDFQR2oHPFLycafgsZjJMMcDx94GRhznl/ERBAX+hjlUhTHjT';
const NEW = '/7BUvtzWgTGBZiJpxseho8V7oEgPeP4J0NZT54NgnnQCYVx7hZmoBZRi8GB2xINL';
const payload = { sid: 'abc', src: 'https://a.example', dst: 'https://b.example', iat: 1_700_000_000_000, jti: 'j1' };

const sealer = new Sealer(deriveKeys(NEW));

function flipBit(token: string, byteIndex: number, bit = 0): string {
  const raw = Buffer.from(token, 'base64url');
  raw[byteIndex] = (raw[byteIndex] as number) ^ (1 << bit);
  return raw.toString('base64url');
}

describe('sealed tokens', () => {
  it('round-trips a payload and reports the key that opened it', () => {
    const token = sealer.seal(Purpose.push, payload);
    assert.match(token, /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(sealer.open(Purpose.push, token), { ok: true, payload, keyIndex: 0 });
  });

  it('starts with the version and purpose bytes', () => {
    const raw = Buffer.from(sealer.seal(Purpose.hopAnswer, payload), 'base64url');
    assert.equal(raw[0], TOKEN_VERSION);
    assert.equal(raw[1], Purpose.hopAnswer);
  });

  it('never seals the same payload to the same text (random IV)', () => {
    assert.notEqual(sealer.seal(Purpose.push, payload), sealer.seal(Purpose.push, payload));
  });

  it('refuses every single flipped bit, in header, IV, ciphertext and tag', () => {
    const token = sealer.seal(Purpose.push, payload);
    const length = Buffer.from(token, 'base64url').length;
    for (let index = 0; index < length; index++) {
      for (const bit of [0, 7]) {
        const result = sealer.open(Purpose.push, flipBit(token, index, bit));
        assert.equal(result.ok, false, `bit ${bit} of byte ${index} flipped was accepted`);
        const expected = index < 2 ? 'TOKEN_VERSION' : 'TOKEN_INVALID';
        assert.equal(!result.ok && result.reason, expected, `byte ${index}`);
      }
    }
  });

  it('refuses truncated tokens', () => {
    const token = sealer.seal(Purpose.push, payload);
    for (const cut of [1, 2, 5, 16, token.length - 10, token.length - 1]) {
      const result = sealer.open(Purpose.push, token.slice(0, cut));
      assert.equal(result.ok, false, `cut at ${cut}`);
      assert.ok(!result.ok && ['TOKEN_MALFORMED', 'TOKEN_INVALID'].includes(result.reason), `cut at ${cut}: ${!result.ok && result.reason}`);
    }
  });

  it('refuses a token sealed for another purpose', () => {
    const token = sealer.seal(Purpose.hopRequest, payload);
    assert.deepEqual(sealer.open(Purpose.push, token), { ok: false, reason: 'TOKEN_VERSION' });
  });

  it('refuses a token sealed under another secret', () => {
    const other = new Sealer(deriveKeys(OLD));
    assert.deepEqual(sealer.open(Purpose.push, other.seal(Purpose.push, payload)), { ok: false, reason: 'TOKEN_INVALID' });
  });

  it('opens a token sealed under the previous secret after rotation, and says so', () => {
    const before = new Sealer(deriveKeys(OLD)).seal(Purpose.push, payload);
    const rotated = new Sealer(deriveKeys([NEW, OLD]));
    assert.deepEqual(rotated.open(Purpose.push, before), { ok: true, payload, keyIndex: 1 });
    // …and seals with the newest, which the old configuration cannot open.
    const after = rotated.seal(Purpose.push, payload);
    assert.deepEqual(sealer.open(Purpose.push, after), { ok: true, payload, keyIndex: 0 });
    assert.deepEqual(new Sealer(deriveKeys(OLD)).open(Purpose.push, after), { ok: false, reason: 'TOKEN_INVALID' });
  });

  it('refuses a token once the secret that sealed it is dropped', () => {
    const before = new Sealer(deriveKeys(OLD)).seal(Purpose.push, payload);
    assert.deepEqual(sealer.open(Purpose.push, before), { ok: false, reason: 'TOKEN_INVALID' });
  });

  it('refuses oversized input before decoding it', () => {
    assert.deepEqual(sealer.open(Purpose.push, 'A'.repeat(MAX_TOKEN_LENGTH + 1)), { ok: false, reason: 'TOKEN_TOO_LONG' });
  });

  it('refuses text that is not base64url', () => {
    for (const text of ['', 'abc+def', 'abc/def', 'abc=', 'abc def', 'ab.cd', '%41%41', 'ÄÖÜ']) {
      assert.deepEqual(sealer.open(Purpose.push, text), { ok: false, reason: 'TOKEN_MALFORMED' }, JSON.stringify(text));
    }
  });

  it('refuses authentic bytes whose plaintext is not a JSON object', () => {
    // Simulates a format slip between versions: the check must yield a reason, not throw.
    const token = sealer.seal(Purpose.push, ['not', 'an', 'object']);
    assert.deepEqual(sealer.open(Purpose.push, token), { ok: false, reason: 'TOKEN_INVALID' });
  });

  it('keeps a push token for a 32-character session id well under the URL budget', () => {
    const token = sealer.seal(Purpose.push, { ...payload, sid: 'x'.repeat(32), jti: 'y'.repeat(22) });
    assert.ok(token.length < 300, `token is ${token.length} characters`);
  });
});
