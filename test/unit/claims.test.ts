import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkClaims } from '../../src/core/claims.ts';
import { resolveOptions } from '../../src/core/options.ts';

const config = resolveOptions({
  sites: ['https://a.example', 'https://b.example', 'https://c.example'],
  secret: 'hXAwXB97o8Lt2LSh3g/1dbYdvPuL/35C6hfU+B1DJkExQipu3bfyptkP2D0GISxg',
  timeoutSeconds: 30,
  clockSkewSeconds: 5,
});
const [a, b] = config.sites.all;
const now = 1_800_000_000_000;
const claims = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({ src: a?.origin, dst: b?.origin, iat: now, jti: 'j', ...overrides });

describe('token claims', () => {
  it('accepts a fresh token from another configured site to this one', () => {
    const result = checkClaims(config, claims(), b!, now);
    assert.equal(result.ok, true);
    assert.equal(result.ok && result.source, a);
  });

  it('refuses a token for another destination', () => {
    assert.deepEqual(checkClaims(config, claims({ dst: 'https://c.example' }), b!, now), { ok: false, reason: 'WRONG_DESTINATION' });
  });

  it('refuses a token from a site that is not configured, or from this very site', () => {
    assert.deepEqual(checkClaims(config, claims({ src: 'https://evil.example' }), b!, now), { ok: false, reason: 'UNKNOWN_SOURCE' });
    assert.deepEqual(checkClaims(config, claims({ src: b?.origin }), b!, now), { ok: false, reason: 'UNKNOWN_SOURCE' });
  });

  it('accepts up to the timeout and refuses one millisecond later', () => {
    assert.equal(checkClaims(config, claims({ iat: now - 30_000 }), b!, now).ok, true);
    assert.deepEqual(checkClaims(config, claims({ iat: now - 30_001 }), b!, now), { ok: false, reason: 'TOKEN_EXPIRED' });
  });

  it('allows the configured clock skew into the future, and no more', () => {
    assert.equal(checkClaims(config, claims({ iat: now + 5_000 }), b!, now).ok, true);
    assert.deepEqual(checkClaims(config, claims({ iat: now + 5_001 }), b!, now), { ok: false, reason: 'TOKEN_FROM_FUTURE' });
  });

  it('checks in the documented order: destination before source before age', () => {
    const bad = claims({ dst: 'https://c.example', src: 'https://evil.example', iat: 0 });
    assert.deepEqual(checkClaims(config, bad, b!, now), { ok: false, reason: 'WRONG_DESTINATION' });
    assert.deepEqual(checkClaims(config, { ...bad, dst: b?.origin }, b!, now), { ok: false, reason: 'UNKNOWN_SOURCE' });
  });

  it('refuses a payload without the claims', () => {
    assert.deepEqual(checkClaims(config, { sid: 'x' }, b!, now), { ok: false, reason: 'TOKEN_VERSION' });
  });
});
