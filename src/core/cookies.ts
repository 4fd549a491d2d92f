import { parse, serialize } from 'cookie';
import type { RequestFacts } from './contract.ts';
import type { Site } from './sites.ts';

/**
 * The core's own cookies: the link cookie (this browser's shared id, per site) and one
 * short-lived state cookie per hop in flight. Always HttpOnly and SameSite=Lax (sent on
 * the top-level navigations of a hop, never on cross-site subresources or posts), Secure
 * and `__Host-` prefixed on https sites (no Domain, Path=/: no subdomain can plant one).
 */
export interface CoreCookieNames {
  readonly link: string;
  readonly hopPrefix: string;
}

export function cookieNames(site: Site): CoreCookieNames {
  const prefix = site.secure ? '__Host-' : '';
  return { link: `${prefix}shared-session.link`, hopPrefix: `${prefix}shared-session.hop.` };
}

/** The request's cookies, parsed once. */
export function requestCookies(facts: RequestFacts): Readonly<Record<string, string | undefined>> {
  const header = facts.header('cookie');
  return header ? parse(header) : {};
}

/** A Set-Cookie value for one of the core's cookies on `site`; `maxAgeSeconds` 0 deletes it. */
export function coreCookie(site: Site, name: string, value: string, maxAgeSeconds: number): string {
  return serialize(name, value, {
    httpOnly: true,
    sameSite: 'lax',
    secure: site.secure,
    path: '/',
    maxAge: Math.max(0, Math.floor(maxAgeSeconds)),
  });
}
