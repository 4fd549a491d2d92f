import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { exposeCore, optionError, warnNoSession as warnNoSessionOnce } from '../core/adapter.ts';
import {
  PRIVATE_RESPONSE_HEADERS,
  SharedSession,
  type LoaderOptions,
  type RequestFacts,
  type SharedSessionEvents,
  type SharedSessionOptions,
} from '../index.ts';
import { FastifySessionPort } from './session-port.ts';

declare module 'fastify' {
  interface FastifyReply {
    /**
     * The loader HTML for this page (the script-tag push): one `<script async>` per other
     * site, '' when there is nothing to push. Put it into the page unescaped.
     */
    sharedSessionLoader(options?: LoaderOptions): Promise<string>;
  }
}

/** Options of the Fastify adapter: the core's, plus how to find the page's CSP nonce. */
export interface FastifySharedSessionOptions extends SharedSessionOptions {
  /** The page's CSP nonce, copied onto the loader's script tags. Default: `reply.cspNonce.script` (@fastify/helmet) when it is a string. */
  nonce?: (request: FastifyRequest, reply: FastifyReply) => string | undefined;
}

/** The plugin, with the core's events attached. Register it after @fastify/cookie and @fastify/session. */
export interface SharedSessionPlugin {
  (fastify: FastifyInstance, options: unknown, done: (error?: Error) => void): void;
  /** The framework-free core: its events and `sites`; nothing of it seals or opens tokens. */
  readonly core: SharedSession<FastifyRequest>;
  on<E extends keyof SharedSessionEvents<FastifyRequest>>(event: E, listener: (...args: SharedSessionEvents<FastifyRequest>[E]) => void): this;
  once<E extends keyof SharedSessionEvents<FastifyRequest>>(event: E, listener: (...args: SharedSessionEvents<FastifyRequest>[E]) => void): this;
  off<E extends keyof SharedSessionEvents<FastifyRequest>>(event: E, listener: (...args: SharedSessionEvents<FastifyRequest>[E]) => void): this;
}

/** Options the Fastify adapter adds to the core's. */
export const FASTIFY_OPTION_NAMES: ReadonlySet<string> = new Set(['nonce']);

// Per-request state on the request under symbols (see the Express adapter's FACTS).
const FACTS = Symbol('shared-session facts');
const KEPT = Symbol('shared-session kept headers');

interface Holder {
  [FACTS]?: RequestFacts<FastifyRequest>;
  [KEPT]?: Record<string, string>;
}

/** Host and scheme from Fastify (`request.host`, `request.protocol`), so its `trustProxy` is honoured. */
class FastifyFacts implements RequestFacts<FastifyRequest> {
  readonly raw: FastifyRequest;
  readonly method: string;
  readonly path: string;
  readonly search: string;

  constructor(request: FastifyRequest) {
    this.raw = request;
    this.method = request.method;
    const url = request.raw.url ?? request.url;
    const query = url.indexOf('?');
    this.path = query === -1 ? url : url.slice(0, query);
    this.search = query === -1 ? '' : url.slice(query);
  }

  get host(): string | undefined {
    return this.raw.host || undefined;
  }

  get https(): boolean {
    return this.raw.protocol === 'https';
  }

  header(name: string): string | undefined {
    const value = this.raw.headers[name];
    return Array.isArray(value) ? value[0] : value;
  }
}

function factsOf(request: FastifyRequest): RequestFacts<FastifyRequest> {
  const holder = request as FastifyRequest & Holder;
  return (holder[FACTS] ??= new FastifyFacts(request));
}

/** Headers set on the response again at onSend, over whatever the route set (`Vary` is added to). */
function keepHeaders(request: FastifyRequest, headers: Readonly<Record<string, string>>): void {
  const holder = request as FastifyRequest & Holder;
  holder[KEPT] = { ...holder[KEPT], ...headers };
}

function applyKept(request: FastifyRequest, reply: FastifyReply): void {
  const kept = (request as FastifyRequest & Holder)[KEPT];
  if (!kept) return;
  for (const [name, value] of Object.entries(kept)) {
    if (name === 'vary') {
      const current = reply.getHeader('vary');
      const list = (Array.isArray(current) ? current.join(',') : String(current ?? '')).split(',').map((item) => item.trim()).filter(Boolean);
      if (!list.some((item) => item.toLowerCase() === value.toLowerCase() || item === '*')) reply.header('vary', [...list, value].join(', '));
    } else {
      reply.header(name, value);
    }
  }
}

