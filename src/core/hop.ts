import { timingSafeEqual } from 'node:crypto';
import { checkClaims, claimTtl } from './claims.ts';
import type { Reply, RequestFacts, SessionPort } from './contract.ts';
import { coreCookie, cookieNames } from './cookies.ts';
import { linkChanged, linkCookie, newLink, openLinkCookie, syncLink, type LinkState } from './link.ts';
import { escapeAttribute } from './loader.ts';
import { arrivedByPush } from './note.ts';
import { randomId } from './random.ts';
import { REASON_HEADER, REJECT_STATUS, type RejectReason } from './reasons.ts';
import { SKIP_PARAMETER, safeReturnPath, withSkipMarker } from './return-path.ts';
import type { SharedSession } from './shared-session.ts';
import type { Site } from './sites.ts';
import { Purpose } from './token.ts';

/** The longest page path (with query) that hops: its sealed state cookie stays under the 2 KB token limit. */
const MAX_RETURN_PATH = 1024;

/**
 * The top-level redirect hop: how a site that does not know a browser yet learns its
 * link id from the hub, with first-party cookies only (so it works where third-party
 * cookies are blocked). Three requests, each a top-level navigation:
 *
 *   1. B /page            → 303 hub/{base}/hop?r=REQUEST    + B's state cookie
 *   2. hub/{base}/hop     → 303 B/{base}/hop/return?a=ANSWER (+ the hub's link cookie)
 *   3. B/{base}/hop/return → 303 B /page                     + B's link cookie (+ session cookie)
 *
 * REQUEST and ANSWER are sealed, single-use, addressed and short-lived; ANSWER carries the
 * browser id (never a session id) and the state that only this browser's B state cookie
 * holds, so an answer minted for another browser is refused (login CSRF).
 */

const HOP_ID = /^[A-Za-z0-9_-]{8}$/;
const STATE = /^[A-Za-z0-9_-]{22}$/;
const BID = /^[A-Za-z0-9_-]{43}$/;
// A browser sends Mozilla/5.0 in User-Agent; crawlers and scripts either do not, or say so.
const BOT = /bot|crawl|spider|slurp|archiver|facebookexternalhit|embedly|preview|monitor|lighthouse|curl|wget|python|httpclient|okhttp|java\//i;

const HOP_HEADERS = {
  'cache-control': 'no-store',
  // Neither the hub nor the page after the hop learns the URLs of the hop (they carry tokens).
  'referrer-policy': 'no-referrer',
} as const;

function redirect(location: string, cookies: readonly string[], reason?: string): Reply {
  return { status: 303, headers: { ...HOP_HEADERS, location, ...(reason ? { [REASON_HEADER]: reason } : {}) }, cookies, body: '' };
}

/**
 * A refusal the visitor's browser can continue from: the status and reason are plain, and
 * a meta refresh takes the visitor on to `continueTo` (with the marker that stops another
 * hop), so a failed hop never strands anyone on an error page or loops.
 */
