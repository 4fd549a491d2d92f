import type { Context } from './context.ts';
import type { Reply, RequestFacts, SessionPort } from './contract.ts';
import { cookieNames, voucherCookie } from './cookies.ts';
import { applyConfirmation } from './link.ts';
import { linkCookie, requestLinkCookie } from './link-cookie.ts';
import { scriptTag } from './loader.ts';
import { VOUCHER_LIFETIME_MS, claimTtl, openPush, openVoucher, sealPush, sealVoucher } from './messages.ts';
import { acceptsThirdPartyCookies } from './navigation.ts';
import { holder, withHolder, writeNote, type Note } from './note.ts';
import type { Config } from './options.ts';
import { randomId } from './random.ts';
import type { RejectReason } from './reasons.ts';
import { scriptReply } from './reply.ts';
import type { Site } from './sites.ts';
import { Purpose } from './token.ts';

/**
 * The script-tag push: where third-party cookies are allowed, a page of site A loads
 * `<script src="https://B/{base}/{token}.js">`, and B's answer leaves a **voucher** in
 * this browser: a sealed, short-lived `SameSite=None` cookie naming A's session. B's next
 * top-level page load takes the voucher as a browser-bound confirmation, exactly as it
 * would take a hop's answer, and needs no hop. The endpoint never touches B's session:
 * a cross-site request does not carry B's own `SameSite=Lax` session cookie, so B could
 * not tell whether it would overwrite a session of its own.
 */

// Safari classifies a site as a tracker once it is loaded as a subresource under more than
// three other top-level sites (ITP), and then deletes its data after 30 days without a visit.
const MAX_PUSH_SOURCES = 3;

/**
 * The sites a page of `here` pushes to: all others with up to four sites; beyond that the
 * three that follow `here` in the order of `sites`, so that every site is loaded under at
 * most three others. (Every app must list the sites in one order for this to hold.)
 */
export function pushTargets(config: Config, here: Site): readonly Site[] {
  const all = config.sites.all;
  if (all.length - 1 <= MAX_PUSH_SOURCES) return all.filter((site) => site !== here);
  return Array.from({ length: MAX_PUSH_SOURCES }, (_, step) => all[(here.index + step + 1) % all.length] as Site);
}

/**
 * The HTML of the push for this page (`note` is the session's, parsed): one `<script async>`
 * per target that does not hold the session yet, each with a fresh single-use token; those
 * targets are recorded as pushed, so later pages mint nothing for them. Empty when there is
 * nothing to push, the session is not linked yet, or the browser cannot keep a third-party cookie.
 */
export async function mintLoader<Raw>(ctx: Context<Raw>, facts: RequestFacts<Raw>, here: Site, session: SessionPort, note: Note, nonce: string | undefined): Promise<string> {
  const { config } = ctx;
  // With the hop on, only a session in an epoch is pushed: its receiver joins that epoch.
  if (config.hop && note.key === undefined) return '';
  if (!acceptsThirdPartyCookies(facts)) return '';
  const targets = pushTargets(config, here).filter((site) => holder(note, site.noteId) === undefined);
  if (targets.length === 0) return '';
  const sid = await session.persist();
  const now = Date.now();
  let html = '';
  let next = holder(note, here.noteId) === undefined ? withHolder(note, here.noteId, 'held') : note;
  // Sealed side by side: on Web Crypto each seal is a promise.
  const tokens = await Promise.all(targets.map((site) => sealPush(config, here, site, sid, randomId(), now)));
  targets.forEach((site, index) => {
    html += scriptTag(site, config.basePath, tokens[index] as string, nonce);
    next = withHolder(next, site.noteId, 'pushed');
  });
  session.writeNote(writeNote(next));
  return html;
}

/**
 * `GET {basePath}/{token}.js` on the receiving site, once the façade checked that a
 * cross-site `<script>` asks (Fetch Metadata). Checks, in order: the token (size,
 * encoding, version, authentication), its destination, source and age, the loading page
 * (Referer), and single use; then sets the voucher. Refusals set nothing.
 */
export async function receivePush<Raw>(ctx: Context<Raw>, facts: RequestFacts<Raw>, here: Site, session: SessionPort, token: string): Promise<Reply> {
  const { config } = ctx;
  const refuse = (reason: RejectReason): Reply => {
    ctx.rejected(facts, 'push', reason, here);
    return scriptReply({ refused: reason });
  };
  const opened = await openPush(config, token, here);
  if (!opened.ok) return refuse(opened.reason);
  const push = opened.message;
  // The token is a bearer credential inside a page of its source site. A page elsewhere
  // that embeds a token minted for the attacker's own session would log the victim in as
  // the attacker (login CSRF); browsers send the loading page's origin, which pages cannot
  // forge (the loader asks for `referrerpolicy="origin"`). A tag on that very page can still
  // be redirected here with it: the voucher's binding to the browser answers that.
  if (refererOrigin(facts.header('referer')) !== push.source.origin) return refuse('REFERER_MISMATCH');
  if (!(await ctx.sharing(session).claimOnce(`push:${push.jti}`, claimTtl(config, Purpose.push)))) return refuse('TOKEN_REPLAYED');
  ctx.noteKeyIndex(opened.keyIndex);
  return scriptReply({ accepted: voucherCookie(here, await sealVoucher(config, here, push.source, push.sid), VOUCHER_LIFETIME_MS / 1000) });
}

/**
 * On a page load: take the voucher the push left, if any, as a confirmation. Resolves the
 * cookies to send (the voucher is always deleted, used or not) and whether it settled the
 * page (it adopted a session, so the page load has nothing more to do).
 */
export async function takeVoucher<Raw>(
  ctx: Context<Raw>,
  facts: RequestFacts<Raw>,
  here: Site,
  session: SessionPort,
  cookies: Readonly<Record<string, string | undefined>>,
): Promise<{ readonly cookies: readonly string[]; readonly settled: boolean }> {
  const value = cookies[cookieNames(here).voucher];
  if (value === undefined) return { cookies: [], settled: false };
  const spent = [voucherCookie(here, '', 0)];
  const opened = await openVoucher(ctx.config, value, here);
  if (!opened.ok) {
    ctx.rejected(facts, 'push', opened.reason, here);
    return { cookies: spent, settled: false };
  }
  const { source, sid } = opened.message;
  // With the hop on, a voucher only saves the hop of a browser this site knows, in the
  // epoch it knows: it must follow from this site's own link key (see applyConfirmation).
  const known = ctx.config.hop ? await requestLinkCookie(ctx.config, here, cookies) : undefined;
  if (ctx.config.hop && !known) return { cookies: spent, settled: false };
  const before = session.isEmpty() ? '' : session.id;
  const link = await applyConfirmation(ctx, facts, here, session, { why: 'confirm', key: undefined, sid, source, mechanism: 'push', epoch: known?.key });
  const adopted = !session.isEmpty() && session.id === sid && before !== sid;
  return { cookies: link ? [...spent, await linkCookie(ctx.config, here, link)] : spent, settled: adopted };
}

function refererOrigin(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    return new URL(value).origin;
  } catch {
    return undefined;
  }
}
