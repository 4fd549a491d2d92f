import assert from 'node:assert/strict';
import { createDecipheriv, hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { deriveKeys } from '../../src/core/keys.ts';
import type { RejectReason } from '../../src/core/reasons.ts';
import { openAnswer, openPush, openQuery, openVoucher } from '../../src/core/messages.ts';
import { resolveOptions, type Config } from '../../src/core/options.ts';
import { Sealer, sealToken, type Purpose } from '../../src/core/token.ts';

interface SecretSpec {
  readonly utf8?: string;
  readonly hex?: string;
  readonly keyId: string;
}
interface Opener {
  readonly secrets: readonly string[];
  readonly now: number;
}
interface TokenVector {
  readonly secret: string;
  readonly purpose: Purpose;
  readonly hour: number;
  readonly iv: string;
  readonly payload: Record<string, unknown>;
  readonly plaintext: string;
  readonly key: string;
  readonly token: string;
  readonly open: Opener & { readonly keyIndex: number };
}
interface RefusalVector extends Opener {
  readonly description: string;
  readonly purpose: Purpose;
  readonly token: string;
  readonly reason: RejectReason;
}
interface Vectors {
  readonly secrets: Readonly<Record<string, SecretSpec>>;
  readonly tokens: readonly TokenVector[];
  readonly refusals: readonly RefusalVector[];
}

const vectors = JSON.parse(readFileSync(new URL('../vectors/tokens.json', import.meta.url), 'utf8')) as Vectors;

/** A secret as the options take it: a string, or a Buffer of the given bytes. */
function secret(name: string): string | Buffer {
  const spec = vectors.secrets[name];
  assert.ok(spec, `secret ${name}`);
  return spec.utf8 ?? Buffer.from(spec.hex ?? '', 'hex');
}

function opener(spec: Opener): Sealer {
  return new Sealer(deriveKeys(spec.secrets.map(secret)), () => spec.now);
}

/**
 * A decoder written from the format description alone, sharing no code with the library:
 * base64url( 0x02 | purpose | keyId:4 | hour:4 BE | iv:12 | ciphertext | tag:16 ), AAD = the first 10 bytes.
 */
function independentOpen(token: string, secretBytes: Buffer): { purpose: number; keyId: string; hour: number; key: string; plaintext: string } {
  const raw = Buffer.from(token, 'base64url');
  assert.equal(raw[0], 2, 'version');
  const salt = Buffer.from('shared-session/v2');
  const keyId = Buffer.from(hkdfSync('sha256', secretBytes, salt, Buffer.from('key id'), 4));
  assert.deepEqual(raw.subarray(2, 6), keyId, 'key id');
  const hour = raw.readUInt32BE(6);
  const info = Buffer.concat([Buffer.from('token key'), Buffer.from([0]), raw.subarray(6, 10)]);
  const key = Buffer.from(hkdfSync('sha256', secretBytes, salt, info, 32));
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(10, 22));
  decipher.setAAD(raw.subarray(0, 10));
  decipher.setAuthTag(raw.subarray(raw.length - 16));
  const plaintext = Buffer.concat([decipher.update(raw.subarray(22, raw.length - 16)), decipher.final()]).toString('utf8');
  return { purpose: raw[1] as number, keyId: keyId.toString('hex'), hour, key: key.toString('hex'), plaintext };
}

