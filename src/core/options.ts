import { describeValue, optionError } from './errors.ts';
import { SiteTable } from './host.ts';
import { deriveKeys } from './keys.ts';
import { isSharingStore, type SharingStore } from './sharing-store.ts';
import { parseSites, type Site } from './sites.ts';
import { Sealer } from './token.ts';

/**
 * A secret: a string or bytes with at least 128 bits of entropy, e.g. `openssl rand -base64 48`.
 * Bytes are any `Uint8Array`; a Node `Buffer` is one.
 */
export type Secret = string | Uint8Array;

/**
 * Options of the core, shared by every adapter.
 *
 * @example
 * ```ts
 * const options: SharedSessionOptions = {
 *   sites: ['https://example.com', 'https://example.de'],
 *   secret: process.env.SHARED_SESSION_SECRET!,
 * };
 * ```
 */
export interface SharedSessionOptions {
  /** Every origin that shares the session, e.g. `https://example.com`. Plain http only for `localhost` and `*.localhost` unless `allowInsecureHttp`. */
  sites: readonly string[];
  /** One secret, or a list newest first: tokens are sealed with the first and opened with any (rotation). The same on every site. */
  secret: Secret | readonly Secret[];
  /** How long a token stays valid after it is minted. Default 30. */
  timeoutSeconds?: number;
  /** How far a token's issue time may lie in the future, for clocks that differ between servers. Default 5. */
  clockSkewSeconds?: number;
  /** Replace a non-empty session on the receiving site too (the default only fills an empty one). Default false. */
  alwaysReplace?: boolean;
  /** Where the library's routes live on every site. Default `/shared-session`. */
  basePath?: string;
  /** Accept plain-http origins other than localhost, for private test networks only. Default false. */
  allowInsecureHttp?: boolean;
  /**
   * Where single-use token ids and browser links are recorded. Default: the session store
   * when it implements {@link SharingStore} (the stores of this package do), otherwise
   * this process's memory.
   */
  sharingStore?: SharingStore;
  /** The site every other site asks, on a visitor's first page load, who the visitor is. One of `sites`. Default: the first. */
  hub?: string;
  /** The top-level redirect hop, which shares the session in every browser. Default true. */
  hop?: boolean;
  /** Paths that never hop (APIs, static files): path prefixes (`'/api'` covers `/api` and `/api/…`), or a predicate. */
  hopExclude?: readonly string[] | ((path: string) => boolean);
  /**
   * Check that the hub answers before sending a visitor there: `true` asks
   * `{hub}{basePath}/health`, a URL string asks that URL instead (an internal address),
   * `false` never checks. Default true.
   */
  hubProbe?: boolean | string;
  /** How long the hub may take to answer the check before it counts as down. Default 1000. */
  hubTimeoutMs?: number;
  /** How long a browser's link (its shared id on every site) lives without a visit (renewed on a page load past half of it). Default 15552000 (180 days). */
  linkMaxAgeSeconds?: number;
  /** The script-tag push (needs third-party cookies). Default true. */
  push?: boolean;
}

/** Options after validation: what the core runs on. Never the caller's object. */
export interface Config {
  readonly sites: SiteTable;
  readonly sealer: Sealer;
  readonly timeoutMs: number;
  readonly skewMs: number;
  readonly alwaysReplace: boolean;
  readonly basePath: string;
  /** The one given in the options; otherwise the core asks the session port, then falls back to memory. */
  readonly sharingStore: SharingStore | undefined;
  readonly hub: Site;
  readonly hop: boolean;
  /** True for paths that never hop. */
  readonly hopExcluded: (path: string) => boolean;
  /** The URL of the hub check, undefined when the check is off. */
  readonly hubProbe: URL | undefined;
  readonly hubTimeoutMs: number;
  readonly linkMaxAgeMs: number;
  readonly push: boolean;
}

/** Every option of the core, by name (the README documents each; a test checks it). */
export const OPTION_NAMES: ReadonlySet<string> = new Set([
  'sites', 'secret', 'timeoutSeconds', 'clockSkewSeconds', 'alwaysReplace', 'basePath', 'allowInsecureHttp', 'sharingStore',
  'hub', 'hop', 'hopExclude', 'hubProbe', 'hubTimeoutMs', 'linkMaxAgeSeconds', 'push',
]);
const BASE_PATH = /^(?:\/[A-Za-z0-9._~-]+)+$/;

function seconds(value: unknown, option: string, fallback: number, min: number, max: number, unit = 'seconds'): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw optionError(option, `must be a number of ${unit} from ${min} to ${max} (got ${describeValue(value)})`, `Use e.g. ${fallback}.`);
  }
  return value;
}

function flag(value: unknown, option: string, fallback = false): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw optionError(option, `must be true or false (got ${typeof value})`, `Use \`${option}: true\`.`);
  return value;
}

