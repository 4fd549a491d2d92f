import { platform } from '#platform';
import type { Context } from './context.ts';
import type { Reply, RequestFacts, SessionPort } from './contract.ts';
import { coreCookie, cookieNames } from './cookies.ts';
import { applyConfirmation, changeHere, isSteady, settleKeys, type HopReason } from './link.ts';
import { linkCookie, linkState, newLinkKey, requestLinkCookie } from './link-cookie.ts';
import { parseRecord } from './link-record.ts';
import { escapeAttribute } from './loader.ts';
import { MAX_RETURN_PATH, claimTtl, openAnswer, openQuery, sealAnswer, sealQuery, type QueryMessage } from './messages.ts';
import { looksLikeBrowser } from './navigation.ts';
import { readNote } from './note.ts';
import type { Config } from './options.ts';
import { randomId } from './random.ts';
import { REASON_HEADER, REJECT_STATUS, publicReason, type RejectReason } from './reasons.ts';
import { SKIP_PARAMETER, safeReturnPath, withSkipMarker } from './return-path.ts';
import type { Site } from './sites.ts';
import { Purpose } from './token.ts';

/**
 * The top-level redirect hop: how a site asks another "who is this browser at your
 * site?" with first-party cookies only, so it works where third-party cookies are
 * blocked. Modelled on OAuth 2.0's authorization-code flow (RFC 6749 §4.1) and its
 * security BCP (RFC 9700); docs/PROTOCOL.md maps each measure to the attack it answers.
 *
 *   1. X /page            → 303 W/{base}/hop?q=QUERY          + X's state cookie
 *   2. W/{base}/hop       → 303 X/{base}/hop/return?a=ANSWER   (or on to the next site of the chain)
 *   3. X/{base}/hop/return → 303 X /page                        + X's link cookie (+ session cookie)
 *
 * The ANSWER carries W's epoch key and W's session in this browser, read from W's own
 * cookies: what a copy of X's cookies asks for gets the copy's state at W, never the
 * browser's. It is sealed, addressed to X, lives seconds, is used up by its first
 * presentation whatever the outcome, and is bound to a state only the asking browser's
 * state cookie holds (login CSRF). A site that does not know the browser passes the query
 * on along the chain (the hub first, then the sites in order); the last one mints a key.
 */


const HOP_HEADERS = {
  'cache-control': 'no-store',
  // Neither the site asked nor the page after the hop learns the URLs of the hop (they carry tokens).
  'referrer-policy': 'no-referrer',
} as const;

function redirect(location: string, cookies: readonly string[]): Reply {
  return { status: 303, headers: { ...HOP_HEADERS, location }, cookies, body: '' };
}

/**
 * A refusal the visitor's browser can continue from: the status and reason are plain, and
 * a meta refresh takes the visitor on to `continueTo` (with the marker that stops another
 * hop), so a failed hop never strands anyone on an error page or loops.
 */
