import { optionError } from './errors.ts';

/** One configured site, parsed once at start-up. */
export interface Site {
  /** `https://example.com` or `http://shop.localhost:3001`: scheme, host and non-default port. */
  readonly origin: string;
  /** What a browser sends in `Host` for this site: the hostname, plus the port when it is not the default. */
  readonly host: string;
  readonly secure: boolean;
  /** `localhost` or `*.localhost`: browsers treat these as secure contexts even over http. */
  readonly loopbackName: boolean;
  /** Position in `sites` (0 is the first). */
  readonly index: number;
  /**
   * How a session's note names this site (see note.ts). Written by the {@link SiteTable}
   * that holds the site (a SHA-256, asynchronous on Web Crypto): read it only once the
   * table is ready.
   */
  readonly noteId: string;
}

const LOOPBACK_NAME = /(^|\.)localhost$/;

/**
 * Parse one entry of the `sites` option. Only a bare origin is accepted: a path, query,
 * credentials or fragment would make the origin ambiguous.
 */
export function parseSite(value: unknown, index: number, allowInsecureHttp: boolean): Site {
  const option = `sites[${index}]`;
  if (typeof value !== 'string' || value === '') {
    throw optionError(option, 'must be a non-empty string', 'Give a full origin such as "https://example.com".');
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw optionError(option, `is not a URL (${JSON.stringify(value)})`, 'Give a full origin such as "https://example.com".');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw optionError(option, `uses ${url.protocol}`, 'Use an https:// origin.');
  }
  if (url.username || url.password || url.search || url.hash || url.pathname !== '/' || value.endsWith('/')) {
    throw optionError(option, `must be an origin only, without path, query, credentials or trailing slash (${JSON.stringify(value)})`, `Use "${url.origin}".`);
  }
  const loopbackName = LOOPBACK_NAME.test(url.hostname);
  if (url.protocol === 'http:' && !loopbackName && !allowInsecureHttp) {
    throw optionError(
      option,
      `is plain http on a public name (${url.origin}); the session id would travel unencrypted`,
      'Use https://, or set `allowInsecureHttp: true` for a private test network.',
    );
  }
  return { origin: url.origin, host: url.host, secure: url.protocol === 'https:', loopbackName, index, noteId: '' };
}

/** Parse and check the whole `sites` list: at least two, no duplicates. */
export function parseSites(value: unknown, allowInsecureHttp: boolean): readonly Site[] {
  if (!Array.isArray(value) || value.length < 2) {
    throw optionError('sites', 'must list at least two origins', 'Pass every domain that shares the session, e.g. ["https://example.com", "https://example.de"].');
  }
  const sites = value.map((entry, index) => parseSite(entry, index, allowInsecureHttp));
  const seen = new Map<string, number>();
  for (const site of sites) {
    const first = seen.get(site.host);
    if (first !== undefined) {
      throw optionError(`sites[${site.index}]`, `repeats the host of sites[${first}] (${site.host})`, 'List each host once.');
    }
    seen.set(site.host, site.index);
  }
  return sites;
}
