import { lookup as dnsLookup } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { Config } from './options.ts';
import type { Site } from './sites.ts';

/**
 * How long a verdict on a site holds before it is checked again. "Up" is short: a site
 * that just died must stop receiving visitors within a couple of seconds (the check is
 * one small request, shared by every page load of that moment).
 */
const UP_FOR_MS = 2_000;
const DOWN_FOR_MS = 10_000;
const DOUBT_AFTER_MS = 1_000;

// RFC 6761 §6.3: `localhost` names are loopback. Browsers resolve *.localhost themselves
// but the system resolver may not, and the demo's hub is http://shop.localhost:3001.
const LOOPBACK_NAME = /(^|\.)localhost$/i;
const lookup: LookupFunction = (hostname, options, callback) => {
  if (LOOPBACK_NAME.test(hostname)) {
    if (options.all) (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: '127.0.0.1', family: 4 }]);
    else callback(null, '127.0.0.1', 4);
    return;
  }
  dnsLookup(hostname, options, callback as never);
};

/** Checks of one site. */
class Checks {
  readonly #url: URL;
  readonly #timeoutMs: number;
  readonly #onChange: (up: boolean) => void;
  #verdict: { up: boolean; until: number; at: number } | undefined;
  #checking: Promise<boolean> | undefined;

  constructor(url: URL, timeoutMs: number, onChange: (up: boolean) => void) {
    this.#url = url;
    this.#timeoutMs = timeoutMs;
    this.#onChange = onChange;
  }

  isUp(now: number): Promise<boolean> {
    if (this.#verdict && now < this.#verdict.until) return Promise.resolve(this.#verdict.up);
    this.#checking ??= this.#check().finally(() => (this.#checking = undefined));
    return this.#checking;
  }

  doubt(now: number): void {
    // At most one fresh check a second, however many visitors come back mid-hop: the
    // evidence comes from the browser, so a client could otherwise make every request cost
    // an outbound connection.
    if (this.#verdict?.up && now - this.#verdict.at >= DOUBT_AFTER_MS) this.#verdict = undefined;
  }

  async #check(): Promise<boolean> {
    const up = await new Promise<boolean>((resolve) => {
      const send = this.#url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(this.#url, { method: 'GET', agent: false, lookup, timeout: this.#timeoutMs, headers: { accept: '*/*' } }, (res) => {
        res.resume();
        resolve((res.statusCode ?? 500) < 500);
      });
      req.on('timeout', () => req.destroy(new Error('site check timed out')));
      req.on('error', () => resolve(false));
      req.end();
    });
    const previous = this.#verdict?.up;
    const now = Date.now();
    this.#verdict = { up, until: now + (up ? UP_FOR_MS : DOWN_FOR_MS), at: now };
    if (previous !== up && !(previous === undefined && up)) this.#onChange(up);
    return up;
  }
}

/**
 * Whether a site answers, so that no site ever sends visitors to one that is down or
 * slow: a hop would leave them on an error page. Each site is checked at
 * `{origin}{basePath}/health` (the hub at `hubProbe` when that is a URL), one check at a
 * time, its verdict kept for a while (shorter when down, so a recovered site is used
 * again soon). `hubProbe: false` turns every check off.
 */
export class SiteHealth {
  readonly #checks = new Map<Site, Checks>();
  readonly #config: Config;
  readonly #onChange: (site: Site, up: boolean) => void;

  constructor(config: Config, onChange: (site: Site, up: boolean) => void) {
    this.#config = config;
    this.#onChange = onChange;
  }

  /** True when `site` answered its last check (or checks are off). Waits at most `hubTimeoutMs`. */
  isUp(site: Site, now = Date.now()): Promise<boolean> {
    return this.#of(site)?.isUp(now) ?? Promise.resolve(true);
  }

  /**
   * A visitor came back while their hop to `site` was still in flight: the browser's own
   * evidence that the site may not have answered. The next hop there checks first.
   */
  doubt(site: Site, now = Date.now()): void {
    this.#of(site)?.doubt(now);
  }

  #of(site: Site): Checks | undefined {
    const { hubProbe, hub, basePath, hubTimeoutMs } = this.#config;
    if (hubProbe === undefined) return undefined;
    let checks = this.#checks.get(site);
    if (!checks) {
      const url = site === hub ? hubProbe : new URL(`${site.origin}${basePath}/health`);
      checks = new Checks(url, hubTimeoutMs, (up) => this.#onChange(site, up));
      this.#checks.set(site, checks);
    }
    return checks;
  }
}