export function refusal(reason: RejectReason, continueTo: string | undefined): Reply {
  const target = continueTo === undefined ? undefined : escapeAttribute(continueTo);
  const shown = publicReason(reason);
  const body = target
    ? `<!doctype html><meta http-equiv="refresh" content="0;url=${target}"><title>Continue</title><p><a href="${target}">Continue</a></p>\n`
    : `shared-session refused this request: ${shown}\n`;
  return {
    status: REJECT_STATUS[reason],
    headers: { ...HOP_HEADERS, 'content-type': target ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', [REASON_HEADER]: shown },
    cookies: [],
    body,
  };
}

function sameText(a: string, b: string): boolean {
  return platform.equal(platform.utf8(a), platform.utf8(b));
}

/** The order in which sites are asked about a browser: the hub first, then the others as configured. */
function chainOrder(config: Config): readonly Site[] {
  return [config.hub, ...config.sites.all.filter((site) => site !== config.hub)];
}

/** The first site of the chain not asked yet (by note id) that answers its health check. */
async function nextInChain<Raw>(ctx: Context<Raw>, via: readonly string[]): Promise<Site | undefined> {
  for (const site of chainOrder(ctx.config)) {
    if (via.includes(site.noteId)) continue;
    if (await ctx.health.isUp(site)) return site;
  }
  return undefined;
}

function hopUrl(config: Config, site: Site, query: string): string {
  return `${site.origin}${config.basePath}/hop?q=${query}`;
}

/** The state cookie of a hop in flight: sealed, on the asking site. */
interface HopState {
  readonly st: string;
  readonly ret: string;
  readonly iat: number;
  readonly why: HopReason;
  /** The site asked first (to doubt its health when the visitor comes back mid-hop). */
  readonly to: string;
}

async function openState(config: Config, value: string | undefined, now = Date.now()): Promise<HopState | undefined> {
  if (value === undefined) return undefined;
  const opened = await config.sealer.open(Purpose.state, value);
  if (!opened.ok) return undefined;
  const { st, ret, iat, why, to } = opened.payload;
  if (typeof st !== 'string' || typeof ret !== 'string' || typeof iat !== 'number' || typeof to !== 'string') return undefined;
  if (why !== 'discover' && why !== 'confirm' && why !== 'change') return undefined;
  if (now - iat > config.timeoutMs || iat - now > config.skewMs) return undefined;
  return { st, ret, iat, why, to };
}

/**
 * Step 1, on the asking site X: send the visitor to `target` (or, for `discover`, the first
 * site of the chain that answers), or resolve undefined to serve the page as it is. No hop
 * for non-browsers, after a refused hop (the skip marker), while one is in flight (a state
 * cookie of this site opens), for a page URL too long to carry, or while the site to ask
 * does not answer its health check.
 */
export async function startHop<Raw>(
  ctx: Context<Raw>,
  facts: RequestFacts<Raw>,
  here: Site,
  cookies: Readonly<Record<string, string | undefined>>,
  why: HopReason,
  target: Site | undefined,
): Promise<Reply | undefined> {
  const { config } = ctx;
  const names = cookieNames(here);
  if (!looksLikeBrowser(facts) || new URLSearchParams(facts.search).has(SKIP_PARAMETER)) return undefined;
  for (const [name, value] of Object.entries(cookies)) {
    if (!name.startsWith(names.hopPrefix)) continue;
    const inFlight = await openState(config, value);
    if (!inFlight) continue;
    // The visitor is back before the hop came home: the site asked may not have answered.
    const asked = config.sites.forOrigin(inFlight.to);
    if (asked) ctx.health.doubt(asked);
    return undefined;
  }
  const returnTo = safeReturnPath(`${facts.path}${facts.search}`, here.origin);
  // The path travels sealed in the state cookie, whose token must stay within the token
  // size limit: a longer URL is served without a hop (the next shorter one hops).
  if (returnTo === undefined || returnTo.length > MAX_RETURN_PATH) return undefined;
  const asked = target ? ((await ctx.health.isUp(target)) ? target : undefined) : await nextInChain(ctx, [here.noteId]);
  if (!asked) return undefined;

  const hid = randomId(6);
  const st = randomId(16);
  const iat = Date.now();
  const [state, query] = await Promise.all([
    config.sealer.seal(Purpose.state, { st, ret: returnTo, iat, why, to: asked.origin }),
    sealQuery(config, here, asked, { iat, hid, st, ret: returnTo, via: [here.noteId, asked.noteId] }),
  ]);
  return redirect(hopUrl(config, asked, query), [coreCookie(here, `${names.hopPrefix}${hid}`, state, config.timeoutMs / 1000)]);
}

/** What this site can say about the browser, from its own cookies. */
type Knowledge =
  | { readonly kind: 'answer'; readonly key: string; readonly sid: string; readonly cookies: readonly string[] }
  /** It knows the browser's key but not its session: another site may (`site` first, then the chain); else the key alone. */
  | { readonly kind: 'behind'; readonly key: string; readonly site: Site | undefined }
  | { readonly kind: 'unknown' };

async function whatWeKnow<Raw>(ctx: Context<Raw>, here: Site, session: SessionPort, cookies: Readonly<Record<string, string | undefined>>): Promise<Knowledge> {
  const { config } = ctx;
  const note = readNote(session.readNote());
  const id = session.isEmpty() ? '' : (session.id ?? '');
  // A session in an epoch, not superseded: that is the browser here.
  if (id !== '' && note.key !== undefined && !note.moved) return { kind: 'answer', key: note.key, sid: id, cookies: [] };
  const known = await requestLinkCookie(config, here, cookies);
  if (!known) return { kind: 'unknown' };
  const record = parseRecord(await ctx.sharing(session).readLink(known.key));
  if (record?.kind === 'moved') {
    const next = config.sites.forOrigin(record.site);
    if (next && next !== here) return { kind: 'behind', key: known.key, site: next };
    // Ended here, but not in this browser: a copy of these cookies made that change (see link.ts).
    return ownState(ctx, here, session, undefined);
  }
  // A session of this site's own that the link has not seen yet is a change here (as on a page load).
  if (id !== '' && note.key === undefined && !(known.apart && known.sid === id)) {
    return ownState(ctx, here, session, { key: known.key, sid: record?.kind === 'current' ? record.sid : '' });
  }
  // The epoch has a session this site does not hold in this browser (its cookie expired, or
  // it never adopted it): another site may, the one that started the epoch first.
  if (record?.kind === 'current' && record.sid !== id) {
    const starter = config.sites.forOrigin(record.site);
    return { kind: 'behind', key: known.key, site: starter && starter !== here ? starter : undefined };
  }
  // No session of this epoch here to give: the key alone; the asking site learns the
  // epoch's session from whoever holds it when it moves.
  return { kind: 'answer', key: known.key, sid: '', cookies: [] };
}

/**
 * A new epoch of this site's own, for a browser this site is the first to know (the last
 * of a chain), or forked from a copy's change: the current session, if there is one, is
 * its session, and this site keeps the key. When another site ended `previous` first, the
 * answer is that key alone: the asking site follows its move on its next page.
 */
async function ownState<Raw>(ctx: Context<Raw>, here: Site, session: SessionPort, previous: { readonly key: string; readonly sid: string } | undefined): Promise<Extract<Knowledge, { kind: 'answer' }>> {
  const id = session.isEmpty() ? '' : (session.id ?? '');
  const key = id === '' ? newLinkKey() : await changeHere(ctx, here, session, previous);
  if (key === undefined) return { kind: 'answer', key: previous?.key ?? newLinkKey(), sid: '', cookies: [] };
  return { kind: 'answer', key, sid: id, cookies: [await linkCookie(ctx.config, here, linkState(key, id))] };
}

/**
 * Step 2, on the site asked (W): answer with what this browser holds here, or pass the
 * query on to the site that knows more (the one an ended epoch names, or the next site of
 * the chain). The last site of a chain that nobody knew mints the browser's first key.
 */
export async function answerQuery<Raw>(
  ctx: Context<Raw>,
  facts: RequestFacts<Raw>,
  here: Site,
  session: SessionPort,
  cookies: Readonly<Record<string, string | undefined>>,
  search: URLSearchParams,
): Promise<Reply> {
  const { config } = ctx;
  const opened = await openQuery(config, search.get('q') ?? '', here);
  if (!opened.ok) {
    ctx.rejected(facts, 'hop', opened.reason, here);
    return refusal(opened.reason, await queryRefusalTarget(config, search, here));
  }
  ctx.noteKeyIndex(opened.keyIndex);
  const query = opened.message;
  const via = query.via.includes(here.noteId) ? query.via : [...query.via, here.noteId];

  const knowledge = await whatWeKnow(ctx, here, session, cookies);
  if (knowledge.kind === 'answer') return answer(config, here, query, knowledge.key, knowledge.sid, knowledge.cookies);
  const preferred = knowledge.kind === 'behind' ? knowledge.site : undefined;
  const next = preferred && !via.includes(preferred.noteId) && (await ctx.health.isUp(preferred)) ? preferred : await nextInChain(ctx, via);
  if (next) return redirect(hopUrl(config, next, await sealQuery(config, query.source, next, { ...query, via: [...via, next.noteId] })), []);
  // Nobody further to ask: what this site has, which is the key it was behind on.
  if (knowledge.kind === 'behind') return answer(config, here, query, knowledge.key, '', []);
  // Nobody knows this browser: a new one. This site keeps its first key (with its own
  // session, when it has one: that is then the browser's session).
  const first = await ownState(ctx, here, session, undefined);
  return answer(config, here, query, first.key, first.sid, first.cookies);
}

/**
 * Where a refused query sends the visitor: back to the site that asked, when the query is
 * authentic and names a configured site; otherwise (another secret, mid-rotation) on to
 * this site's home page. Always with the marker that stops another hop.
 */
export async function queryRefusalTarget(config: Config, search: URLSearchParams, here: Site): Promise<string> {
  const opened = await openQuery(config, search.get('q') ?? '', here);
  const back = opened.ok ? opened.message.source : opened.source;
  return withSkipMarker(back ? `${back.origin}/` : '/');
}

async function answer(config: Config, here: Site, query: QueryMessage, key: string, sid: string, cookies: readonly string[]): Promise<Reply> {
  const sealed = await sealAnswer(config, here, query.source, { iat: Date.now(), jti: randomId(), hid: query.hid, st: query.st, ret: query.ret, key, sid });
  return redirect(`${query.source.origin}${config.basePath}/hop/return?a=${sealed}`, cookies);
}

/**
 * Step 3, back on the asking site: use up the answer, check it against this browser's
 * state, take what it says (see link.ts `applyConfirmation`), and continue to the page.
 */
export async function finishHop<Raw>(
  ctx: Context<Raw>,
  facts: RequestFacts<Raw>,
  here: Site,
  session: SessionPort,
  cookies: Readonly<Record<string, string | undefined>>,
  search: URLSearchParams,
): Promise<Reply> {
  const { config } = ctx;
  const names = cookieNames(here);
  let continueTo = withSkipMarker('/');
  const refuse = (reason: RejectReason): Reply => {
    ctx.rejected(facts, 'hop', reason, here);
    return refusal(reason, continueTo);
  };
  const opened = await openAnswer(config, search.get('a') ?? '', here);
  if (!opened.ok) return refuse(opened.reason);
  const answer = opened.message;
  // An authentic answer says which page the visitor asked for: a refusal for want of state
  // (a browser that keeps no cookies) still takes them there, without another hop.
  const asked = safeReturnPath(answer.ret, here.origin);
  if (asked !== undefined) continueTo = withSkipMarker(asked);
  // RFC 9700 §4.5 and §2.1.1: an authorization code is consumed by its first presentation,
  // whatever follows. An answer refused below for want of state is gone, so whoever reads
  // its URL later (a log, a script on this origin) cannot complete it with their own state.
  if (!(await ctx.sharing(session).claimOnce(`answer:${answer.jti}`, claimTtl(config, Purpose.answer)))) return refuse('TOKEN_REPLAYED');

  // The login-CSRF guard: only the browser that started this hop holds its state.
  const stateName = `${names.hopPrefix}${answer.hid}`;
  const stateCookie = cookies[stateName];
  if (stateCookie === undefined) return refuse('STATE_MISSING');
  const state = await openState(config, stateCookie);
  if (!state || !sameText(state.st, answer.st)) return refuse('STATE_MISMATCH');
  const returnTo = safeReturnPath(state.ret, here.origin);
  if (returnTo === undefined) return refuse('BAD_RETURN_PATH');
  continueTo = withSkipMarker(returnTo);
  ctx.noteKeyIndex(opened.keyIndex);

  let { key, sid } = answer;
  if (state.why === 'discover') {
    // This site did not know the browser when it asked; if it knows it now, another first
    // page of this browser (a second tab) made it the last of a chain meanwhile: both
    // sites settle on one key.
    const meanwhile = await requestLinkCookie(config, here, cookies);
    if (meanwhile && meanwhile.key !== key && (await settleKeys(ctx, session, meanwhile.key, key)) === meanwhile.key) {
      key = meanwhile.key;
      sid = '';
    }
  }
  const link = await applyConfirmation(ctx, facts, here, session, { why: state.why, key, sid, source: answer.source, mechanism: 'hop' });
  // The page this hop returns to must not hop again. Where it will be in the steady state
  // (a session adopted) nothing is needed; otherwise the cookie says so, for that page only.
  const set = link ? [await linkCookie(config, here, { ...link, hopped: !isSteady(session, here) })] : [];
  return redirect(returnTo, [...set, coreCookie(here, stateName, '', 0)]);
}
