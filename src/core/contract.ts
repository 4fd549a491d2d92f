import type { SharingStore } from './sharing-store.ts';

/**
 * The one contract between the framework-free core and an adapter. An adapter turns its
 * framework's request into {@link RequestFacts}, its session middleware into a
 * {@link SessionPort}, and writes back the {@link Reply} the core returns. Nothing else
 * of a framework ever reaches the core.
 */

/** What the core needs to know about a request. */
export interface RequestFacts<Raw = unknown> {
  /** The framework's own request object; only handed back to event listeners. */
  readonly raw: Raw;
  readonly method: string;
  /** The URL path as received, without the query string, from the site's root. */
  readonly path: string;
  /** The query string as received, with its leading `?`; '' when there is none. */
  readonly search: string;
  /**
   * The host the request is addressed to, as the framework resolved it: the `Host`
   * header, or `X-Forwarded-Host` when the framework's trust-proxy setting trusts the peer.
   */
  readonly host: string | undefined;
  /** Whether the request reached the site over https, by the same trust-proxy rule. */
  readonly https: boolean;
  /** A request header by lower-case name, first value only. */
  header(name: string): string | undefined;
}

/** A session found in the store, ready to become this request's session. */
export interface FoundSession {
  readonly id: string;
  isEmpty(): boolean;
  /** The core's note inside this session's record (see `SessionPort.readNote`). */
  readNote(): unknown;
  /**
   * Save this session's record with only the core's note replaced. Stores of this package
   * merge it with concurrent saves; a destroyed session stays destroyed.
   */
  writeNote(note: unknown): Promise<void>;
  /**
   * Make this the request's session; the session middleware then sends this site's own
   * cookie for it (its own name, domain, path, lifetime, SameSite).
   */
  adopt(): void;
}

/** The request's session, as the adapter's session middleware holds it. */
export interface SessionPort {
  /** The id of the session this request holds, if any. */
  readonly id: string | undefined;
  /** True when the session holds no user data (framework bookkeeping such as the cookie does not count). */
  isEmpty(): boolean;
  /** Make sure the session is in the store (a brand-new one is saved) and return its id. */
  persist(): Promise<string>;
  /** Read a session by id from the store; undefined when it is missing or expired. Throws when the store fails. */
  find(id: string): Promise<FoundSession | undefined>;
  /** Destroy another session by id (one this request left for the browser's newer session). Throws when the store fails. */
  destroy(id: string): Promise<void>;
  /** The session store itself when it also implements {@link SharingStore} (the stores of this package do). */
  readonly sharingStore: SharingStore | undefined;
  /**
   * The core's own note inside the current session's data (opaque JSON, read under
   * `NOTE_KEY`); undefined when there is none. The note does not make a session non-empty.
   */
  readNote(): unknown;
  /** Replace the core's note in the current session's data; the session middleware saves it like any change. */
  writeNote(note: unknown): void;
}

/**
 * What the core made of a request: a complete `reply` the adapter sends instead of the
 * app, or `pass` it on to the app, adding the core's `cookies` and `headers` to the app's
 * response (headers override the app's own of the same name).
 */
export type Handled =
  | { readonly kind: 'reply'; readonly reply: Reply }
  | { readonly kind: 'pass'; readonly cookies: readonly string[]; readonly headers?: Readonly<Record<string, string>> | undefined };

/**
 * Headers every response that sets one of the core's cookies, or carries a loader (whose
 * tokens are bearer credentials for seconds), must have: a shared cache must never hand
 * one visitor's response to another.
 */
export const PRIVATE_RESPONSE_HEADERS: Readonly<Record<string, string>> = { 'cache-control': 'private, no-store', vary: 'Cookie' };

/** A complete response the adapter sends as is. */
export interface Reply {
  readonly status: number;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string>>;
  /** Complete `Set-Cookie` values for the core's own cookies (never the session cookie). */
  readonly cookies: readonly string[];
  readonly body: string;
}
