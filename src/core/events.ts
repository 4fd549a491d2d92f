import type { RejectReason } from './reasons.ts';

/**
 * Which mechanism a request or event belongs to: the script `push` and its `loader`; the
 * top-level `hop`; and the `link`, by which a site follows the session of a browser it
 * already knows on an ordinary page load.
 */
export type Mechanism = 'push' | 'loader' | 'hop' | 'link';

/** Fired when a site takes over a session from another site (the original's `session_replaced` signal). */
export interface SessionReplacedEvent<Raw = unknown> {
  /** The framework's request. */
  readonly request: Raw;
  readonly mechanism: Mechanism;
  /** Origin of the site the session came from. */
  readonly source: string;
  /** Origin of this site, which now uses the session. */
  readonly destination: string;
  /** Whether this site's session was empty before (false with `alwaysReplace`, or when following the link replaced a session this site had agreed on). */
  readonly previousWasEmpty: boolean;
}

/** Fired for every refused request, with a stable reason code. Never carries a token or a session id. */
export interface RejectedEvent<Raw = unknown> {
  readonly request: Raw;
  readonly mechanism: Mechanism;
  readonly reason: RejectReason;
  /**
   * The HTTP status the request was answered with; for `mechanism: 'loader'` (the page
   * itself is served, without a loader) the status such a refusal has elsewhere.
   */
  readonly status: number;
  /** This site's origin, when the Host named one. */
  readonly site: string | undefined;
}

/** Codes of {@link WarningEvent}: operational facts that need an operator, not a refusal of one request. */
export type WarningCode =
  /** A token sealed under an older secret was accepted: rotation is in progress, or a site still seals with an old secret. */
  | 'OLD_KEY_USED'
  /** The session store failed while rendering the loader; the page got no loader. */
  | 'STORE_ERROR'
  /** No shared SharingStore: token ids are recorded in this process only. */
  | 'MEMORY_SHARING_STORE'
  /** A request reached shared-session without a session: middleware order, or the store is disconnected. */
  | 'NO_SESSION'
  /**
   * A site (the hub, or another of the chain) failed its health check: no answer in time, a 5xx, or a
   * network error; the message says which, and `cause` holds the underlying error (DNS, connection,
   * TLS, the timeout), none for a 5xx. Visitors are not sent there until it answers again.
   */
  | 'HUB_UNREACHABLE'
  /** The hub answers its health check again. */
  | 'HUB_REACHABLE'
  /** A `sessionReplaced` or `rejected` listener threw (the error is the `cause`); the request went on. */
  | 'LISTENER_FAILED';

export interface WarningEvent {
  readonly code: WarningCode;
  readonly message: string;
  readonly cause?: unknown;
}

/** Event map of {@link SharedSession}. */
export interface SharedSessionEvents<Raw = unknown> {
  sessionReplaced: [event: SessionReplacedEvent<Raw>];
  rejected: [event: RejectedEvent<Raw>];
  warning: [event: WarningEvent];
}
