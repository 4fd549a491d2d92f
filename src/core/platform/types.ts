/**
 * The few cryptographic primitives the core needs, behind one small interface, so that the
 * core runs on any runtime: node:crypto on Node (`node.ts`, synchronous and the fastest
 * there), Web Crypto elsewhere (`web.ts`, asynchronous as Web Crypto is). The core reaches
 * its implementation through the `#platform` subpath import (package.json `imports`),
 * chosen by export condition; tests import both explicitly (test/unit/platform.test.ts).
 *
 * `Secret` is an HKDF input key, `Key` an AES-256-GCM key, each as the runtime holds it
 * (a KeyObject, a CryptoKey), so that neither a secret's nor a key's bytes stay in the JS heap.
 */
export type Mode = 'sync' | 'async';

/** `T` as a synchronous platform returns it, or its promise. */
export type Outcome<T, M extends Mode> = M extends 'sync' ? T : Promise<T>;

export interface Platform<Secret, Key, M extends Mode> {
  /** What the benchmark and the tests call it. */
  readonly name: string;
  /** SHA-256 of `data` (32 bytes). */
  sha256(data: Uint8Array): Outcome<Uint8Array, M>;
  /** A secret prepared as HKDF input keying material. */
  secret(bytes: Uint8Array): Outcome<Secret, M>;
  /** HKDF-SHA-256 (RFC 5869): `length` bytes from `secret` with `salt` and `info`. */
  hkdf(secret: Secret, salt: Uint8Array, info: Uint8Array, length: number): Outcome<Uint8Array, M>;
  /** 32 bytes prepared as an AES-256-GCM key (a prepared key makes each seal several times cheaper). */
  aesKey(bytes: Uint8Array): Outcome<Key, M>;
  /** AES-256-GCM: ciphertext followed by the 16-byte tag. */
  seal(key: Key, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Outcome<Uint8Array, M>;
  /** AES-256-GCM: the plaintext, or undefined when the tag does not verify (never throws). */
  open(key: Key, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Outcome<Uint8Array | undefined, M>;
  /** Equal bytes, in time that depends on the length only. Synchronous on every runtime. */
  equal(a: Uint8Array, b: Uint8Array): boolean;
  /** `bytes` as base64url without padding (RFC 4648 §5). */
  base64url(bytes: Uint8Array): string;
  /** The bytes of base64url text already checked against `[A-Za-z0-9_-]+`. */
  fromBase64url(text: string): Uint8Array;
  /** `text` as UTF-8. */
  utf8(text: string): Uint8Array;
  /** UTF-8 bytes as text (authentic bytes only: our own JSON, so no check for malformed sequences is needed). */
  fromUtf8(bytes: Uint8Array): string;
  /** `size` bytes to be overwritten in full (on Node from Buffer's pool: a small `new Uint8Array` costs an ArrayBuffer each, measured in bench/token.ts). */
  allocate(size: number): Uint8Array;
}

/**
 * What the core sees of `#platform`: either kind, so that it awaits every cryptographic
 * result. A synchronous platform's values pass through `await` unchanged; the core checks
 * `isPromise` on the hot paths so that Node's stay free of promises where it matters.
 */
export type AnyPlatform<Secret, Key> = Platform<Secret, Key, Mode>;

/** Whether a platform's result is still to come (a thenable), or already here. */
export function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/**
 * `next(value)` now when `value` is here (a synchronous platform's), else once it settles:
 * on Node a chain of platform calls stays synchronous and allocates no promise.
 */
export function settle<T, U>(value: T | Promise<T>, next: (value: T) => U | Promise<U>): U | Promise<U> {
  return isPromise(value) ? value.then(next) : next(value);
}
