/**
 * One site of the behavioural spec, written once per adapter (`test/spec/sites/<adapter>.ts`)
 * and driven alike by every case of `test/spec/` over real HTTP. What a case may rely on is
 * only what this file says: the same routes, the same bodies, the same events, whatever
 * framework serves them. A difference between adapters is a defect of one of them.
 *
 * Routes every spec site serves (all on top of its framework's session layer and our adapter):
 *
 * - `GET /add?item=<x>` appends `x` to the session's `cart` (an array of strings); text `added\n`.
 * - `GET /whoami` JSON `{ "id": <session id> | null, "user": <string> | null, "cart": [...] }`;
 *   `id` is null while the session holds neither a user nor a cart.
 * - `POST /login` with the urlencoded body `user=<name>`: regenerates the session (a new id, the
 *   old one destroyed), keeps the cart, sets `user`, saves, then `303` to `/`.
 * - `POST /logout`: destroys the session (its id is gone from the store), then `303` to `/`.
 * - any other `GET`: an HTML page, `<!doctype html><title>page</title><p>page <path></p>`
 *   followed by the loader HTML of the adapter (the script-tag push; '' when there is none).
 *
 * The session cookie is `<first label of the host>.sid`, `SameSite=Lax`, `HttpOnly`, lifetime
 * `maxAgeMs` (default one hour), no `Secure` on http.
 */
import type { RejectedEvent, SessionReplacedEvent, SharedSessionOptions, WarningEvent } from 'shared-session';
import type { CallbackStore } from '../../src/stores/callback-store.ts';

export interface SpecSiteOptions {
  /** This site's origin, `http://<name>.localhost:<port>`: listen on 127.0.0.1 at its port. */
  readonly origin: string;
  /** Every site of the test, this one included, in the same order on each. */
  readonly sites: readonly string[];
  /** One store instance of ours, shared by every site of a test whatever its framework. */
  readonly store: CallbackStore;
  /** The core's options besides `sites`; `secret` defaults to SHARED_SECRET of test/helpers/sites.ts. */
  readonly shared?: Partial<SharedSessionOptions>;
  /** The session cookie's lifetime; default 3_600_000. */
  readonly maxAgeMs?: number;
}

/** An event the core emitted, as the site's listener saw it (the framework's raw request left out). */
export type SpecEvent =
  | { readonly name: 'rejected'; readonly event: Omit<RejectedEvent<unknown>, 'request'> }
  | { readonly name: 'sessionReplaced'; readonly event: Omit<SessionReplacedEvent<unknown>, 'request'> }
  | { readonly name: 'warning'; readonly event: WarningEvent };

export interface SpecSite {
  readonly origin: string;
  /** Every event the core emitted on this site, oldest first. */
  readonly events: SpecEvent[];
  close(): Promise<void>;
}

/** An adapter under the spec: its name in test titles and how to start one of its sites. */
export interface SpecAdapter {
  readonly name: string;
  start(options: SpecSiteOptions): Promise<SpecSite>;
}
