import { platform as native, type Key, type Secret } from '#platform';
import { SharedSessionError, optionError } from './errors.ts';
import { isPromise, settle, type AnyPlatform } from './platform/types.ts';
import { MIN_SECRET_BITS, estimateSecretBits } from './secret-strength.ts';

// Either kind of platform: Web Crypto's answers are promises, node:crypto's are not (and stay synchronous through `settle`).
const platform: AnyPlatform<Secret, Key> = native;

// Domain separation: the same secret often also signs the session cookie, so the AES keys
// must be derived (RFC 5869 HKDF), never the raw secret or a prefix of it as the original did.
const SALT = platform.utf8('shared-session/v2');
const ID_INFO = platform.utf8('key id');
const KEY_INFO = platform.utf8('token key\0'); // then the hour, 4 bytes big-endian

/**
 * The HKDF inputs of docs/PROTOCOL.md §2, for the platform tests that derive the keys with
 * each implementation of `#platform` (src/core/platform/).
 */
export const KDF = {
  salt: SALT,
  idInfo: ID_INFO,
  idLength: 4,
  keyLength: 32,
  /** The info of one hour's key: `token key\0` then the hour, uint32 big-endian. */
  hourInfo(hour: number): Uint8Array {
    const info = new Uint8Array(KEY_INFO.length + 4);
    info.set(KEY_INFO);
    new DataView(info.buffer).setUint32(KEY_INFO.length, hour);
    return info;
  },
} as const;
/**
 * Hour keys one secret keeps, least recently used dropped first. The current and the
 * previous hour (and the next, from a server whose clock runs ahead) are used on every
 * request; the rest serve the occasional old cookie, derived again when it comes.
 */
const CACHED_HOURS = 8;

/**
 * One secret: its key id, and one AES-256-GCM key per hour, derived when first used.
 * NIST SP 800-38D allows 2^32 random-IV invocations per key; an hour's key seals only
 * that hour's tokens, so the bound holds unless all sites together seal more than about
 * 1.19 million tokens a second (2^32 / 3600).
 */
export class SecretKey {
  #id: Uint8Array | undefined;
  // Held as the platform's key handle (a KeyObject, a CryptoKey) so the secret's bytes stay out of the JS heap.
  #secret: Secret | undefined;
  /** Oldest use first (a Map keeps insertion order). */
  readonly #hours = new Map<number, Key>();
  #lastHour = -1;
  #lastKey: Key | undefined;
  #ready: Promise<void> | undefined;

  /**
   * Starts preparing the secret and its key id, and never waits: on node:crypto both are
   * done when the constructor returns, on Web Crypto {@link ready} settles when they are.
   */
  constructor(secret: Uint8Array) {
    const done = settle(platform.secret(secret), (prepared) => {
      this.#secret = prepared;
      return settle(platform.hkdf(prepared, SALT, ID_INFO, KDF.idLength), (id) => {
        this.#id = id;
      });
    });
    if (isPromise(done)) {
      this.#ready = done.then(() => {
        this.#ready = undefined;
      });
      // Whoever seals first awaits it and sees the failure; no unhandled rejection before then.
      this.#ready.catch(() => undefined);
    }
  }

  /** Undefined once the key is prepared (at once on a synchronous platform), else its preparation. */
  get ready(): Promise<void> | undefined {
    return this.#ready;
  }

  /** 4 bytes derived from the secret (not from any AES key): tells which secret sealed a token without trying each. */
  get id(): Uint8Array {
    if (!this.#id) throw new Error('SecretKey: not prepared yet (await its `ready` first)');
    return this.#id;
  }

  /** The key of one hour, floor(unix ms / 3,600,000): at once when held, else derived (a promise on Web Crypto). */
  forHour(hour: number): Key | Promise<Key> {
    // Nearly every call asks for the hour asked for last: no Map work on the sealing path.
    if (hour === this.#lastHour && this.#lastKey) return this.#lastKey;
    const held = this.#hours.get(hour);
    if (held) return this.#remember(hour, held);
    const secret = this.#secret;
    if (!secret) throw new Error('SecretKey: not prepared yet (await its `ready` first)');
    // A prepared key makes each seal ~4x cheaper than passing raw key bytes (measured in issue 5).
    return settle(
      settle(platform.hkdf(secret, SALT, KDF.hourInfo(hour), KDF.keyLength), (bytes) => platform.aesKey(bytes)),
      (key) => this.#remember(hour, key),
    );
  }

  #remember(hour: number, key: Key): Key {
    // Two requests of one new hour on Web Crypto may both derive it: the second's key replaces the first's, both are right.
    this.#hours.delete(hour);
    if (this.#hours.size >= CACHED_HOURS) this.#hours.delete(this.#hours.keys().next().value as number);
    this.#hours.set(hour, key);
    this.#lastHour = hour;
    this.#lastKey = key;
    return key;
  }

  /** How many hour keys are held: at most {@link CACHED_HOURS} (for tests). */
  get cachedHours(): number {
    return this.#hours.size;
  }
}

function toBytes(secret: unknown, option: string): Uint8Array {
  if (typeof secret === 'string') return platform.utf8(secret);
  // A Buffer is a Uint8Array; any other view (a DataView, an Int8Array) is refused, not reinterpreted.
  if (secret instanceof Uint8Array) return secret;
  throw optionError(option, 'must be a string or a Uint8Array (a Buffer is one)', 'Pass a long random string, e.g. `openssl rand -base64 48`.');
}

/**
 * Refuse a secret the entropy estimate reads as guessable (ERR_SHARED_SESSION_WEAK_SECRET),
 * naming `option`. Also for adapters' own signing secrets (the fetch handler's session
 * cookie): one bar for every secret of the package.
 */
export function checkStrength(secret: string | Uint8Array, option: string): void {
  const bits = estimateSecretBits(secret);
  if (bits < MIN_SECRET_BITS) {
    throw new SharedSessionError(
      'ERR_SHARED_SESSION_WEAK_SECRET',
      `shared-session: option \`${option}\` is too weak: it reads as about ${Math.floor(bits)} bits of entropy (words, numbers, sequences or repeats), ` +
        `and any sealed cookie lets an attacker guess it offline; at least ${MIN_SECRET_BITS} are needed. Generate one with \`openssl rand -base64 48\`.`,
    );
  }
}

/**
 * Validate the `secret` option (one secret or a list, newest first) and prepare the keys
 * of each secret. Sealing uses the first; opening accepts any, so secrets can rotate.
 */
export function deriveKeys(value: unknown): readonly SecretKey[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || value === undefined) {
    throw optionError('secret', 'is required', 'Pass the same long random string to every site, e.g. `process.env.SHARED_SESSION_SECRET`.');
  }
  // Compared as bytes (not by a hash: Web Crypto's is asynchronous and the options are checked synchronously).
  const seen: Uint8Array[] = [];
  return list.map((secret: unknown, index) => {
    const option = Array.isArray(value) ? `secret[${index}]` : 'secret';
    const bytes = toBytes(secret, option);
    // Judged as written: a string as its characters, bytes as bytes.
    checkStrength(typeof secret === 'string' ? secret : bytes, option);
    if (seen.some((earlier) => platform.equal(earlier, bytes))) throw optionError(option, 'repeats an earlier secret', 'List each secret once, newest first.');
    seen.push(bytes);
    return new SecretKey(bytes);
  });
}
