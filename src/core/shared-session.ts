import type { Context } from './context.ts';
import { PRIVATE_RESPONSE_HEADERS, type Handled, type Reply, type RequestFacts, type SessionPort } from './contract.ts';
import { VOUCHER_COOKIE, requestCookies, voucherCookie } from './cookies.ts';
import { Emitter, type Listener } from './emitter.ts';
import { isStoreFailure, storeFailure } from './errors.ts';
import type { Mechanism, SharedSessionEvents, WarningCode } from './events.ts';
import { answerQuery, finishHop, queryRefusalTarget, refusal, startHop } from './hop.ts';
import { isSteady, syncPageLoad } from './link.ts';
import { readNote, recordedAll } from './note.ts';
import { isCrossSiteScriptLoad, isTopLevelNavigation, mayBeNavigation } from './navigation.ts';
import { resolveOptions, type Config, type SharedSessionOptions } from './options.ts';
import { mintLoader, receivePush, takeVoucher } from './push.ts';
import { REJECT_STATUS, type RejectReason } from './reasons.ts';
import { scriptReply, textReply } from './reply.ts';
import { withSkipMarker } from './return-path.ts';
import { memorySharingStore, type SharingStore } from './sharing-store.ts';
import { SiteHealth } from './site-health.ts';
import type { Site } from './sites.ts';

/** Options of {@link SharedSession.loader}. */
export interface LoaderOptions {
  /** The CSP nonce of the page, copied onto every script tag. */
  readonly nonce?: string | undefined;
}

type SiteLookup = { readonly site: Site } | { readonly reason: RejectReason };

const PASS: Handled = { kind: 'pass', cookies: [] };
const HEALTHY: Reply = { status: 204, headers: { 'cache-control': 'no-store' }, cookies: [], body: '' };

// Rotation can take days; one warning a minute tells operators without flooding logs.
const OLD_KEY_WARNING_INTERVAL_MS = 60_000;

// Set by the class's static block: the one door from outside the class to a private
// method, used by warnNoSession below and by nothing an app can import.
let warnOnceOf: <Raw>(core: SharedSession<Raw>, code: WarningCode, message: string) => void;

/**
 * For adapters (re-exported by `adapter.ts`, not by the public entry): warn `NO_SESSION`,
 * once per core (one per app), when a request reaches the adapter without the framework's session;
 * `message` says what to check in that framework.
 */
export function warnNoSession<Raw>(core: SharedSession<Raw>, message: string): void {
  warnOnceOf(core, 'NO_SESSION', message);
}

/**
 * The framework-free core: validated options, the mechanisms, and the events. Adapters
 * create one per app and call {@link handle} and {@link loader} with the request facts and
 * session port of each request. The mechanisms get a narrow context, never this object.
 *
 * @example
 * ```ts
 * const core = new SharedSession({ sites: ['https://example.com', 'https://example.de'], secret });
 * core.on('rejected', (event) => logger.warn({ reason: event.reason }, 'shared-session refused a request'));
 * ```
 */
export class SharedSession<Raw = unknown> {
  static {
    warnOnceOf = (core, code, message) => core.#warnOnce(code, message);
  }

  // Private: the config holds the sealer (and its keys), and nothing that mints or opens
  // tokens may be reachable from an object apps hold (test/unit/public-graph.test.ts).
  readonly #config: Config;
  readonly #sites: readonly string[];
  readonly #context: Context<Raw>;
  // Private, so that only the core emits: an app holding this object can listen, never fake an event.
  readonly #events: Emitter<SharedSessionEvents<Raw>> = new Emitter({ target: this, onListenerError: (error, event) => this.#listenerFailed(error, event) });
  /**
   * The keys' and note ids' preparation (a promise on Web Crypto, whose hashing is
   * asynchronous), awaited by the first requests; undefined once done, and from the start on
   * node:crypto, so that the steady state never meets a promise.
   */
  #preparing: Promise<void> | undefined;
  #memoryStore: SharingStore | undefined;
  #oldKeyWarnedAt = -Infinity;
  #warnedOnce = new Set<WarningCode>();

