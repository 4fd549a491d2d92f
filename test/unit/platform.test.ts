import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { KDF } from '../../src/core/keys.ts';
import { platform as node } from '../../src/core/platform/node.ts';
import type { Mode, Platform } from '../../src/core/platform/types.ts';
import { platform as web } from '../../src/core/platform/web.ts';
import type { RejectReason } from '../../src/core/reasons.ts';
import { MAX_TOKEN_LENGTH, encodePayload, hasKeyId, hourAt, joinToken, parseToken, readPayload, tokenHeader, type Purpose } from '../../src/core/token.ts';

// Every token vector (test/vectors/tokens.json), sealed and opened with each implementation
// of `#platform` explicitly: node:crypto (what Node runs) and Web Crypto (what the default
// condition is for), through the same format steps the Sealer takes (token.ts).

interface Opener {
  readonly secrets: readonly string[];
  readonly now: number;
}
interface Vectors {
  readonly secrets: Readonly<Record<string, { readonly utf8?: string; readonly hex?: string; readonly keyId: string }>>;
  readonly tokens: readonly {
    readonly secret: string;
    readonly purpose: Purpose;
    readonly hour: number;
    readonly iv: string;
    readonly payload: Record<string, unknown>;
    readonly key: string;
    readonly token: string;
    readonly open: Opener & { readonly keyIndex: number };
  }[];
  readonly refusals: readonly (Opener & { readonly description: string; readonly purpose: Purpose; readonly token: string; readonly reason: RejectReason })[];
}

const vectors = JSON.parse(readFileSync(new URL('../vectors/tokens.json', import.meta.url), 'utf8')) as Vectors;
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

function secretBytes(name: string): Uint8Array {
  const spec = vectors.secrets[name];
  assert.ok(spec, `secret ${name}`);
  return spec.utf8 === undefined ? Buffer.from(spec.hex ?? '', 'hex') : new TextEncoder().encode(spec.utf8);
}

// Either mode, awaited alike (awaiting a plain value gives the value).
type AnyPlatform = Platform<unknown, unknown, Mode>;
const implementations: readonly AnyPlatform[] = [node, web];

async function keyOf(p: AnyPlatform, name: string, hour: number): Promise<{ id: Uint8Array; raw: Uint8Array; key: unknown }> {
  const secret = await p.secret(secretBytes(name));
  const id = await p.hkdf(secret, KDF.salt, KDF.idInfo, KDF.idLength);
  const raw = await p.hkdf(secret, KDF.salt, KDF.hourInfo(hour), KDF.keyLength);
  return { id, raw, key: await p.aesKey(raw) };
}

/** What Sealer.open does, step for step, on `p`. */
async function openWith(p: AnyPlatform, spec: Opener, purpose: Purpose, text: string): Promise<{ ok: true; payload: Record<string, unknown>; keyIndex: number } | { ok: false; reason: RejectReason }> {
  const token = parseToken(purpose, text, hourAt(spec.now), MAX_TOKEN_LENGTH, p);
  if (!token.ok) return token;
  for (let index = 0; index < spec.secrets.length; index++) {
    const key = await keyOf(p, spec.secrets[index]!, token.hour);
    if (!hasKeyId(token, key.id)) continue;
    const plain = await p.open(key.key, token.iv, token.header, token.sealed);
    const payload = plain && readPayload(plain, p);
    if (payload) return { ok: true, payload, keyIndex: index };
  }
  return { ok: false, reason: 'TOKEN_INVALID' };
}

for (const p of implementations) {
  describe(`token vectors on ${p.name}`, () => {
    it('derive the key ids and the hour keys given', async () => {
      for (const vector of vectors.tokens) {
        const key = await keyOf(p, vector.secret, vector.hour);
        assert.equal(hex(key.id), vectors.secrets[vector.secret]!.keyId, vector.secret);
        assert.equal(hex(key.raw), vector.key, `${vector.secret} ${vector.hour}`);
      }
    });

    it('seal byte for byte from their inputs', async () => {
      for (const vector of vectors.tokens) {
        const key = await keyOf(p, vector.secret, vector.hour);
        const header = tokenHeader(vector.purpose, key.id, vector.hour, p);
        const iv = Buffer.from(vector.iv, 'hex');
        const sealed = await p.seal(key.key, iv, header, encodePayload(vector.payload, p));
        assert.equal(joinToken(header, iv, sealed, p), vector.token, `${vector.secret} ${vector.purpose}`);
      }
    });

    it('open back to their payloads, by the key given', async () => {
      for (const vector of vectors.tokens) {
        assert.deepEqual(await openWith(p, vector.open, vector.purpose, vector.token), { ok: true, payload: vector.payload, keyIndex: vector.open.keyIndex });
      }
    });

    it('refuse with the reasons given', async () => {
      for (const vector of vectors.refusals) {
        assert.deepEqual(await openWith(p, vector, vector.purpose, vector.token), { ok: false, reason: vector.reason }, vector.description);
      }
    });

    it('refuse a tampered tag, ciphertext or header without throwing', async () => {
      const vector = vectors.tokens[0]!;
      const key = await keyOf(p, vector.secret, vector.hour);
      const raw = Buffer.from(vector.token, 'base64url');
      for (const at of [2, 9, 10, 21, 22, raw.length - 17, raw.length - 1]) {
        const bad = Buffer.from(raw);
        bad[at]! ^= 1;
        const iv = bad.subarray(10, 22);
        assert.equal(await p.open(key.key, iv, bad.subarray(0, 10), bad.subarray(22)), undefined, `byte ${at}`);
      }
      assert.equal(await p.open(key.key, raw.subarray(10, 22), raw.subarray(0, 10), raw.subarray(22, 30)), undefined, 'shorter than a tag');
    });
  });

  describe(`the other primitives on ${p.name}`, () => {
    it('hash with SHA-256', async () => {
      for (const text of ['', 'abc', 'https://www.example-shop.com', 'x'.repeat(1000)]) {
        assert.equal(hex(await p.sha256(new TextEncoder().encode(text))), createHash('sha256').update(text).digest('hex'));
      }
    });

    it('compare bytes', () => {
      assert.equal(p.equal(Buffer.from('abc'), Buffer.from('abc')), true);
      assert.equal(p.equal(Buffer.from('abc'), Buffer.from('abd')), false);
      assert.equal(p.equal(Buffer.from('abc'), Buffer.from('ab')), false);
      assert.equal(p.equal(new Uint8Array(0), new Uint8Array(0)), true);
    });

    it('encode and decode base64url as Buffer does', () => {
      for (let length = 0; length < 70; length++) {
        const bytes = randomBytes(length);
        const text = bytes.toString('base64url');
        assert.equal(p.base64url(bytes), text, `${length} bytes`);
        assert.equal(hex(p.fromBase64url(text)), bytes.toString('hex'), `${length} bytes back`);
        // A view into a larger buffer, as the random pool hands out.
        assert.equal(p.base64url(Buffer.concat([Buffer.alloc(3), bytes]).subarray(3)), text);
      }
    });
  });
}
