import { EventEmitter } from 'node:events';
import type { Handled, Reply, RequestFacts, SessionPort } from './contract.ts';
import { cookieNames, requestCookies } from './cookies.ts';
import { SharedSessionError } from './errors.ts';
import type { Mechanism, SharedSessionEvents, WarningCode } from './events.ts';
import { answerHop, finishHop, refusal, startHop } from './hop.ts';
import { HubHealth } from './hub-health.ts';
import { linkChanged, linkCookie, newLink, openLinkCookie, syncLink } from './link.ts';
import { scriptTag } from './loader.ts';
import { isTopLevelNavigation } from './navigation.ts';
import { heldByAll, holder, withHolder } from './note.ts';
import { resolveOptions, type Config, type SharedSessionOptions } from './options.ts';
import { receivePush, type PushPayload } from './push.ts';
import { withSkipMarker } from './return-path.ts';
import { REJECT_STATUS, type RejectReason } from './reasons.ts';
import { randomId } from './random.ts';
import { scriptReply, textReply } from './reply.ts';
import { memorySharingStore, type SharingStore } from './sharing-store.ts';
import type { Site } from './sites.ts';
import { Purpose } from './token.ts';

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

/**
 * The framework-free core: validated options, the token sealer, the mechanisms, and the
 * events. Adapters create one per app and call {@link handle} and {@link loader} with the
 * request facts and session port of each request.
 *
 * @example
 * ```ts
 * const core = new SharedSession({ sites: ['https://example.com', 'https://example.de'], secret });
 * core.on('rejected', (event) => logger.warn({ reason: event.reason }, 'shared-session refused a request'));
 * ```
 */
export class SharedSession<Raw = unknown> extends EventEmitter<SharedSessionEvents<Raw>> {
  readonly config: Config;
  #memoryStore: SharingStore | undefined;
  #oldKeyWarnedAt = -Infinity;
  #warnedOnce = new Set<WarningCode>();
  readonly #hubHealth: HubHealth;

