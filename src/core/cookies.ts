import { parse, serialize } from 'cookie';
import type { RequestFacts } from './contract.ts';
import type { Site } from './sites.ts';

/**
 * The core's own cookies: the link cookie (this site's view of the browser's epoch), one
 * short-lived state cookie per hop in flight, and the push's voucher. Link and state are
 * HttpOnly and SameSite=Lax (sent on the top-level navigations of a hop, never on
 * cross-site subresources or posts); all are Secure and `__Host-` prefixed on https sites
 * (no Domain, Path=/: no subdomain can plant one).
 */
export interface CoreCookieNames {
  readonly link: string;
  readonly hopPrefix: string;
  readonly voucher: string;
}

/** The voucher cookie's name without the `__Host-` prefix: enough to tell whether a Cookie header may carry one. */
export const VOUCHER_COOKIE = 'shared-session.voucher';

export function cookieNames(site: Site): CoreCookieNames {
  const prefix = site.secure ? '__Host-' : '';
  return { link: `${prefix}shared-session.link`, hopPrefix: `${prefix}shared-session.hop.`, voucher: `${prefix}${VOUCHER_COOKIE}` };
}

/** The request's cookies, parsed once. */
export function requestCookies(facts: RequestFacts): Readonly<Record<string, string | undefined>> {
  const header = facts.header('cookie');
  return header ? parse(header) : {};
}

/** A Set-Cookie value for one of the core's first-party cookies on `site`; `maxAgeSeconds` 0 deletes it. */
export function coreCookie(site: Site, name: string, value: string, maxAgeSeconds: number): string {
  return serialize(name, value, {
    httpOnly: true,
    sameSite: 'lax',
    secure: site.secure,
    path: '/',
    maxAge: Math.max(0, Math.floor(maxAgeSeconds)),
  });
}

/**
 * The voucher's Set-Cookie. It is set by the response to a cross-site `<script>` load, so
 * browsers store it only as `SameSite=None; Secure` (a third-party cookie) and never
 * partitioned, which would hide it from a direct visit. Plain-http sites are accepted only
 * for `*.localhost`, which browsers treat as a secure context, so `Secure` holds there too.
 */
export function voucherCookie(site: Site, value: string, maxAgeSeconds: number): string {
  return serialize(cookieNames(site).voucher, value, {
    httpOnly: true,
    sameSite: 'none',
    secure: true,
    partitioned: false,
    path: '/',
    maxAge: Math.max(0, Math.floor(maxAgeSeconds)),
  });
}