export function refusal(reason: RejectReason, continueTo: string | undefined): Reply {
  const target = continueTo === undefined ? undefined : escapeAttribute(continueTo);
  const body = target
    ? `<!doctype html><meta http-equiv="refresh" content="0;url=${target}"><title>Continue</title><p><a href="${target}">Continue</a></p>\n`
    : `shared-session refused this request: ${reason}\n`;
  return {
    status: REJECT_STATUS[reason],
    headers: { ...HOP_HEADERS, 'content-type': target ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', [REASON_HEADER]: reason },
    cookies: [],
    body,
  };
}

/** True when the request comes from a browser, not a crawler or a script: only browsers hop. */
export function looksLikeBrowser(facts: RequestFacts): boolean {
  const agent = facts.header('user-agent');
  return agent !== undefined && agent.startsWith('Mozilla/') && !BOT.test(agent);
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Step 1, on a site that does not know this browser: send it to the hub, or resolve
 * undefined to let the page load as it is. No hop when one is already in flight (its
 * state cookie is present), after a refused hop (the skip marker), for a session that
 * arrived by the script push (the quick path already did the work), for non-browsers,
 * or while the hub does not answer.
 */
export async function startHop<Raw>(
  core: SharedSession<Raw>,
  facts: RequestFacts<Raw>,
  here: Site,
  session: SessionPort,
  cookies: Readonly<Record<string, string | undefined>>,
  search: URLSearchParams,
): Promise<Reply | undefined> {
  const { config } = core;
  const names = cookieNames(here);
  if (!looksLikeBrowser(facts) || search.has(SKIP_PARAMETER)) return undefined;
  if (Object.keys(cookies).some((name) => name.startsWith(names.hopPrefix))) {
    core.doubtHub();
    return undefined;
  }
  if (!session.isEmpty() && arrivedByPush(session.readNote(), here)) return undefined;
  const returnTo = safeReturnPath(`${facts.path}${facts.search}`, here.origin);
  // The path travels sealed in the state cookie, whose token must stay within the token
  // size limit: a longer URL is served without a hop (the next shorter one hops).
  if (returnTo === undefined || returnTo.length > MAX_RETURN_PATH) return undefined;
  if (!(await core.hubIsUp())) return undefined;

  const hid = randomId(6);
  const st = randomId(16);
  const iat = Date.now();
  const state = config.sealer.seal(Purpose.state, { st, ret: returnTo, iat });
  const request = config.sealer.seal(Purpose.hopRequest, { src: here.origin, dst: config.hub.origin, iat, jti: randomId(), hid, st });
  return redirect(`${config.hub.origin}${config.basePath}/hop?r=${request}`, [coreCookie(here, `${names.hopPrefix}${hid}`, state, config.timeoutMs / 1000)]);
}

/** Step 2, on the hub: answer with this browser's link id, minting one for a new browser. */
export async function answerHop<Raw>(
  core: SharedSession<Raw>,
  facts: RequestFacts<Raw>,
  here: Site,
  session: SessionPort,
  cookies: Readonly<Record<string, string | undefined>>,
  search: URLSearchParams,
): Promise<Reply> {
  const { config } = core;
  const refuse = (reason: RejectReason, continueTo?: string): Reply => {
    core.rejected(facts, 'hop', reason, here);
    return refusal(reason, continueTo);
  };
  // Until the request names where the visitor came from, a refusal continues to this
  // site's home page (a request sealed under a secret this site lacks, during a rotation).
  const home = withSkipMarker('/');
  if (here !== config.hub) return refuse('NOT_HUB', home);
  const opened = config.sealer.open(Purpose.hopRequest, search.get('r') ?? '');
  if (!opened.ok) return refuse(opened.reason, home);
  // An authentic request names the site the visitor came from: a refusal sends them back there.
  const from = typeof opened.payload.src === 'string' ? config.sites.forOrigin(opened.payload.src) : undefined;
  const back = from && from !== here ? withSkipMarker(`${from.origin}/`) : home;
  const claims = checkClaims(config, opened.payload, here, Date.now());
  if (!claims.ok) return refuse(claims.reason, back);
  const { hid, st, jti } = opened.payload;
  if (typeof hid !== 'string' || !HOP_ID.test(hid) || typeof st !== 'string' || !STATE.test(st)) return refuse('TOKEN_VERSION', back);
  if (!(await core.claimOnce(session, `hop-request:${jti as string}`, claimTtl(config)))) return refuse('TOKEN_REPLAYED', back);
  core.noteKeyIndex(opened.keyIndex);

  const known = openLinkCookie(config, cookies[cookieNames(here).link]);
  const link = known ?? newLink();
  const synced = await syncLink(core, facts, here, session, link, known === undefined, 'hop');
  const answer = config.sealer.seal(Purpose.hopAnswer, { src: here.origin, dst: claims.source.origin, iat: Date.now(), jti: randomId(), hid, st, bid: synced.bid });
  const setLink = linkChanged(config, known, synced) ? [linkCookie(config, here, synced)] : [];
  return redirect(`${claims.source.origin}${config.basePath}/hop/return?a=${answer}`, setLink);
}

/** Step 3, back on the site that asked: check the answer against this browser's state, learn the link, follow it. */
export async function finishHop<Raw>(
  core: SharedSession<Raw>,
  facts: RequestFacts<Raw>,
  here: Site,
  session: SessionPort,
  cookies: Readonly<Record<string, string | undefined>>,
  search: URLSearchParams,
): Promise<Reply> {
  const { config } = core;
  const names = cookieNames(here);
  let continueTo = withSkipMarker('/');
  const refuse = (reason: RejectReason): Reply => {
    core.rejected(facts, 'hop', reason, here);
    return refusal(reason, continueTo);
  };
  const opened = config.sealer.open(Purpose.hopAnswer, search.get('a') ?? '');
  if (!opened.ok) return refuse(opened.reason);
  const claims = checkClaims(config, opened.payload, here, Date.now());
  if (!claims.ok) return refuse(claims.reason);
  if (claims.source !== config.hub) return refuse('UNKNOWN_SOURCE');
  const { hid, st, bid, jti } = opened.payload;
  if (typeof hid !== 'string' || !HOP_ID.test(hid) || typeof st !== 'string' || typeof bid !== 'string' || !BID.test(bid)) return refuse('TOKEN_VERSION');

  // The login-CSRF guard: only the browser that started this hop holds its state.
  const stateCookie = cookies[`${names.hopPrefix}${hid}`];
  if (stateCookie === undefined) return refuse('STATE_MISSING');
  const state = config.sealer.open(Purpose.state, stateCookie);
  if (!state.ok || typeof state.payload.st !== 'string' || !sameText(state.payload.st, st)) return refuse('STATE_MISMATCH');
  const returnTo = typeof state.payload.ret === 'string' ? safeReturnPath(state.payload.ret, here.origin) : undefined;
  if (returnTo === undefined) return refuse('BAD_RETURN_PATH');
  continueTo = withSkipMarker(returnTo);
  if (!(await core.claimOnce(session, `hop-answer:${jti as string}`, claimTtl(config)))) return refuse('TOKEN_REPLAYED');
  core.noteKeyIndex(opened.keyIndex);

  const known = openLinkCookie(config, cookies[names.link]);
  const link: LinkState = known?.bid === bid ? known : { bid, seen: '' };
  const synced = await syncLink(core, facts, here, session, link, link.seen === '', 'hop');
  return redirect(returnTo, [linkCookie(config, here, synced), coreCookie(here, `${names.hopPrefix}${hid}`, '', 0)]);
}
