/**
 * The runtime smoke test, written for any runtime with Web Crypto and `Request` (no `node:`
 * module, no `Buffer`): bundled by esbuild with the `@shared-session/web-platform`
 * condition, so that `#platform` is the Web Crypto implementation, and run on Node, Bun,
 * Deno and workerd by test/runtimes/runtimes.test.ts.
 *
 * (a) the token vectors (test/vectors/tokens.json) through the core's own code: key ids
 * derived, every token sealed byte for byte and opened back, every refusal refused with its
 * reason; (b) two `SharedSession` façades built from options answering Web `Request`s
 * through a tiny RequestFacts over `Request` and an in-memory SessionPort: the health route,
 * a push refused as NOT_A_SCRIPT_LOAD, and a push minted by one site's loader and accepted
 * by the other with a voucher (`memorySharingStore()`), then refused as a replay.
 */
import vectors from '../vectors/tokens.json' with { type: 'json' };
import { platform } from '#platform';
import { deriveKeys } from '../../src/core/keys.ts';
import { Sealer, sealToken, type Purpose } from '../../src/core/token.ts';
import { SharedSession, memorySharingStore, type FoundSession, type Handled, type RequestFacts, type SessionPort } from '../../src/index.ts';

export interface SmokeResult {
  readonly platform: string;
  readonly checks: readonly string[];
  readonly failures: readonly string[];
}

interface SecretSpec {
  readonly utf8?: string;
  readonly hex?: string;
  readonly keyId: string;
}

