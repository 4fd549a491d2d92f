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
  it('round-trips a payload and reports the key that opened it', async () => {
    const token = await sealer.seal(Purpose.push, payload);
    assert.match(token, /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(await sealer.open(Purpose.push, token), { ok: true, payload, keyIndex: 0 });
  });

  it('starts with the version, the purpose, the key id and the hour of the clock', async () => {
    const now = Date.UTC(2026, 4, 1, 13, 59, 59, 999);
    const [key] = deriveKeys(NEW);
    await key!.ready;
    const raw = Buffer.from(await new Sealer(deriveKeys(NEW), () => now).seal(Purpose.answer, payload), 'base64url');
    assert.equal(raw[0], TOKEN_VERSION);
    assert.equal(raw[1], Purpose.answer);
    assert.deepEqual(new Uint8Array(raw.subarray(2, 6)), key!.id);
    assert.equal(raw.readUInt32BE(6), Math.floor(now / 3_600_000));
  });

  it('seals each hour under its own key', async () => {
    const [key] = deriveKeys(NEW);
    await key!.ready;
    const iv = Buffer.alloc(12, 7);
    await key!.ready;
    const body = async (sealedIn: number): Promise<Buffer> => Buffer.from(await sealToken(key!, sealedIn, Purpose.push, payload, iv), 'base64url').subarray(22);
    assert.notDeepEqual(await body(hour), await body(hour + 1));
    assert.deepEqual(await body(hour), await body(hour));
  });

  it('opens a token from the next hour and from 400 days and an hour ago, none further, deriving no key for them', async () => {
    const at = (hours: number) => new Sealer(deriveKeys(NEW), () => (hour + hours) * 3_600_000);
    const token = await at(0).seal(Purpose.link, payload);
    assert.deepEqual(await at(-1).open(Purpose.link, token), { ok: true, payload, keyIndex: 0 });
    assert.deepEqual(await at(9601).open(Purpose.link, token), { ok: true, payload, keyIndex: 0 });
    for (const hours of [-2, 9602, -1000, 1_000_000]) {
      const keys = deriveKeys(NEW);
      const derived: number[] = [];
      const forHour = keys[0]!.forHour.bind(keys[0]);
      keys[0]!.forHour = (asked) => {
        derived.push(asked);
        return forHour(asked);
      };
      const opened = await new Sealer(keys, () => (hour + hours) * 3_600_000).open(Purpose.link, token);
      assert.deepEqual(opened, { ok: false, reason: 'TOKEN_INVALID' }, `${hours} hours on`);
      assert.deepEqual(derived, [], 'no key derived');
    }
  });

  it('keeps a bounded number of hour keys', async () => {
    const keys = deriveKeys(NEW);
    const [key] = keys;
    await key!.ready;
    const iv = Buffer.alloc(12, 1);
    const opener = new Sealer(keys, () => hour * 3_600_000);
    for (let back = 0; back < 100; back++) {
      const token = await sealToken(key!, hour - back * 24, Purpose.link, payload, iv);
      assert.deepEqual(await opener.open(Purpose.link, token), { ok: true, payload, keyIndex: 0 });
    }
    assert.ok(key!.cachedHours <= 8, `${key!.cachedHours} hour keys held`);
  });

  it('refuses a token of format version 1', async () => {
    const raw = Buffer.from(await sealer.seal(Purpose.push, payload), 'base64url');
    raw[0] = 1;
    assert.deepEqual(await sealer.open(Purpose.push, raw.toString('base64url')), { ok: false, reason: 'TOKEN_VERSION' });
  });

  it('never seals the same payload to the same text (random IV)', async () => {
    assert.notEqual(await sealer.seal(Purpose.push, payload), await sealer.seal(Purpose.push, payload));
  });

  it('refuses every single flipped bit, in header, IV, ciphertext and tag', async () => {
    const token = await sealer.seal(Purpose.push, payload);
    const length = Buffer.from(token, 'base64url').length;
    for (let index = 0; index < length; index++) {
      for (const bit of [0, 7]) {
        const result = await sealer.open(Purpose.push, flipBit(token, index, bit));
        assert.equal(result.ok, false, `bit ${bit} of byte ${index} flipped was accepted`);
        const expected = index < 2 ? 'TOKEN_VERSION' : 'TOKEN_INVALID';
        assert.equal(!result.ok && result.reason, expected, `byte ${index}`);
      }
    }
  });

  it('refuses truncated tokens', async () => {
    const token = await sealer.seal(Purpose.push, payload);
    for (const cut of [1, 2, 5, 16, token.length - 10, token.length - 1]) {
      const result = await sealer.open(Purpose.push, token.slice(0, cut));
      assert.equal(result.ok, false, `cut at ${cut}`);
      assert.ok(!result.ok && ['TOKEN_MALFORMED', 'TOKEN_INVALID'].includes(result.reason), `cut at ${cut}: ${!result.ok && result.reason}`);
    }
  });

  it('refuses a token sealed for another purpose', async () => {
    const token = await sealer.seal(Purpose.query, payload);
    assert.deepEqual(await sealer.open(Purpose.push, token), { ok: false, reason: 'TOKEN_VERSION' });
  });

  it('refuses a token sealed under another secret', async () => {
    const other = new Sealer(deriveKeys(OLD));
    assert.deepEqual(await sealer.open(Purpose.push, await other.seal(Purpose.push, payload)), { ok: false, reason: 'TOKEN_INVALID' });
  });

  it('opens a token sealed under the previous secret after rotation, and says so', async () => {
    const before = await new Sealer(deriveKeys(OLD)).seal(Purpose.push, payload);
    const rotated = new Sealer(deriveKeys([NEW, OLD]));
    assert.deepEqual(await rotated.open(Purpose.push, before), { ok: true, payload, keyIndex: 1 });
    // …and seals with the newest, which the old configuration cannot open.
    const after = await rotated.seal(Purpose.push, payload);
    assert.deepEqual(await sealer.open(Purpose.push, after), { ok: true, payload, keyIndex: 0 });
    assert.deepEqual(await new Sealer(deriveKeys(OLD)).open(Purpose.push, after), { ok: false, reason: 'TOKEN_INVALID' });
  });

  it('refuses a token once the secret that sealed it is dropped', async () => {
    const before = await new Sealer(deriveKeys(OLD)).seal(Purpose.push, payload);
    assert.deepEqual(await sealer.open(Purpose.push, before), { ok: false, reason: 'TOKEN_INVALID' });
  });

  it('refuses oversized input before decoding it', async () => {
    assert.deepEqual(await sealer.open(Purpose.push, 'A'.repeat(MAX_TOKEN_LENGTH + 1)), { ok: false, reason: 'TOKEN_TOO_LONG' });
  });

  it('refuses text that is not base64url', async () => {
    for (const text of ['', 'abc+def', 'abc/def', 'abc=', 'abc def', 'ab.cd', '%41%41', 'ÄÖÜ']) {
      assert.deepEqual(await sealer.open(Purpose.push, text), { ok: false, reason: 'TOKEN_MALFORMED' }, JSON.stringify(text));
    }
  });

  it('refuses authentic bytes whose plaintext is not a JSON object', async () => {
    // Simulates a format slip between versions: the check must yield a reason, not throw.
    const token = await sealer.seal(Purpose.push, ['not', 'an', 'object']);
    assert.deepEqual(await sealer.open(Purpose.push, token), { ok: false, reason: 'TOKEN_INVALID' });
  });

  it('keeps a push token for a 32-character session id well under the URL budget', async () => {
    const token = await sealer.seal(Purpose.push, { ...payload, sid: 'x'.repeat(32), jti: 'y'.repeat(22) });
    assert.ok(token.length < 300, `token is ${token.length} characters`);
  });
});