function defaultNonce(_request: FastifyRequest, reply: FastifyReply): string | undefined {
  const nonce = (reply as FastifyReply & { cspNonce?: { script?: unknown } }).cspNonce?.script;
  return typeof nonce === 'string' ? nonce : undefined;
}

/**
 * Share @fastify/session's session across unrelated domains. Register it after
 * @fastify/cookie and @fastify/session: it answers the library's routes under `basePath`
 * before any route of the app, gives every loaded session this site's own cookie
 * settings, and adds `reply.sharedSessionLoader()` for pages.
 *
 * @example
 * ```ts
 * import fastifyCookie from '@fastify/cookie';
 * import fastifySession from '@fastify/session';
 * import { sharedSession } from 'shared-session/fastify';
 *
 * await app.register(fastifyCookie);
 * await app.register(fastifySession, { secret, store, saveUninitialized: false, cookie: { secure: 'auto', sameSite: 'lax' } });
 * await app.register(sharedSession({ sites: ['https://example.com', 'https://example.de'], secret: sharedSecret }));
 * app.get('/', async (request, reply) => reply.type('text/html').send(`<p>hi</p>${await reply.sharedSessionLoader()}`));
 * ```
 */
export function sharedSession(options: FastifySharedSessionOptions): SharedSessionPlugin {
  const core = new SharedSession<FastifyRequest>(options, FASTIFY_OPTION_NAMES);
  if (options.nonce !== undefined && typeof options.nonce !== 'function') {
    throw optionError('nonce', 'must be a function (request, reply) => string | undefined', 'Pass e.g. `(request, reply) => reply.cspNonce.script`.');
  }
  const nonceOf = options.nonce ?? defaultNonce;

  function portOf(request: FastifyRequest): FastifySessionPort | undefined {
    const port = FastifySessionPort.of(request);
    // null: @fastify/session is registered but ran after us; undefined: not registered.
    // ({} is its answer outside the cookie's path: no session there, by configuration.)
    const session = (request as { session?: unknown }).session;
    if (!port && (session === null || session === undefined)) {
      warnNoSessionOnce(core, 'a request reached shared-session without request.session: register @fastify/cookie and @fastify/session before it');
    }
    return port;
  }

  async function onRequest(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const facts = factsOf(request);
    const port = portOf(request);
    // Most requests concern neither the library's routes nor a page load that needs anything.
    if (!core.concerns(facts, port)) return undefined;
    const handled = await core.handle(facts, port);
    if (handled.kind === 'reply') {
      // The library's own routes change the session only by adopting one (or noting who
      // holds it); anything else leaves no trace: no store write, no cookie, whatever
      // saveUninitialized or rolling say.
      if (port?.changed) await port.flush();
      else port?.detach();
      const { reply: answer } = handled;
      reply.code(answer.status).headers(answer.headers);
      if (answer.cookies.length > 0) reply.header('set-cookie', [...answer.cookies]);
      // Fastify's way to answer from an async hook: send, then return the reply.
      return reply.send(answer.body);
    }
    await port?.flush();
    // Raw Set-Cookie headers, not reply.setCookie: @fastify/cookie keeps one pending cookie
    // per name;domain;path, so a plugin's own setCookie could replace one of ours.
    if (handled.cookies.length > 0) reply.header('set-cookie', [...handled.cookies]);
    if (handled.headers) keepHeaders(request, handled.headers);
    return undefined;
  }

  const plugin = function sharedSessionPlugin(fastify: FastifyInstance, _options: unknown, done: (error?: Error) => void): void {
    fastify.decorateReply('sharedSessionLoader', async function sharedSessionLoader(this: FastifyReply, loaderOptions?: LoaderOptions): Promise<string> {
      const request = this.request;
      const html = await core.loader(factsOf(request), FastifySessionPort.of(request), { nonce: nonceOf(request, this), ...loaderOptions });
      if (html !== '') keepHeaders(request, PRIVATE_RESPONSE_HEADERS);
      return html;
    });
    fastify.addHook('onRequest', onRequest);
    fastify.addHook('onSend', (request, reply, payload, next) => {
      applyKept(request, reply);
      next(null, payload);
    });
    done();
  } as SharedSessionPlugin;
  // fastify-plugin's marks, without its package: the hooks apply to the whole app, not a child context.
  const marked = plugin as unknown as Record<symbol, unknown>;
  marked[Symbol.for('skip-override')] = true;
  marked[Symbol.for('fastify.display-name')] = 'shared-session';
  marked[Symbol.for('plugin-meta')] = { name: 'shared-session', fastify: '5.x' };
  exposeCore(plugin, core);
  return plugin;
}

export type { LoaderOptions };
