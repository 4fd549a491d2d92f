/**
 * Why the library refused a request. Every refusal carries one of these codes: in the
 * `rejected` event, in the `Shared-Session-Reason` response header and in the status.
 * The codes are stable; add new ones, never rename.
 */
export type RejectReason =
  // the request itself
  | 'NO_HOST' // no Host header (or X-Forwarded-Host behind a trusted proxy)
  | 'UNKNOWN_HOST' // the Host is not one of `sites`
  | 'STORE_UNAVAILABLE' // the session store could not be read or written
  // the token's shape
  | 'TOKEN_TOO_LONG' // over the length limit, refused before any decoding
  | 'TOKEN_MALFORMED' // not base64url, or too short to hold a sealed payload
  | 'TOKEN_VERSION' // an unknown format version or purpose
  | 'TOKEN_INVALID' // authentication failed: forged, altered, truncated or sealed under an unknown key
  // the token's claims
  | 'WRONG_DESTINATION' // minted for another site
  | 'UNKNOWN_SOURCE' // minted by a site that is not one of `sites`
  | 'TOKEN_EXPIRED' // older than `timeoutSeconds`
  | 'TOKEN_FROM_FUTURE' // issued further ahead than the allowed clock skew
  | 'TOKEN_REPLAYED' // already used once
  | 'SESSION_NOT_FOUND' // names a session that is no longer in the store
  | 'REFERER_MISMATCH' // a script push loaded from a page that is not the token's source site
  // the hop
  | 'NOT_HUB' // a hop request sent to a site that is not the hub
  | 'STATE_MISSING' // a hop answer arrived without the state cookie of the browser that asked
  | 'STATE_MISMATCH' // a hop answer minted for another browser (a login CSRF attempt)
  | 'BAD_RETURN_PATH'; // the return target is not a same-origin path

/** HTTP status for each refusal: 400 malformed, 403 not for us, 404 gone, 414 too long, 421 wrong host, 503 store down. */
export const REJECT_STATUS: Readonly<Record<RejectReason, number>> = {
  NO_HOST: 400,
  UNKNOWN_HOST: 421,
  STORE_UNAVAILABLE: 503,
  TOKEN_TOO_LONG: 414,
  TOKEN_MALFORMED: 400,
  TOKEN_VERSION: 400,
  TOKEN_INVALID: 403,
  WRONG_DESTINATION: 403,
  UNKNOWN_SOURCE: 403,
  TOKEN_EXPIRED: 403,
  TOKEN_FROM_FUTURE: 403,
  TOKEN_REPLAYED: 403,
  SESSION_NOT_FOUND: 404,
  REFERER_MISMATCH: 403,
  NOT_HUB: 421,
  STATE_MISSING: 403,
  STATE_MISMATCH: 403,
  BAD_RETURN_PATH: 400,
};

/** The response header that names the reason of a refusal (and the outcome of an accepted request). */
export const REASON_HEADER = 'shared-session-reason';
