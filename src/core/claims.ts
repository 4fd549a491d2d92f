import type { Config } from './options.ts';
import type { RejectReason } from './reasons.ts';
import type { Site } from './sites.ts';

/** Claims every token addressed from one site to another carries. */
export interface AddressedClaims {
  /** Origin of the site that minted the token. */
  readonly src: string;
  /** Origin of the only site that may accept it. */
  readonly dst: string;
  /** Issue time, ms since the epoch. */
  readonly iat: number;
  /** Random token id: the single-use key. */
  readonly jti: string;
}

export type ClaimsCheck = { readonly ok: true; readonly source: Site } | { readonly ok: false; readonly reason: RejectReason };

function isClaims(payload: Record<string, unknown>): payload is Record<string, unknown> & AddressedClaims {
  return typeof payload.src === 'string' && typeof payload.dst === 'string' && typeof payload.iat === 'number' && typeof payload.jti === 'string';
}

/**
 * Check, in this order, that an opened token is for `here`, comes from a configured site
 * (never `here` itself), and is neither expired nor dated beyond the allowed skew.
 */
export function checkClaims(config: Config, payload: Record<string, unknown>, here: Site, now: number): ClaimsCheck {
  // Authentic payloads are ours; a missing field means a format slip between versions.
  if (!isClaims(payload)) return { ok: false, reason: 'TOKEN_VERSION' };
  if (payload.dst !== here.origin) return { ok: false, reason: 'WRONG_DESTINATION' };
  const source = config.sites.forOrigin(payload.src);
  if (!source || source === here) return { ok: false, reason: 'UNKNOWN_SOURCE' };
  if (payload.iat - now > config.skewMs) return { ok: false, reason: 'TOKEN_FROM_FUTURE' };
  if (now - payload.iat > config.timeoutMs) return { ok: false, reason: 'TOKEN_EXPIRED' };
  return { ok: true, source };
}

/** Milliseconds a used token id must stay recorded: as long as the token could still pass `checkClaims`. */
export function claimTtl(config: Config): number {
  return config.timeoutMs + 2 * config.skewMs;
}