describe('token vectors (test/vectors/tokens.json)', () => {
  it('cover every purpose under a string secret and a byte secret, and every refusal reason', () => {
    for (const name of ['text', 'bytes']) {
      assert.deepEqual(vectors.tokens.filter((vector) => vector.secret === name).map((vector) => vector.purpose), [1, 2, 3, 4, 5]);
    }
    assert.deepEqual(new Set(vectors.refusals.map((vector) => vector.reason)), new Set(['TOKEN_TOO_LONG', 'TOKEN_MALFORMED', 'TOKEN_VERSION', 'TOKEN_INVALID']));
  });

  it('derive the key ids given', async () => {
    for (const name of Object.keys(vectors.secrets)) {
      const [key] = deriveKeys(secret(name));
      await key!.ready;
      assert.equal(Buffer.from(key!.id).toString('hex'), vectors.secrets[name]!.keyId, name);
    }
  });

  it('are sealed byte for byte by the library from their inputs', async () => {
    for (const vector of vectors.tokens) {
      const [key] = deriveKeys(secret(vector.secret));
      await key!.ready;
      assert.equal(await sealToken(key!, vector.hour, vector.purpose, vector.payload, Buffer.from(vector.iv, 'hex')), vector.token, `${vector.secret} ${vector.purpose}`);
    }
  });

  it('are opened by the library back to their payloads, by the key given', async () => {
    for (const vector of vectors.tokens) {
      assert.deepEqual(await opener(vector.open).open(vector.purpose, vector.token), { ok: true, payload: vector.payload, keyIndex: vector.open.keyIndex }, `${vector.secret} ${vector.purpose}`);
    }
  });

  it('are opened by a decoder written from the format description', () => {
    for (const vector of vectors.tokens) {
      const bytes = Buffer.from(secret(vector.secret));
      const opened = independentOpen(vector.token, bytes);
      assert.deepEqual(opened, { purpose: vector.purpose, keyId: vectors.secrets[vector.secret]!.keyId, hour: vector.hour, key: vector.key, plaintext: vector.plaintext });
      assert.deepEqual(JSON.parse(opened.plaintext), vector.payload);
    }
  });

  it('refusals yield their reasons', async () => {
    for (const vector of vectors.refusals) {
      assert.deepEqual(await opener(vector).open(vector.purpose, vector.token), { ok: false, reason: vector.reason }, vector.description);
    }
  });
});

interface MessageVectors {
  readonly secret: string;
  readonly sites: readonly string[];
  readonly timeoutSeconds: number;
  readonly clockSkewSeconds: number;
  readonly now: number;
  readonly hour: number;
  readonly cases: readonly {
    readonly name: string;
    readonly purpose: Purpose;
    readonly here: string;
    readonly payload: Record<string, unknown>;
    readonly openAs?: Purpose;
    readonly iv: string;
    readonly token: string;
    readonly expect: { readonly ok: true; readonly fields: Record<string, unknown> } | { readonly ok: false; readonly reason: RejectReason };
  }[];
}

describe('message vectors (docs/PROTOCOL.md §3)', () => {
  const messages = JSON.parse(readFileSync(new URL('../vectors/messages.json', import.meta.url), 'utf8')) as MessageVectors;
  const resolved = resolveOptions({ sites: messages.sites, secret: messages.secret, timeoutSeconds: messages.timeoutSeconds, clockSkewSeconds: messages.clockSkewSeconds });
  // The receiver's clock is the vectors' own, for the token's hour as for the claims.
  const config: Config = { ...resolved, sealer: new Sealer(deriveKeys(messages.secret), () => messages.now) };
  const openers: Partial<Record<Purpose, typeof openPush | typeof openQuery | typeof openAnswer | typeof openVoucher>> = {
    1: openPush,
    2: openQuery,
    3: openAnswer,
    6: openVoucher,
  };

  for (const vector of messages.cases) {
    it(vector.name, async () => {
      const [key] = deriveKeys(messages.secret);
      await key!.ready;
      assert.equal(await sealToken(key!, messages.hour, vector.purpose, vector.payload, Buffer.from(vector.iv, 'hex')), vector.token, 'sealed byte for byte');
      const here = config.sites.forOrigin(vector.here)!;
      await config.sites.ready;
      const opened = await openers[vector.openAs ?? vector.purpose]!(config, vector.token, here, messages.now);
      if (!vector.expect.ok) {
        assert.equal(opened.ok, false);
        assert.equal(!opened.ok && opened.reason, vector.expect.reason);
        return;
      }
      assert.ok(opened.ok, `refused: ${!opened.ok ? opened.reason : ''}`);
      const { source, ...fields } = opened.message as unknown as Record<string, unknown> & { source: { origin: string } };
      const expected = { ...vector.expect.fields };
      assert.equal(source.origin, expected.source);
      delete expected.source;
      for (const [name, value] of Object.entries(expected)) assert.deepEqual(fields[name], value, name);
    });
  }
});
