/**
 * Stable, machine-readable codes for errors the library throws. Callers switch on
 * `error.code`, never on the message; messages never contain a token or a secret.
 */
export type SharedSessionErrorCode =
  /** An option is missing, of the wrong type or out of range; thrown once, at start-up. */
  | 'ERR_SHARED_SESSION_OPTION'
  /** A secret is guessable: its estimated entropy is below 128 bits (words, numbers, sequences, repeats). */
  | 'ERR_SHARED_SESSION_WEAK_SECRET'
  /** The session middleware the adapter sits on is missing or misconfigured. */
  | 'ERR_SHARED_SESSION_SETUP'
  /** The shared store could not be reached within its time limit. */
  | 'ERR_SHARED_SESSION_STORE_UNAVAILABLE'
  /** An entry point's optional peer dependency is not installed (`pg` for `shared-session/postgres`, `redis` for `shared-session/redis`); the message names the `npm install` command. */
  | 'ERR_SHARED_SESSION_PEER';

/**
 * The one error class of the library.
 *
 * @example
 * ```ts
 * try { createSharedSession({ sites: ['http://shop.test'], secret }) }
 * catch (error) {
 *   if (error instanceof SharedSessionError && error.code === 'ERR_SHARED_SESSION_OPTION') …
 * }
 * ```
 */
export class SharedSessionError extends Error {
  readonly code: SharedSessionErrorCode;
  /**
   * The HTTP status a framework should answer with when this error reaches its error
   * handler: 503 for an unavailable store (Express and Fastify read `status`/`statusCode`).
   */
  readonly status: number | undefined;
  readonly statusCode: number | undefined;

  constructor(code: SharedSessionErrorCode, message: string, options?: ErrorOptions & { status?: number }) {
    super(message, options);
    this.name = 'SharedSessionError';
    this.code = code;
    this.status = options?.status;
    this.statusCode = options?.status;
  }
}

/** A short, safe description of a bad option value for an error message (never the value of a secret). */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' || value === undefined || value === null) return String(value);
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

/** A developer mistake in the options: names the option and the fix. */
export function optionError(option: string, problem: string, fix: string): SharedSessionError {
  return new SharedSessionError('ERR_SHARED_SESSION_OPTION', `shared-session: option \`${option}\` ${problem}. ${fix}`);
}

/** A failure of the session or sharing store while the core worked: the caller answers STORE_UNAVAILABLE (or serves the page without sharing). */
export function storeFailure(cause: unknown): SharedSessionError {
  return cause instanceof SharedSessionError && cause.code === 'ERR_SHARED_SESSION_STORE_UNAVAILABLE'
    ? cause
    : new SharedSessionError('ERR_SHARED_SESSION_STORE_UNAVAILABLE', 'shared-session: the session store failed', { cause });
}

export function isStoreFailure(error: unknown): error is SharedSessionError {
  return error instanceof SharedSessionError && error.code === 'ERR_SHARED_SESSION_STORE_UNAVAILABLE';
}
