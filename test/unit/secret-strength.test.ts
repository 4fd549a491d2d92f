import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { SharedSessionError } from 'shared-session';
import { deriveKeys } from '../../src/core/keys.ts';
import { MIN_SECRET_BITS, estimateSecretBits } from '../../src/core/secret-strength.ts';

/** Secrets people write, each guessable from any sealed cookie. */
const GUESSABLE = [
  'my-company-shared-session-secret-2026',
  '0123456789012345678901234567890123',
  'test-shared-secret-0123456789-abcdefghijklmnopqrstuvwxyz',
  'options-secret-0123456789abcdefghijklmnopqrstuvwxyz',
  'x'.repeat(20) + 'abcdefghijklmnop',
  'a'.repeat(64),
  'passwordpasswordpasswordpassword',
  'correct-horse-battery-staple-orange',
  'Summer2026!Summer2026!Summer2026!',
  'qwertyuiopasdfghjklzxcvbnm1234567890',
  'zyxwvutsrqponmlkjihgfedcba9876543210',
  'Shared Session Secret For Example Dot Com',
];

/** What the docs tell people to use; each kind is drawn fresh many times. */
const RANDOM: Record<string, () => string | Buffer> = {
  'randomBytes(32)': () => randomBytes(32),
  'randomBytes(32) base64': () => randomBytes(32).toString('base64'),
  'randomBytes(48) base64': () => randomBytes(48).toString('base64'),
  'randomBytes(32) base64url': () => randomBytes(32).toString('base64url'),
  'randomBytes(48) base64url': () => randomBytes(48).toString('base64url'),
  'randomBytes(32) hex': () => randomBytes(32).toString('hex'),
};
const SAMPLES = 5000;

function refusal(secret: unknown, option = 'secret'): SharedSessionError {
  try {
    deriveKeys(secret);
  } catch (error) {
    assert.ok(error instanceof SharedSessionError);
    assert.ok(error.message.includes(`\`${option}\``), error.message);
    return error;
  }
  assert.fail('the secret was accepted');
}

describe('secret strength', () => {
  it('refuses secrets built from words, numbers, sequences and repeats, without echoing them', () => {
    for (const secret of GUESSABLE) {
      const error = refusal(secret);
      assert.equal(error.code, 'ERR_SHARED_SESSION_WEAK_SECRET', secret);
      assert.ok(error.message.includes('openssl rand -base64 48'), error.message);
      assert.ok(!error.message.includes(secret), 'the message does not echo the secret');
      assert.ok(estimateSecretBits(secret) < MIN_SECRET_BITS, secret);
    }
  });

  it('judges a Buffer as bytes: repetitive bytes are refused, whatever they spell', () => {
    for (const bytes of [Buffer.alloc(64), Buffer.alloc(64, 0xff), Buffer.from('passwordpasswordpasswordpassword'), Buffer.from(randomBytes(8).toString('hex').repeat(8))]) {
      assert.equal(refusal(bytes).code, 'ERR_SHARED_SESSION_WEAK_SECRET', bytes.toString('hex'));
    }
  });

  it('names the weak secret in a list', () => {
    assert.equal(refusal([randomBytes(32), 'a'.repeat(64)], 'secret[1]').code, 'ERR_SHARED_SESSION_WEAK_SECRET');
  });

  for (const [kind, draw] of Object.entries(RANDOM)) {
    it(`accepts every one of ${SAMPLES} fresh ${kind}`, () => {
      for (let sample = 0; sample < SAMPLES; sample++) {
        const secret = draw();
        const bits = estimateSecretBits(secret);
        assert.ok(bits >= MIN_SECRET_BITS, `${kind} ${Buffer.isBuffer(secret) ? secret.toString('hex') : secret} scored ${bits.toFixed(1)} bits`);
      }
      assert.doesNotThrow(() => deriveKeys(draw()));
    });
  }

  it('judges only the first 256 symbols of a huge secret', () => {
    // Bounded work; and a strong prefix makes a strong secret.
    assert.ok(estimateSecretBits(randomBytes(1 << 20).toString('base64')) > 1000);
    assert.ok(estimateSecretBits('a'.repeat(1 << 20)) < 32);
  });
});