function suggest(unknown: string): string {
  const lower = unknown.toLowerCase();
  for (const known of OPTION_NAMES) if (known.toLowerCase().startsWith(lower) || lower.startsWith(known.toLowerCase())) return ` Did you mean \`${known}\`?`;
  return '';
}

/** Validate the options once, at start-up, into a new {@link Config}. Throws `SharedSessionError` naming the option. */
export function resolveOptions(options: SharedSessionOptions, extraKeys: ReadonlySet<string> = new Set()): Config {
  if (typeof options !== 'object' || options === null) {
    throw optionError('options', 'must be an object', 'Pass `{ sites, secret }`.');
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.has(key) && !extraKeys.has(key)) throw optionError(key, 'is not an option of shared-session', `Remove it.${suggest(key)}`);
  }
  const allowInsecureHttp = flag(options.allowInsecureHttp, 'allowInsecureHttp');
  const sites = new SiteTable(parseSites(options.sites, allowInsecureHttp));
  const basePath = options.basePath ?? '/shared-session';
  if (typeof basePath !== 'string' || !BASE_PATH.test(basePath)) {
    throw optionError('basePath', `must be a path such as "/shared-session", without trailing slash (got ${JSON.stringify(basePath)})`, 'Use letters, digits, "-", "_", "." and "/".');
  }
  if (options.sharingStore !== undefined && !isSharingStore(options.sharingStore)) {
    throw optionError('sharingStore', 'must have claimOnce(key, ttlMs), readLink(id) and writeLink(id, value, ttlMs) methods', 'Pass a store of this package or `memorySharingStore()`.');
  }
  const hub = resolveHub(options.hub, sites);
  return {
    sites,
    sealer: new Sealer(deriveKeys(options.secret)),
    timeoutMs: seconds(options.timeoutSeconds, 'timeoutSeconds', 30, 1, 3600) * 1000,
    skewMs: seconds(options.clockSkewSeconds, 'clockSkewSeconds', 5, 0, 300) * 1000,
    alwaysReplace: flag(options.alwaysReplace, 'alwaysReplace'),
    basePath,
    sharingStore: options.sharingStore,
    hub,
    hop: flag(options.hop, 'hop', true),
    hopExcluded: resolveExclude(options.hopExclude),
    hubProbe: resolveProbe(options.hubProbe, hub, basePath),
    hubTimeoutMs: seconds(options.hubTimeoutMs, 'hubTimeoutMs', 1000, 50, 30_000, 'milliseconds'),
    // Browsers cap cookie lifetimes at 400 days (RFC 6265bis).
    linkMaxAgeMs: seconds(options.linkMaxAgeSeconds, 'linkMaxAgeSeconds', 15_552_000, 60, 34_560_000) * 1000,
    push: flag(options.push, 'push', true),
  };
}

function resolveHub(value: unknown, sites: SiteTable): Site {
  if (value === undefined) return sites.all[0] as Site;
  // Spelled as in `sites` may differ in case or a default port: compare origins as URLs do.
  let origin: string | undefined;
  try {
    origin = typeof value === 'string' ? new URL(value).origin : undefined;
  } catch {
    origin = undefined;
  }
  const site = origin === undefined ? undefined : sites.forOrigin(origin);
  if (!site) {
    throw optionError('hub', `must be one of \`sites\` (got ${describeValue(value)})`, `Use e.g. "${(sites.all[0] as Site).origin}".`);
  }
  return site;
}

function resolveExclude(value: unknown): (path: string) => boolean {
  if (value === undefined) return () => false;
  if (typeof value === 'function') return value as (path: string) => boolean;
  if (!Array.isArray(value) || !value.every((entry) => typeof entry === 'string' && entry.startsWith('/'))) {
    throw optionError('hopExclude', 'must be a list of path prefixes starting with "/", or a function (path) => boolean', 'Use e.g. ["/api", "/static"].');
  }
  const prefixes = (value as string[]).map((prefix) => comparable(prefix.length > 1 && prefix.endsWith('/') ? prefix.slice(0, -1) : prefix));
  // Compared as routers match them by default: percent-decoded and case-insensitive
  // (`/API` and `/%61pi` reach an `/api` router). Excluding more than asked is safe.
  return (raw) => {
    const path = comparable(raw);
    return prefixes.some((prefix) => prefix === '/' || path === prefix || path.startsWith(`${prefix}/`));
  };
}

function comparable(path: string): string {
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // Malformed escapes: compare as written.
  }
  return decoded.toLowerCase();
}

function resolveProbe(value: unknown, hub: Site, basePath: string): URL | undefined {
  if (value === undefined || value === true) return new URL(`${hub.origin}${basePath}/health`);
  if (value === false) return undefined;
  if (typeof value === 'string') {
    try {
      const url = new URL(value);
      if (url.protocol === 'http:' || url.protocol === 'https:') return url;
    } catch {
      // fall through to the error below
    }
  }
  throw optionError('hubProbe', `must be true, false or an http(s) URL (got ${describeValue(value)})`, 'Leave it out to check the hub at its own address.');
}
