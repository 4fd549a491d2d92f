import { noteIdOf } from './note.ts';
import { isPromise } from './platform/types.ts';
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
  readonly #byHost: ReadonlyMap<string, Site>;
  #noteIds: readonly string[] = [];
  #ready: Promise<void> | undefined;

  /** Takes the sites it is given as its own: it writes their note ids (at once on node:crypto, when {@link ready} settles on Web Crypto). */
  constructor(sites: readonly Site[]) {
    this.all = sites;
    this.#byHost = new Map(sites.map((site) => [site.host, site]));
    const ids = sites.map((site) => noteIdOf(site.origin));
    if (ids.every((id) => !isPromise(id))) {
      this.#name(ids as string[]);
    } else {
      this.#ready = Promise.all(ids.map((id) => Promise.resolve(id))).then((named) => {
        this.#name(named);
        this.#ready = undefined;
      });
      this.#ready.catch(() => undefined);
    }
  }

  #name(ids: readonly string[]): void {
    this.all.forEach((site, index) => {
      (site as { noteId: string }).noteId = ids[index] as string;
    });
    this.#noteIds = ids;
  }

  /** Undefined once every site's note id is known (at once on a synchronous platform), else their derivation. */
  get ready(): Promise<void> | undefined {
    return this.#ready;
  }

  /** The note id of every site, in order (empty until {@link ready}). */
  get noteIds(): readonly string[] {
    return this.#noteIds;
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
