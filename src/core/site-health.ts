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
// but the system resolver may not (glibc without nss-myhostname does not), and the demo's
// hub is http://shop.localhost:3001. `fetch` takes no resolver of ours, so a plain-http
// localhost name is checked at 127.0.0.1 directly: the same port and path, on loopback
// whatever DNS says. The Host header then names 127.0.0.1 (fetch does not let a caller
// set Host), which the health route does not read. An https one keeps its name: TLS
// checks the certificate against the name, and an address would fail it; it needs a
// resolver that knows *.localhost (see docs/ARCHITECTURE.md, "The health check").
const LOOPBACK_NAME = /(^|\.)localhost$/i;

/** Where a check of `url` connects: see LOOPBACK_NAME. */
export function checkTarget(url: URL): URL {
  if (url.protocol !== 'http:' || !LOOPBACK_NAME.test(url.hostname)) return url;
  const direct = new URL(url);
  direct.hostname = '127.0.0.1';
  return direct;
}

/** The outcome of one check: up, or down with what went wrong. */
export type CheckResult = { readonly up: true } | { readonly up: false; readonly why: string; readonly cause?: unknown };

/**
 * One GET of `url`, bounded by `timeoutMs` from start to response headers (name
 * resolution, connection, TLS and the answer). Any status below 500 counts as up,
 * redirects included, which are not followed: the site answered. A 5xx, a network
 * failure or the timeout count as down; the cause is the underlying error (fetch wraps
 * DNS, connection and TLS errors in a TypeError whose `cause` is the real one).
 */
export async function checkSite(url: URL, timeoutMs: number): Promise<CheckResult> {
  try {
    const response = await fetch(checkTarget(url), { method: 'GET', redirect: 'manual', headers: { accept: '*/*' }, signal: AbortSignal.timeout(timeoutMs) });
    // Only the status matters; release the connection without reading the body.
    response.body?.cancel().catch(() => undefined);
    // A browser-like fetch reports a manual redirect as status 0 (`opaqueredirect`): an answer too.
    return response.status < 500 ? { up: true } : { up: false, why: `it answered HTTP ${response.status}` };
  } catch (error) {
    if (error instanceof Error && error.name === 'TimeoutError') return { up: false, why: `no answer within ${timeoutMs} ms`, cause: error };
    const cause = error instanceof TypeError && error.cause !== undefined ? error.cause : error;
    const code = (cause as { code?: unknown } | null)?.code;
    const why = typeof code === 'string' ? code : cause instanceof Error ? cause.message : String(cause);
    return { up: false, why, cause };
  }
}

/** Checks of one site. */
class Checks {
  readonly #url: URL;
  readonly #timeoutMs: number;
  readonly #onChange: (result: CheckResult) => void;
  #verdict: { up: boolean; until: number; at: number } | undefined;
  #checking: Promise<boolean> | undefined;

  constructor(url: URL, timeoutMs: number, onChange: (result: CheckResult) => void) {
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
    const result = await checkSite(this.#url, this.#timeoutMs);
    const { up } = result;
    const previous = this.#verdict?.up;
    const now = Date.now();
    this.#verdict = { up, until: now + (up ? UP_FOR_MS : DOWN_FOR_MS), at: now };
    if (previous !== up && !(previous === undefined && up)) this.#onChange(result);
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
  readonly #onChange: (site: Site, result: CheckResult) => void;

  /** @param onChange called when a site's verdict changes (not for a first "up"), with why it is down. */
  constructor(config: Config, onChange: (site: Site, result: CheckResult) => void) {
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
      checks = new Checks(url, hubTimeoutMs, (result) => this.#onChange(site, result));
      this.#checks.set(site, checks);
    }
    return checks;
  }
}
