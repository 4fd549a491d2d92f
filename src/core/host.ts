import type { Site } from './sites.ts';

// A Host header is `host[:port]` (RFC 9110 §7.2): a reg-name, IPv4 or bracketed IPv6.
// Anything else (spaces, userinfo, paths) is refused rather than guessed at.
const HOST_HEADER = /^(?:\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?)(?::(\d{1,5}))?$/;

/**
 * Finds the configured site a request is addressed to, by exact comparison of the
 * normalised Host: never by suffix, so `notexample.com` is not `example.com`.
 */
export class SiteTable {
  readonly all: readonly Site[];
  /** The note id of every site, in order. */
  readonly noteIds: readonly string[];
  readonly #byHost: ReadonlyMap<string, Site>;

  constructor(sites: readonly Site[]) {
    this.all = sites;
    this.noteIds = sites.map((site) => site.noteId);
    this.#byHost = new Map(sites.map((site) => [site.host, site]));
  }

  /** The site for a `Host` value, honouring the request scheme for the default port; undefined if none. */
  forHost(hostHeader: string, https: boolean): Site | undefined {
    const exact = this.#byHost.get(hostHeader);
    if (exact) return exact;
    const host = hostHeader.toLowerCase();
    const match = HOST_HEADER.exec(host);
    if (!match) return undefined;
    const port = match[1];
    // `example.com:443` on https is `example.com`: browsers omit the default port, proxies may not.
    const normal = port !== undefined && port === (https ? '443' : '80') ? host.slice(0, -(port.length + 1)) : host;
    return this.#byHost.get(normal);
  }

  forOrigin(origin: string): Site | undefined {
    for (const site of this.all) if (site.origin === origin) return site;
    return undefined;
  }

  byIndex(index: number): Site | undefined {
    return this.all[index];
  }
}