  /** @param extraOptionKeys option names an adapter adds on top of the core's, so they are not refused as unknown. */
  constructor(options: SharedSessionOptions, extraOptionKeys?: ReadonlySet<string>) {
    super();
    this.config = resolveOptions(options, extraOptionKeys);
    this.#hubHealth = new HubHealth(this.config.hubProbe, this.config.hubTimeoutMs, (up) =>
      up
        ? this.warn('HUB_REACHABLE', `the hub ${this.config.hub.origin} answers again; hops resume`)
        : this.warn('HUB_UNREACHABLE', `the hub ${this.config.hub.origin} did not answer its check; pages load without a hop until it does`),
    );
  }

  /**
   * Handle one request: answer the library's routes under `basePath`; on an ordinary page
   * load, keep this site's session in step with the browser's link, or start a hop. The
   * adapter sends a `reply` as is, or passes the request on to the app with `cookies`.
   */
  async handle(facts: RequestFacts<Raw>, session: SessionPort | undefined): Promise<Handled> {
    const route = this.#route(facts.path);
    if (route === undefined) return this.#pageLoad(facts, session);
    if (facts.method !== 'GET' && facts.method !== 'HEAD') return PASS;
    if (route === 'health') return { kind: 'reply', reply: HEALTHY };
    const mechanism = route === 'push' ? 'push' : 'hop';
    const refuse = (reason: RejectReason, site: Site | undefined): Handled => {
      this.rejected(facts, mechanism, reason, site);
      if (mechanism === 'push') return { kind: 'reply', reply: scriptReply(REJECT_STATUS[reason], reason) };
      // A hop step on a configured site continues to its home page; a Host that is not one
      // of the sites gets no page that sends the visitor anywhere.
      return { kind: 'reply', reply: site ? refusal(reason, withSkipMarker('/')) : textReply(reason) };
    };
    const lookup = this.siteOf(facts);
    if ('reason' in lookup) return refuse(lookup.reason, undefined);
    const here = lookup.site;
    if (!session) return refuse('STORE_UNAVAILABLE', here);
    try {
      if (route === 'push') return { kind: 'reply', reply: await receivePush(this, facts, here, session, facts.path.slice(this.config.basePath.length + 1, -3)) };
      const cookies = requestCookies(facts);
      const search = new URLSearchParams(facts.search);
      const reply = route === 'hop' ? await answerHop(this, facts, here, session, cookies, search) : await finishHop(this, facts, here, session, cookies, search);
      return { kind: 'reply', reply };
    } catch (error) {
      if (!isStoreFailure(error)) throw error;
      this.warn('STORE_ERROR', `the session store failed during the ${mechanism}`, error.cause);
      return refuse('STORE_UNAVAILABLE', here);
    }
  }

  /**
   * Whether {@link handle} may do anything for this request: one of the library's routes,
   * or a top-level page load. False lets an adapter pass the request on without awaiting.
   */
  concerns(facts: RequestFacts<Raw>): boolean {
    return this.#route(facts.path) !== undefined || isTopLevelNavigation(facts);
  }

  #route(path: string): 'push' | 'hop' | 'return' | 'health' | undefined {
    const { basePath } = this.config;
    if (path.length <= basePath.length + 1 || !path.startsWith(basePath) || path[basePath.length] !== '/') return undefined;
    const name = path.slice(basePath.length + 1);
    if (name === 'hop') return 'hop';
    if (name === 'hop/return') return 'return';
    if (name === 'health') return 'health';
    return name.endsWith('.js') ? 'push' : undefined;
  }

  /**
   * An ordinary request. On a top-level page load of a configured site: repair a cookie
   * the push set cross-site; with the hop on, start a hop for a browser this site does not
   * know yet, or follow the browser's link. A failing store never breaks the page.
   */
  async #pageLoad(facts: RequestFacts<Raw>, session: SessionPort | undefined): Promise<Handled> {
    const { config } = this;
    if (!session || !isTopLevelNavigation(facts) || config.hopExcluded(facts.path)) return PASS;
    const lookup = this.siteOf(facts);
    if ('reason' in lookup) return PASS;
    const here = lookup.site;
    this.#repairCrossSiteCookie(here, session);
    if (!config.hop) return PASS;
    const cookies = requestCookies(facts);
    const known = openLinkCookie(config, cookies[cookieNames(here).link]);
    try {
      if (!known && here !== config.hub) {
        const reply = await startHop(this, facts, here, session, cookies, new URLSearchParams(facts.search));
        return reply ? { kind: 'reply', reply } : PASS;
      }
      // The hub knows every browser it has seen; a new one gets its id once it has a session to link.
      if (!known && session.isEmpty()) return PASS;
      const link = known ?? newLink();
      const synced = await syncLink(this, facts, here, session, link, known === undefined, 'link');
      return linkChanged(config, known, synced) ? { kind: 'pass', cookies: [linkCookie(config, here, synced)] } : PASS;
    } catch (error) {
      if (!isStoreFailure(error)) throw error;
      this.warn('STORE_ERROR', 'the session store failed while following the link; the page loads without it', error.cause);
      return PASS;
    }
  }

  /**
   * The HTML of the script-tag push for this page: one `<script async>` per other site,
   * each with a fresh single-use token. Empty when the session is empty or the Host is not
   * a configured site. A brand-new session is saved first so the other sites can find it.
   * A failing store yields an empty loader and a `warning` event, never a broken page.
   */
  async loader(facts: RequestFacts<Raw>, session: SessionPort | undefined, options: LoaderOptions = {}): Promise<string> {
    if (!this.config.push || !session || session.isEmpty()) return '';
    // The steady state, first: every site holds the session, nothing to mint, nothing to ask.
    if (heldByAll(session.readNote(), this.config.sites.all)) return '';
    const lookup = this.siteOf(facts);
    if ('reason' in lookup) {
      this.rejected(facts, 'loader', lookup.reason, undefined);
      return '';
    }
    const here = lookup.site;
    // Sites that already hold the session need no token: in the steady state a page mints nothing.
    const note = session.readNote();
    if (holder(note, here) === undefined) session.writeNote(withHolder(note, here, 'first-party'));
    const targets = this.config.sites.all.filter((site) => site !== here && holder(note, site) === undefined);
    if (targets.length === 0) return '';
    let sid: string;
    try {
      sid = await session.persist();
    } catch (error) {
      this.warn('STORE_ERROR', 'the session store failed while saving a new session for the loader', error);
      return '';
    }
    const iat = Date.now();
    let html = '';
    for (const site of targets) {
      const payload: PushPayload = { sid, src: here.origin, dst: site.origin, iat, jti: randomId() };
      html += scriptTag(site, this.config.basePath, this.config.sealer.seal(Purpose.push, payload), options.nonce);
    }
    return html;
  }

  /**
   * A site that received the session through the script push holds it in a
   * `SameSite=None` cookie, which cross-site requests carry. On the first top-level visit
   * the note changes, so the session middleware re-sends the cookie with this site's own
   * settings (for cookies with a lifetime; see the README).
   */
  #repairCrossSiteCookie(here: Site, session: SessionPort): void {
    const note = session.readNote();
    if (note !== undefined && holder(note, here) === 'cross-site') session.writeNote(withHolder(note, here, 'pushed'));
  }

  /** The configured site a request is addressed to, or why there is none. */
  siteOf(facts: RequestFacts<Raw>): SiteLookup {
    if (facts.host === undefined || facts.host === '') return { reason: 'NO_HOST' };
    const site = this.config.sites.forHost(facts.host, facts.https);
    return site ? { site } : { reason: 'UNKNOWN_HOST' };
  }

  /** The sharing store for this request (see the `sharingStore` option); its failures become STORE_UNAVAILABLE. */
  sharing(session: SessionPort): SharingStore {
    const store = this.config.sharingStore ?? session.sharingStore ?? this.#memory();
    const guard = async <T>(work: () => Promise<T>): Promise<T> => {
      try {
        return await work();
      } catch (error) {
        throw storeFailure(error);
      }
    };
    return {
      claimOnce: (key, ttlMs) => guard(() => store.claimOnce(key, ttlMs)),
      readLink: (browserId) => guard(() => store.readLink(browserId)),
      writeLink: (browserId, value, ttlMs) => guard(() => store.writeLink(browserId, value, ttlMs)),
    };
  }

  /** Record a token id as used; false when it was used before. Store failures become STORE_UNAVAILABLE. */
  claimOnce(session: SessionPort, key: string, ttlMs: number): Promise<boolean> {
    return this.sharing(session).claimOnce(key, ttlMs);
  }

  /** Whether the hub answers (checked at most every few seconds, waiting at most `hubTimeoutMs`). */
  hubIsUp(): Promise<boolean> {
    return this.#hubHealth.isUp();
  }

  /** A visitor's hop did not come back: check the hub again before the next one. */
  doubtHub(): void {
    this.#hubHealth.doubt();
  }

  /** Look a session up through the port; store failures become STORE_UNAVAILABLE. */
  async find(session: SessionPort, id: string): ReturnType<SessionPort['find']> {
    try {
      return await session.find(id);
    } catch (error) {
      throw storeFailure(error);
    }
  }

  /** Emit `rejected` for a refusal. */
  rejected(facts: RequestFacts<Raw>, mechanism: Mechanism, reason: RejectReason, site: Site | undefined): void {
    this.emit('rejected', { request: facts.raw, mechanism, reason, status: REJECT_STATUS[reason], site: site?.origin });
  }

  /** Emit `warning`. */
  warn(code: WarningCode, message: string, cause?: unknown): void {
    this.emit('warning', cause === undefined ? { code, message } : { code, message, cause });
  }

  /** Emit a warning only the first time `code` happens in this process. */
  warnOnce(code: WarningCode, message: string): void {
    if (this.#warnedOnce.has(code)) return;
    this.#warnedOnce.add(code);
    this.warn(code, message);
  }

  /** Tell operators, at most once a minute, that tokens sealed under an older secret still arrive. */
  noteKeyIndex(keyIndex: number): void {
    if (keyIndex === 0) return;
    const now = Date.now();
    if (now - this.#oldKeyWarnedAt < OLD_KEY_WARNING_INTERVAL_MS) return;
    this.#oldKeyWarnedAt = now;
    this.warn('OLD_KEY_USED', `a token sealed with secret[${keyIndex}] was accepted; finish the rotation on every site, then drop that secret`);
  }

  #memory(): SharingStore {
    if (!this.#memoryStore) {
      this.#memoryStore = memorySharingStore();
      this.warnOnce(
        'MEMORY_SHARING_STORE',
        'the session store does not implement claimOnce(); single-use token ids are kept in this process only. ' +
          'Use a store of shared-session or pass `sharingStore` when a site runs several processes.',
      );
    }
    return this.#memoryStore;
  }

}

function storeFailure(cause: unknown): SharedSessionError {
  return new SharedSessionError('ERR_SHARED_SESSION_STORE_UNAVAILABLE', 'shared-session: the session store failed', { cause });
}

function isStoreFailure(error: unknown): error is SharedSessionError {
  return error instanceof SharedSessionError && error.code === 'ERR_SHARED_SESSION_STORE_UNAVAILABLE';
}

