import { randomBytes } from 'node:crypto';
import { deriveKeys } from '../../src/core/keys.ts';
import { Purpose, Sealer } from '../../src/core/token.ts';
import { NAVIGATION_HEADERS, SCRIPT_LOAD_HEADERS } from './http.ts';
import { SHARED_SECRET } from './sites.ts';

/** Seals and opens as every test site does (they all run on `SHARED_SECRET`). */
export const sealer = new Sealer(deriveKeys(SHARED_SECRET));

/**
 * A push token from `src` to `dst` for the session `sid`, sealed as `src`'s loader seals
 * one: for a test that needs a token a page would not mint (a site outside the source's
 * `sites`, a session that already holds, a claim altered on purpose). `fields` override.
 */
export function craftPush(src: string, dst: string, sid: string, fields: Record<string, unknown> = {}): Promise<string> {
  return sealer.seal(Purpose.push, { src, dst, sid, iat: Date.now(), jti: randomBytes(16).toString('base64url'), ...fields });
}

/** The push token inside a loader's `<script src>` URL. */
export function tokenOf(src: string): string {
  return decodeURIComponent(new URL(src).pathname.split('/').pop()!.replace(/\.js$/, ''));
}

/**
 * What Chromium sends when a page of `source` loads a classic `<script src>` from another
 * site: Fetch Metadata, and the Referer the loader's `referrerpolicy="origin"` asks for.
 */
export function scriptLoad(source: string): Record<string, string> {
  return { ...SCRIPT_LOAD_HEADERS, referer: `${source}/` };
}

/**
 * Every other way a page of `source` can make a browser fetch a push URL, by the Fetch
 * Metadata the browser sends: none of them may use the token (a link or an image on an
 * attacker's page would otherwise log the victim in, and a browser without Fetch Metadata
 * shares through the hop instead).
 */
export function notScriptLoads(source: string): Readonly<Record<string, Record<string, string>>> {
  const referer = `${source}/`;
  return {
    'a top-level navigation': { ...NAVIGATION_HEADERS, 'sec-fetch-site': 'cross-site', referer },
    'an image': { 'sec-fetch-dest': 'image', 'sec-fetch-mode': 'no-cors', 'sec-fetch-site': 'cross-site', referer },
    'an iframe': { 'sec-fetch-dest': 'iframe', 'sec-fetch-mode': 'navigate', 'sec-fetch-site': 'cross-site', referer },
    'a fetch()': { 'sec-fetch-dest': 'empty', 'sec-fetch-mode': 'cors', 'sec-fetch-site': 'cross-site', referer },
    'a script of the site’s own page': { ...scriptLoad(source), 'sec-fetch-site': 'same-origin' },
    'no Fetch Metadata at all': { referer },
  };
}
