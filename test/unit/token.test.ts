import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deriveKeys } from '../../src/core/keys.ts';
import { MAX_TOKEN_LENGTH, Purpose, Sealer, TOKEN_VERSION, hourAt, sealToken } from '../../src/core/token.ts';

const OLD = 'MBrhRwSKwm5EGYfHDFQR2oHPFLycafgsZjJMMcDx94GRhznl/ERBAX+hjlUhTHjT';
const NEW = '/7BUvtzWgTGBZiJpxseho8V7oEgPeP4J0NZT54NgnnQCYVx7hZmoBZRi8GB2xINL';
const payload = { sid: 'abc', src: 'https://a.example', dst: 'https://b.example', iat: 1_700_000_000_000, jti: 'j1' };

const sealer = new Sealer(deriveKeys(NEW));
const hour = hourAt(Date.now());

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

  it('starts with the version, the purpose, the key id and the hour of the clock', () => {
    const now = Date.UTC(2026, 4, 1, 13, 59, 59, 999);
    const [key] = deriveKeys(NEW);
    const raw = Buffer.from(new Sealer(deriveKeys(NEW), () => now).seal(Purpose.answer, payload), 'base64url');
    assert.equal(raw[0], TOKEN_VERSION);
    assert.equal(raw[1], Purpose.answer);
    assert.deepEqual(new Uint8Array(raw.subarray(2, 6)), key!.id);
    assert.equal(raw.readUInt32BE(6), Math.floor(now / 3_600_000));
  });

  it('seals each hour under its own key', () => {
    const [key] = deriveKeys(NEW);
    const iv = Buffer.alloc(12, 7);
    const body = (sealedIn: number): Buffer => Buffer.from(sealToken(key!, sealedIn, Purpose.push, payload, iv), 'base64url').subarray(22);
    assert.notDeepEqual(body(hour), body(hour + 1));
    assert.deepEqual(body(hour), body(hour));
  });

  it('opens a token from the next hour and from 400 days and an hour ago, none further, deriving no key for them', () => {
    const at = (hours: number) => new Sealer(deriveKeys(NEW), () => (hour + hours) * 3_600_000);
    const token = at(0).seal(Purpose.link, payload);
    assert.deepEqual(at(-1).open(Purpose.link, token), { ok: true, payload, keyIndex: 0 });
    assert.deepEqual(at(9601).open(Purpose.link, token), { ok: true, payload, keyIndex: 0 });
    for (const hours of [-2, 9602, -1000, 1_000_000]) {
      const keys = deriveKeys(NEW);
      const derived: number[] = [];
      const forHour = keys[0]!.forHour.bind(keys[0]);
      keys[0]!.forHour = (asked) => {
        derived.push(asked);
        return forHour(asked);
      };
      const opened = new Sealer(keys, () => (hour + hours) * 3_600_000).open(Purpose.link, token);
      assert.deepEqual(opened, { ok: false, reason: 'TOKEN_INVALID' }, `${hours} hours on`);
      assert.deepEqual(derived, [], 'no key derived');
    }
  });

  it('keeps a bounded number of hour keys', () => {
    const keys = deriveKeys(NEW);
    const [key] = keys;
    const iv = Buffer.alloc(12, 1);
    const opener = new Sealer(keys, () => hour * 3_600_000);
    for (let back = 0; back < 100; back++) {
      const token = sealToken(key!, hour - back * 24, Purpose.link, payload, iv);
      assert.deepEqual(opener.open(Purpose.link, token), { ok: true, payload, keyIndex: 0 });
    }
    assert.ok(key!.cachedHours <= 8, `${key!.cachedHours} hour keys held`);
  });

  it('refuses a token of format version 1', () => {
    const raw = Buffer.from(sealer.seal(Purpose.push, payload), 'base64url');
    raw[0] = 1;
    assert.deepEqual(sealer.open(Purpose.push, raw.toString('base64url')), { ok: false, reason: 'TOKEN_VERSION' });
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
    const token = sealer.seal(Purpose.query, payload);
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
