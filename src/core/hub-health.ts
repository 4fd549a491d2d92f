import { lookup as dnsLookup } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';

/**
 * How long a verdict on the hub holds before it is checked again. "Up" is short: a hub
 * that just died must stop receiving visitors within a couple of seconds (the check is
 * one small request, shared by every page load of that moment).
 */
const UP_FOR_MS = 2_000;
const DOWN_FOR_MS = 10_000;

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

/**
 * Whether the hub answers, so that a site never sends visitors to a hub that is down or
 * slow: a hop would leave them on an error page. One check at a time, its verdict kept
 * for a while (shorter when down, so that a recovered hub is used again soon).
 */
export class HubHealth {
  readonly #url: URL | undefined;
  readonly #timeoutMs: number;
  readonly #onChange: (up: boolean) => void;
  #verdict: { up: boolean; until: number } | undefined;
  #checking: Promise<boolean> | undefined;

  constructor(url: URL | undefined, timeoutMs: number, onChange: (up: boolean) => void) {
    this.#url = url;
    this.#timeoutMs = timeoutMs;
    this.#onChange = onChange;
  }

  /** True when the hub answered its last check (or checks are off). Waits at most the timeout. */
  isUp(now = Date.now()): Promise<boolean> {
    if (!this.#url) return Promise.resolve(true);
    if (this.#verdict && now < this.#verdict.until) return Promise.resolve(this.#verdict.up);
    this.#checking ??= this.#check(this.#url).finally(() => (this.#checking = undefined));
    return this.#checking;
  }

  /**
   * Forget an "up" verdict: a visitor came back while their hop was still in flight, the
   * browser's own evidence that the hub may not have answered. The next hop checks first.
   */
  doubt(): void {
    if (this.#verdict?.up) this.#verdict = undefined;
  }

  async #check(url: URL): Promise<boolean> {
    const up = await new Promise<boolean>((resolve) => {
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(url, { method: 'GET', agent: false, lookup, timeout: this.#timeoutMs, headers: { accept: '*/*' } }, (res) => {
        res.resume();
        resolve((res.statusCode ?? 500) < 500);
      });
      req.on('timeout', () => req.destroy(new Error('hub check timed out')));
      req.on('error', () => resolve(false));
      req.end();
    });
    const previous = this.#verdict?.up;
    this.#verdict = { up, until: Date.now() + (up ? UP_FOR_MS : DOWN_FOR_MS) };
    if (previous !== up && !(previous === undefined && up)) this.#onChange(up);
    return up;
  }
}
