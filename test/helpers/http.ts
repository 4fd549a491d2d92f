import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { parseSetCookie } from 'cookie';

export interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** Parsed Set-Cookie headers of this response. */
  setCookies: ReturnType<typeof parseSetCookie>[];
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Defaults to 127.0.0.1: the system resolver here does not resolve *.localhost. */
  connectTo?: string;
}

/**
 * One HTTP request to `url`, connecting to loopback and sending the URL's host in `Host`,
 * as a browser would for a *.localhost site.
 */
export function request(url: string, options: RequestOptions = {}): Promise<Response> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: options.connectTo ?? '127.0.0.1',
        port: Number(target.port || 80),
        method: options.method ?? 'GET',
        path: `${target.pathname}${target.search}`,
        headers: { host: target.host, ...options.headers },
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          const raw = res.headers['set-cookie'] ?? [];
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, setCookies: raw.map((line) => parseSetCookie(line)) });
        });
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** What Chromium sends on a top-level navigation, as far as the server side cares. */
export const NAVIGATION_HEADERS: Readonly<Record<string, string>> = {
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36',
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-dest': 'document',
  'sec-fetch-site': 'none',
};

/** What Chromium sends for a classic cross-site `<script src>` (the push), as far as the server side cares; add the Referer. */
export const SCRIPT_LOAD_HEADERS: Readonly<Record<string, string>> = {
  'user-agent': NAVIGATION_HEADERS['user-agent'] as string,
  accept: '*/*',
  'sec-fetch-mode': 'no-cors',
  'sec-fetch-dest': 'script',
  'sec-fetch-site': 'cross-site',
};

export interface Step extends Response {
  readonly url: string;
}

/**
 * A cookie jar per host, enough to play a browser against the demo over plain HTTP:
 * stores what each site sets, sends it back to that site only.
 */
export class Client {
  readonly #jars = new Map<string, Map<string, string>>();
  /** A client that never stores a cookie (a browser with cookies disabled). */
  readonly cookieless: boolean;
  /** Several processes behind one host: requests to that host go to each port in turn (a round-robin balancer). */
  readonly #balance: Map<string, { ports: readonly number[]; next: number }>;

  constructor(options: { cookieless?: boolean; balance?: Record<string, readonly number[]> } = {}) {
    this.cookieless = options.cookieless ?? false;
    this.#balance = new Map(Object.entries(options.balance ?? {}).map(([host, ports]) => [host, { ports, next: 0 }]));
  }

  /** The ports each balanced host was reached on, in order (to show a test really spread its requests). */
  readonly served: string[] = [];

  cookies(origin: string): Map<string, string> {
    const host = new URL(origin).host;
    let jar = this.#jars.get(host);
    if (!jar) this.#jars.set(host, (jar = new Map<string, string>()));
    return jar;
  }

  async fetch(url: string, options: RequestOptions = {}): Promise<Response> {
    const jar = this.cookies(url);
    const cookieHeader = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
    const headers = { ...(cookieHeader ? { cookie: cookieHeader } : {}), ...options.headers };
    const host = new URL(url).host;
    const balanced = this.#balance.get(host);
    let target = url;
    if (balanced) {
      const port = balanced.ports[balanced.next++ % balanced.ports.length] as number;
      this.served.push(`${host}@${port}`);
      const direct = new URL(url);
      direct.host = `127.0.0.1:${port}`;
      target = direct.href;
    }
    const response = await request(target, { ...options, headers: { host, ...headers } });
    if (this.cookieless) return response;
    for (const cookie of response.setCookies) {
      const expired = cookie.maxAge !== undefined ? cookie.maxAge <= 0 : cookie.expires !== undefined && cookie.expires.getTime() <= Date.now();
      if (expired) jar.delete(cookie.name);
      else jar.set(cookie.name, cookie.value ?? '');
    }
    return response;
  }

  /**
   * A top-level navigation, following redirects as a browser does (each hop of the chain
   * is itself a navigation). Resolves every step, the last one being the page.
   */
  async navigate(url: string, options: { maxSteps?: number; headers?: Record<string, string> } = {}): Promise<Step[]> {
    const steps: Step[] = [];
    let next: string | undefined = url;
    while (next !== undefined) {
      if (steps.length >= (options.maxSteps ?? 10)) throw new Error(`more than ${options.maxSteps ?? 10} steps: ${steps.map((step) => step.url).join(' → ')}`);
      const response = await this.fetch(next, { headers: { ...NAVIGATION_HEADERS, ...options.headers } });
      steps.push({ ...response, url: next });
      const location = response.status >= 300 && response.status < 400 ? response.headers.location : undefined;
      next = location === undefined ? undefined : new URL(location, next).href;
    }
    return steps;
  }

  /** A form post from the site's own page (with the Origin header browsers send). */
  post(url: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    return this.fetch(url, {
      method: 'POST',
      body: new URLSearchParams(form).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(url).origin, ...headers },
    });
  }
}