  /** @param extraOptionKeys option names an adapter adds on top of the core's, so they are not refused as unknown. */
  constructor(options: SharedSessionOptions, extraOptionKeys?: ReadonlySet<string>) {
    const config = resolveOptions(options, extraOptionKeys);
    this.#config = config;
    const pending = [config.sealer.ready, config.sites.ready].filter((ready) => ready !== undefined);
    if (pending.length > 0) {
      this.#preparing = Promise.all(pending).then(() => {
        this.#preparing = undefined;
      });
      // Seen by the request that awaits it (a 500 from the adapter), never as an unhandled rejection.
      this.#preparing.catch(() => undefined);
    }
    this.#sites = Object.freeze(config.sites.all.map((site) => site.origin));
    const health = new SiteHealth(config, (site, result) =>
      result.up
        ? this.#warn('HUB_REACHABLE', `${site.origin} answers again; hops to it resume`)
        : this.#warn('HUB_UNREACHABLE', `${site.origin} did not answer its check (${result.why}); pages load without a hop to it until it does`, result.cause),
    );
    this.#context = {
      config,
      health,
      sharing: (session) => this.#sharing(session),
      find: async (session, id) => {
        try {
          return await session.find(id);
        } catch (error) {
          throw storeFailure(error);
        }
      },
      destroy: async (session, id) => {
        try {
          await session.destroy(id);
        } catch (error) {
          throw storeFailure(error);
        }
      },
      replaced: (event, facts) => this.#events.emit('sessionReplaced', { request: facts.raw, ...event }),
      rejected: (facts, mechanism, reason, site, status) => this.#rejected(facts, mechanism, reason, site, status),
      noteKeyIndex: (keyIndex) => this.#noteKeyIndex(keyIndex),
    };
  }

  /**
   * The origins of `sites`, in the configured order (a frozen array). The one fact about
   * the configuration the façade shows: the validated config, which holds the keys that
   * seal and open tokens, is never reachable from it.
   *
   * @example
   * ```ts
   * for (const origin of core.sites) console.log(`sharing with ${origin}`);
   * ```
   */
  get sites(): readonly string[] {
    return this.#sites;
  }

  /**
   * Call `listener` on every `event` from now on: `sessionReplaced`, `rejected`, `warning`
   * (see {@link SharedSessionEvents}). Listeners run synchronously while the request is
   * handled; one that throws is reported as a `LISTENER_FAILED` warning and the request
   * goes on.
   *
   * @example
   * ```ts
   * core.on('rejected', (event) => logger.warn({ reason: event.reason }, 'shared-session refused a request'));
   * ```
   */
  on<E extends keyof SharedSessionEvents<Raw>>(event: E, listener: Listener<SharedSessionEvents<Raw>[E]>): this {
    this.#events.on(event, listener);
    return this;
  }

  /** Call `listener` on the next `event` only. */
  once<E extends keyof SharedSessionEvents<Raw>>(event: E, listener: Listener<SharedSessionEvents<Raw>[E]>): this {
    this.#events.once(event, listener);
    return this;
  }

  /** Remove the latest registration of `listener` for `event`. */
  off<E extends keyof SharedSessionEvents<Raw>>(event: E, listener: Listener<SharedSessionEvents<Raw>[E]>): this {
    this.#events.off(event, listener);
    return this;
  }

  /** How many listeners `event` has. */
  listenerCount(event: keyof SharedSessionEvents<Raw>): number {
    return this.#events.listenerCount(event);
  }

  /**
   * Handle one request: answer the library's routes under `basePath`; on an ordinary page
   * load, keep this site's session in step with the browser's epoch, or start a hop. The
   * adapter sends a `reply` as is, or passes the request on to the app with `cookies`.
   */
  async handle(facts: RequestFacts<Raw>, session: SessionPort | undefined): Promise<Handled> {
    if (this.#preparing) await this.#preparing;
    const route = this.#route(facts.path);
    if (route === undefined) return this.#pageLoad(facts, session);
    if (route === 'health') return facts.method === 'GET' || facts.method === 'HEAD' ? { kind: 'reply', reply: HEALTHY } : PASS;
    const mechanism = route === 'push' ? 'push' : 'hop';
    const refuse = async (reason: RejectReason, site: Site | undefined): Promise<Handled> => {
      this.#rejected(facts, mechanism, reason, site);
      if (mechanism === 'push') return { kind: 'reply', reply: scriptReply({ refused: reason }) };
      // A Host that is not one of the sites gets no page that sends the visitor anywhere;
      // a refused step of a hop continues: a query back to the site that asked, a return to
      // this site's home page.
      if (!site) return { kind: 'reply', reply: textReply(reason) };
      const continueTo = route === 'hop' ? await queryRefusalTarget(this.#config, new URLSearchParams(facts.search), site) : withSkipMarker('/');
      return { kind: 'reply', reply: refusal(reason, continueTo) };
    };
    const lookup = this.#siteOf(facts);
    if ('reason' in lookup) return refuse(lookup.reason, undefined);
    const here = lookup.site;
    // Only GET runs a step: a HEAD (a link checker, a proxy) must never use up a single-use token.
    if (facts.method !== 'GET') return refuse('METHOD_NOT_ALLOWED', here);
    if (route === 'push' ? !isCrossSiteScriptLoad(facts) : !mayBeNavigation(facts)) return refuse(route === 'push' ? 'NOT_A_SCRIPT_LOAD' : 'NOT_A_NAVIGATION', here);
    if (!session) return refuse('STORE_UNAVAILABLE', here);
    const ctx = this.#context;
    try {
      if (route === 'push') return { kind: 'reply', reply: await receivePush(ctx, facts, here, session, facts.path.slice(this.#config.basePath.length + 1, -3)) };
      const cookies = requestCookies(facts);
      const search = new URLSearchParams(facts.search);
      const reply = route === 'hop' ? await answerQuery(ctx, facts, here, session, cookies, search) : await finishHop(ctx, facts, here, session, cookies, search);
      return { kind: 'reply', reply };
    } catch (error) {
      if (!isStoreFailure(error)) throw error;
      this.#warn('STORE_ERROR', `the session store failed during the ${mechanism}`, error.cause);
      return refuse('STORE_UNAVAILABLE', here);
    }
  }

  /**
   * Whether {@link handle} may do anything for this request: one of the library's routes,
   * or a top-level page load that is not in the steady state. False lets an adapter pass
   * the request on at once, without a promise: assets, API calls, form posts, and every
   * page of a browser whose session did not change since this site last agreed.
   */
  concerns(facts: RequestFacts<Raw>, session?: SessionPort): boolean {
    if (this.#route(facts.path) !== undefined) return true;
    if (!isTopLevelNavigation(facts)) return false;
    // Before the note ids are known (the first moments on Web Crypto) no page load counts as steady: handle() waits for them.
    return session === undefined || this.#preparing !== undefined || !this.#steady(facts, session);
  }

  /** A page load in the steady state (see link.ts) with no voucher cookie to delete: nothing to do. */
  #steady(facts: RequestFacts<Raw>, session: SessionPort): boolean {
    if (!this.#config.hop || this.#config.hopExcluded(facts.path)) return false;
    const lookup = this.#siteOf(facts);
    return !('reason' in lookup) && isSteady(session, lookup.site) && !(facts.header('cookie')?.includes(VOUCHER_COOKIE) ?? false);
  }

  #route(path: string): 'push' | 'hop' | 'return' | 'health' | undefined {
    const { basePath } = this.#config;
    if (path.length <= basePath.length + 1 || !path.startsWith(basePath) || path[basePath.length] !== '/') return undefined;
    const name = path.slice(basePath.length + 1);
    if (name === 'hop') return 'hop';
    if (name === 'hop/return') return 'return';
    if (name === 'health') return 'health';
    return name.endsWith('.js') ? 'push' : undefined;
  }

  /**
   * An ordinary request. On a top-level page load of a configured site that is not in the
   * steady state: take a push's voucher, then follow the browser's epoch (link.ts), which
   * may ask for a hop. A failing store never breaks the page.
   */
  async #pageLoad(facts: RequestFacts<Raw>, session: SessionPort | undefined): Promise<Handled> {
    const config = this.#config;
    if (!session || !isTopLevelNavigation(facts) || config.hopExcluded(facts.path)) return PASS;
    const lookup = this.#siteOf(facts);
    if ('reason' in lookup) return PASS;
    const here = lookup.site;
    // The steady state: a linked session this site holds. Nothing to read, nothing to send;
    // but a voucher that arrived meanwhile is moot, and a bearer cookie is not left to linger.
    if (config.hop && isSteady(session, here)) return facts.header('cookie')?.includes(VOUCHER_COOKIE) ? passWith([voucherCookie(here, '', 0)]) : PASS;
    const ctx = this.#context;
    const cookies = requestCookies(facts);
    const sent: string[] = [];
    try {
      const voucher = await takeVoucher(ctx, facts, here, session, cookies);
      sent.push(...voucher.cookies);
      if (voucher.settled || !config.hop) return passWith(sent);
      const sync = await syncPageLoad(ctx, facts, here, session, cookies);
      sent.push(...sync.cookies);
      if (sync.hop) {
        const reply = await startHop(ctx, facts, here, cookies, sync.hop.why, sync.hop.target);
        if (reply) return { kind: 'reply', reply: { ...reply, cookies: [...sent, ...reply.cookies] } };
      }
      return passWith(sent);
    } catch (error) {
      if (!isStoreFailure(error)) throw error;
      this.#warn('STORE_ERROR', 'the session store failed while following the browser’s session; the page loads without it', error.cause);
      return passWith(sent);
    }
  }

  /**
   * The HTML of the script-tag push for this page: one `<script async>` per other site
   * that does not hold the session yet, each with a fresh single-use token. Empty when the
   * session is empty, the Host is not a configured site, or the browser blocks third-party
   * cookies. A brand-new session is saved first so the other sites can find it. A failing
   * store yields an empty loader and a `warning` event, never a broken page.
   */
  async loader(facts: RequestFacts<Raw>, session: SessionPort | undefined, options: LoaderOptions = {}): Promise<string> {
    if (!this.#config.push || !session || session.isEmpty()) return '';
    if (this.#preparing) await this.#preparing;
    // The steady state, first: every site holds the session or was sent it; nothing to mint, nothing to ask.
    const note = readNote(session.readNote());
    if (recordedAll(note, this.#config.sites.noteIds)) return '';
    const lookup = this.#siteOf(facts);
    if ('reason' in lookup) {
      this.#rejected(facts, 'loader', lookup.reason, undefined);
      return '';
    }
    try {
      return await mintLoader(this.#context, facts, lookup.site, session, note, options.nonce);
    } catch (error) {
      this.#warn('STORE_ERROR', 'the session store failed while saving a new session for the loader', error);
      return '';
    }
  }

  /** The configured site a request is addressed to, or why there is none. */
  #siteOf(facts: RequestFacts<Raw>): SiteLookup {
    if (facts.host === undefined || facts.host === '') return { reason: 'NO_HOST' };
    const site = this.#config.sites.forHost(facts.host, facts.https);
    return site ? { site } : { reason: 'UNKNOWN_HOST' };
  }

  /** Emit `rejected` for a refusal. */
  #rejected(facts: RequestFacts<Raw>, mechanism: Mechanism, reason: RejectReason, site: Site | undefined, status = REJECT_STATUS[reason]): void {
    this.#events.emit('rejected', { request: facts.raw, mechanism, reason, status, site: site?.origin });
  }

  /** Emit `warning`. */
  #warn(code: WarningCode, message: string, cause?: unknown): void {
    this.#events.emit('warning', cause === undefined ? { code, message } : { code, message, cause });
  }

  /** Emit a warning only the first time `code` happens in this process. */
  #warnOnce(code: WarningCode, message: string): void {
    if (this.#warnedOnce.has(code)) return;
    this.#warnedOnce.add(code);
    this.#warn(code, message);
  }

  /** The sharing store for this request (see the `sharingStore` option); its failures become STORE_UNAVAILABLE. */
  #sharing(session: SessionPort): SharingStore {
    const store = this.#config.sharingStore ?? session.sharingStore ?? this.#memory();
    const guard = async <T>(work: () => Promise<T>): Promise<T> => {
      try {
        return await work();
      } catch (error) {
        throw storeFailure(error);
      }
    };
    return {
      claimOnce: (key, ttlMs) => guard(() => store.claimOnce(key, ttlMs)),
      readLink: (key) => guard(() => store.readLink(key)),
      writeLink: (key, value, ttlMs) => guard(() => store.writeLink(key, value, ttlMs)),
    };
  }

  /**
   * A listener threw. The request it interrupted goes on (the emitter caught the error);
   * operators learn of it through `warning`, or, when a `warning` listener itself threw,
   * on the console: reporting it through the channel that failed could loop.
   */
  #listenerFailed(error: unknown, event: keyof SharedSessionEvents<Raw>): void {
    if (event === 'warning') console.error(`shared-session: a 'warning' listener threw`, error);
    else this.#warn('LISTENER_FAILED', `a '${event}' listener threw; the request went on without it`, error);
  }

  /** Tell operators, at most once a minute, that tokens sealed under an older secret still arrive. */
  #noteKeyIndex(keyIndex: number): void {
    if (keyIndex === 0) return;
    const now = Date.now();
    if (now - this.#oldKeyWarnedAt < OLD_KEY_WARNING_INTERVAL_MS) return;
    this.#oldKeyWarnedAt = now;
    this.#warn('OLD_KEY_USED', `a token sealed with secret[${keyIndex}] was accepted; finish the rotation on every site, then drop that secret`);
  }

  #memory(): SharingStore {
    if (!this.#memoryStore) {
      this.#memoryStore = memorySharingStore();
      this.#warnOnce(
        'MEMORY_SHARING_STORE',
        'the session store does not implement claimOnce(); single-use token ids and link records are kept in this process only. ' +
          'Use a store of shared-session or pass `sharingStore` when a site runs several processes.',
      );
    }
    return this.#memoryStore;
  }
}

/** Pass the request on with the core's cookies; a response that sets them must never be cached for another visitor. */
function passWith(cookies: readonly string[]): Handled {
  return cookies.length === 0 ? PASS : { kind: 'pass', cookies, headers: PRIVATE_RESPONSE_HEADERS };
}
