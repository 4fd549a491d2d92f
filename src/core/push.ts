import { checkClaims, claimTtl } from './claims.ts';
import type { Reply, RequestFacts, SessionPort } from './contract.ts';
import { holder, withHolder } from './note.ts';
import { REJECT_STATUS, type RejectReason } from './reasons.ts';
import { scriptReply } from './reply.ts';
import type { SharedSession } from './shared-session.ts';
import type { Site } from './sites.ts';
import { Purpose } from './token.ts';

/** Payload of a push token: the session id travelling from `src` to `dst`. */
export interface PushPayload {
  readonly sid: string;
  readonly src: string;
  readonly dst: string;
  readonly iat: number;
  readonly jti: string;
}

function refererOrigin(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    return new URL(value).origin;
  } catch {
    return undefined;
  }
}

/**
 * `GET {basePath}/{token}.js` on the receiving site. Checks, in order: size, encoding,
 * version, decryption, destination, source, age, the loading page (Referer), single use,
 * and that the session is in the store; then adopts it when this site's session is empty
 * (or `alwaysReplace`). Refusals never touch the session or set a cookie.
 */
export async function receivePush<Raw>(
  core: SharedSession<Raw>,
  facts: RequestFacts<Raw>,
  here: Site,
  session: SessionPort,
  token: string,
): Promise<Reply> {
  const refuse = (reason: RejectReason): Reply => {
    core.rejected(facts, 'push', reason, here);
    return scriptReply(REJECT_STATUS[reason], reason);
  };
  const { config } = core;
  const opened = config.sealer.open(Purpose.push, token);
  if (!opened.ok) return refuse(opened.reason);
  const now = Date.now();
  const claims = checkClaims(config, opened.payload, here, now);
  if (!claims.ok) return refuse(claims.reason);
  const sid = opened.payload.sid;
  if (typeof sid !== 'string' || sid === '') return refuse('TOKEN_VERSION');
  // The token is a bearer credential inside a page of its source site. A page elsewhere that
  // embeds a token minted for the attacker's own session would log the victim in as the
  // attacker (login CSRF); browsers send the loading page's origin, which pages cannot forge.
  if (refererOrigin(facts.header('referer')) !== claims.source.origin) return refuse('REFERER_MISMATCH');
  const jti = opened.payload.jti as string;
  if (!(await core.claimOnce(session, `push:${jti}`, claimTtl(config)))) return refuse('TOKEN_REPLAYED');
  core.noteKeyIndex(opened.keyIndex);
  if (session.id === sid) {
    // The cookie arrived on a cross-site request, so this site holds it as SameSite=None:
    // record that, so the loaders stop pushing here and the next visit repairs the cookie.
    const note = session.readNote();
    if (holder(note, here) === undefined) session.writeNote(withHolder(note, here, 'cross-site'));
    return scriptReply(200, 'ALREADY_SHARED');
  }
  const found = await core.find(session, sid);
  if (!found) return refuse('SESSION_NOT_FOUND');
  const previousWasEmpty = session.isEmpty();
  if (!previousWasEmpty && !config.alwaysReplace) return scriptReply(200, 'KEPT_CURRENT');
  found.adopt('cross-site');
  session.writeNote(withHolder(session.readNote(), here, 'cross-site'));
  core.emit('sessionReplaced', { request: facts.raw, mechanism: 'push', source: claims.source.origin, destination: here.origin, previousWasEmpty });
  return scriptReply(200, 'ADOPTED');
}