function hex(text: string): Uint8Array {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

const secrets = vectors.secrets as Readonly<Record<string, SecretSpec>>;

function secret(name: string): string | Uint8Array {
  const spec = secrets[name];
  if (!spec) throw new Error(`no secret ${name}`);
  return spec.utf8 ?? hex(spec.hex ?? '');
}

function opener(spec: { readonly secrets: readonly string[]; readonly now: number }): Sealer {
  return new Sealer(deriveKeys(spec.secrets.map(secret)), () => spec.now);
}

/** RequestFacts over a Web `Request`, as a fetch-style adapter would make them (the Host from the URL: `Host` is a forbidden header name for `new Request`). */
function factsOf(request: Request): RequestFacts<Request> {
  const url = new URL(request.url);
  return {
    raw: request,
    method: request.method,
    path: url.pathname,
    search: url.search,
    host: url.host,
    https: url.protocol === 'https:',
    header: (name) => request.headers.get(name) ?? undefined,
  };
}

type Data = Record<string, unknown>;

/** Sessions of one site, in memory: the least a SessionPort needs, for one request's session `id`. */
class Sessions {
  readonly #records = new Map<string, Data>();
  #next = 0;

  port(id: string | undefined): SessionPort {
    const records = this.#records;
    let current = id;
    const data = (): Data => (current === undefined ? {} : (records.get(current) ?? {}));
    const NOTE = '__sharedSession';
    const found = (key: string): FoundSession | undefined => {
      const record = records.get(key);
      if (!record) return undefined;
      return {
        id: key,
        isEmpty: () => Object.keys(record).every((name) => name === NOTE),
        readNote: () => record[NOTE],
        writeNote: (note) => {
          records.set(key, { ...record, [NOTE]: note });
          return Promise.resolve();
        },
        adopt: () => {
          current = key;
        },
      };
    };
    return {
      get id() {
        return current;
      },
      isEmpty: () => Object.keys(data()).every((name) => name === NOTE),
      persist: () => {
        current ??= `s${++this.#next}`;
        if (!records.has(current)) records.set(current, {});
        return Promise.resolve(current);
      },
      find: (key) => Promise.resolve(found(key)),
      destroy: (key) => {
        records.delete(key);
        return Promise.resolve();
      },
      sharingStore: undefined,
      readNote: () => data()[NOTE],
      writeNote: (note) => {
        if (current !== undefined) records.set(current, { ...data(), [NOTE]: note });
      },
    };
  }

  /** A session with user data, as a login leaves it. */
  create(data: Data): string {
    const id = `s${++this.#next}`;
    this.#records.set(id, data);
    return id;
  }
}

const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36';

export async function smoke(): Promise<SmokeResult> {
  const checks: string[] = [];
  const failures: string[] = [];
  const check = (ok: boolean, what: string): void => {
    (ok ? checks : failures).push(what);
  };

  // (a) The token vectors.
  for (const [name, spec] of Object.entries(secrets)) {
    const [key] = deriveKeys(secret(name));
    await key!.ready;
    check(toHex(key!.id) === spec.keyId, `key id of ${name}`);
  }
  for (const vector of vectors.tokens) {
    const [key] = deriveKeys(secret(vector.secret));
    await key!.ready;
    const sealed = await sealToken(key!, vector.hour, vector.purpose as Purpose, vector.payload, hex(vector.iv));
    check(sealed === vector.token, `seal ${vector.secret} purpose ${vector.purpose}`);
    const opened = await opener(vector.open).open(vector.purpose as Purpose, vector.token);
    check(opened.ok && JSON.stringify(opened.payload) === JSON.stringify(vector.payload) && opened.keyIndex === vector.open.keyIndex, `open ${vector.secret} purpose ${vector.purpose}`);
  }
  for (const vector of vectors.refusals) {
    const opened = await opener(vector).open(vector.purpose as Purpose, vector.token);
    check(!opened.ok && opened.reason === vector.reason, `refuse ${vector.description}`);
  }

  // (b) Two façades from options, answering Web Requests.
  const SECRET = 'sIzFNtMr6uC7YxlPS0EObQSgi2K6QOIuVwH0kxrnj/zxqnOK6exR6FNhOF8YaBWg';
  const [shop, blog] = ['https://shop.example', 'https://blog.example'];
  const options = { sites: [shop, blog], secret: SECRET, sharingStore: memorySharingStore(), hop: false, hubProbe: false };
  const atShop = new SharedSession<Request>(options);
  const atBlog = new SharedSession<Request>(options);
  const shopSessions = new Sessions();
  const blogSessions = new Sessions();
  const reasons: string[] = [];
  atBlog.on('rejected', (event) => reasons.push(event.reason));
  const reply = (handled: Handled): { status: number; reason: string | undefined; cookies: readonly string[] } =>
    handled.kind === 'reply' ? { status: handled.reply.status, reason: handled.reply.headers['shared-session-reason'], cookies: handled.reply.cookies } : { status: 0, reason: 'PASS', cookies: [] };

  const health = new Request(`${blog}/shared-session/health`);
  check(atBlog.concerns(factsOf(health)), 'the health route concerns the core');
  const healthy = await atBlog.handle(factsOf(health), undefined);
  check(healthy.kind === 'reply' && healthy.reply.status === 204, 'the health route answers 204');

  // shop's loader, for a logged-in session on a Chromium page load: one script tag for blog.
  const alice = shopSessions.port(shopSessions.create({ user: 'alice' }));
  const page = new Request(`${shop}/`, { headers: { 'user-agent': CHROME, 'sec-fetch-dest': 'document', 'sec-fetch-mode': 'navigate' } });
  const loader = await atShop.loader(factsOf(page), alice);
  const src = /src="([^"]+)"/.exec(loader)?.[1]?.replaceAll('&amp;', '&');
  check(src !== undefined && src.startsWith(`${blog}/shared-session/`) && src.endsWith('.js'), 'shop’s loader carries a script for blog');
  if (src === undefined) return { platform: platform.name, checks, failures };

  const asImage = new Request(src, { headers: { 'sec-fetch-dest': 'image', 'sec-fetch-mode': 'no-cors', 'sec-fetch-site': 'cross-site', referer: `${shop}/` } });
  const notScript = reply(await atBlog.handle(factsOf(asImage), blogSessions.port(undefined)));
  check(notScript.status === 403 && notScript.reason === 'NOT_A_SCRIPT_LOAD' && notScript.cookies.length === 0 && reasons.at(-1) === 'NOT_A_SCRIPT_LOAD', 'a push loaded as an image is refused as NOT_A_SCRIPT_LOAD, no cookie');

  const asScript = (): Request => new Request(src, { headers: { 'sec-fetch-dest': 'script', 'sec-fetch-mode': 'no-cors', 'sec-fetch-site': 'cross-site', referer: `${shop}/`, 'user-agent': CHROME } });
  const accepted = reply(await atBlog.handle(factsOf(asScript()), blogSessions.port(undefined)));
  check(accepted.status === 200 && accepted.reason === 'ACCEPTED' && accepted.cookies.length === 1 && accepted.cookies[0]!.startsWith('__Host-shared-session.voucher='), 'the push, loaded as a cross-site script, is accepted with a voucher');
  const replayed = reply(await atBlog.handle(factsOf(asScript()), blogSessions.port(undefined)));
  check(replayed.status === 403 && replayed.cookies.length === 0 && reasons.at(-1) === 'TOKEN_REPLAYED', 'the same push again is refused as a replay (memorySharingStore), no cookie');

  return { platform: platform.name, checks, failures };
}
