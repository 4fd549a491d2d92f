/**
 * Why the library refused a request. Every refusal carries one of these codes in the
 * `rejected` event; the response carries its status and, in the `Shared-Session-Reason`
 * header, the code as the requester may learn it (see {@link publicReason}). The codes are
 * stable; add new ones, never rename.
 */
export type RejectReason =
  // the request itself
  | 'NO_HOST' // no Host header (or X-Forwarded-Host behind a trusted proxy)
  | 'UNKNOWN_HOST' // the Host is not one of `sites`
  | 'STORE_UNAVAILABLE' // the session store could not be read or written
  | 'METHOD_NOT_ALLOWED' // not a GET: HEAD and others never use up a single-use token
  | 'NOT_A_SCRIPT_LOAD' // a push token fetched by anything but a cross-site <script> (Fetch Metadata)
  | 'NOT_A_NAVIGATION' // a hop step fetched by anything but a top-level navigation (Fetch Metadata)
  // the token's shape
  | 'TOKEN_TOO_LONG' // over the length limit, refused before any decoding
  | 'TOKEN_MALFORMED' // not base64url, or too short to hold a sealed payload
  | 'TOKEN_VERSION' // an unknown format version or purpose
  | 'TOKEN_INVALID' // authentication failed: forged, altered, truncated or sealed under an unknown key
  // the token's claims
  | 'WRONG_DESTINATION' // minted for another site
  | 'UNKNOWN_SOURCE' // minted by a site that is not one of `sites`
  | 'TOKEN_EXPIRED' // older than its lifetime
  | 'TOKEN_FROM_FUTURE' // issued further ahead than the allowed clock skew
  | 'TOKEN_REPLAYED' // already used once
  | 'REFERER_MISMATCH' // a script push loaded from a page that is not the token's source site
  // the hop
  | 'STATE_MISSING' // a hop answer arrived without the state cookie of the browser that asked
  | 'STATE_MISMATCH' // a hop answer minted for another browser (a login CSRF attempt)
  | 'BAD_RETURN_PATH'; // the return target is not a same-origin path

/** HTTP status for each refusal: 400 malformed, 403 not for us, 405 wrong method, 414 too long, 421 wrong host, 503 store down. */
export const REJECT_STATUS: Readonly<Record<RejectReason, number>> = {
  NO_HOST: 400,
  UNKNOWN_HOST: 421,
  STORE_UNAVAILABLE: 503,
  METHOD_NOT_ALLOWED: 405,
  NOT_A_SCRIPT_LOAD: 403,
  NOT_A_NAVIGATION: 403,
  TOKEN_TOO_LONG: 414,
  TOKEN_MALFORMED: 400,
  TOKEN_VERSION: 400,
  TOKEN_INVALID: 403,
  WRONG_DESTINATION: 403,
  UNKNOWN_SOURCE: 403,
  TOKEN_EXPIRED: 403,
  TOKEN_FROM_FUTURE: 403,
  TOKEN_REPLAYED: 403,
  REFERER_MISMATCH: 403,
  STATE_MISSING: 403,
  STATE_MISMATCH: 403,
  BAD_RETURN_PATH: 400,
};

/**
 * What the response says of a refusal. Whoever presents a token learns nothing from the
 * answer that only its owner should know: a replayed token (someone used it: the victim's
 * browser, or an earlier copy) and an expired one answer alike, so a thief cannot tell
 * whether the victim's browser got there first. The `rejected` event keeps the exact code.
 */
export function publicReason(reason: RejectReason): string {
  return reason === 'TOKEN_REPLAYED' || reason === 'TOKEN_EXPIRED' ? 'TOKEN_REFUSED' : reason;
}

/** The response header that names the reason of a refusal (and the outcome of an accepted request). */
export const REASON_HEADER = 'shared-session-reason';
