import type { Reply } from './contract.ts';
import { REASON_HEADER, REJECT_STATUS, publicReason, type RejectReason } from './reasons.ts';

/** Outcome of an accepted push, named in the reason header like refusals are: the voucher is set. */
export type Outcome = 'ACCEPTED';

// The push answers a classic cross-site <script>: it must be loadable cross-origin (CORP),
// never cached (a cached answer would skip the Set-Cookie), and never sniffed as anything else.
const SCRIPT_HEADERS = {
  'content-type': 'text/javascript; charset=utf-8',
  'cache-control': 'no-store',
  'cross-origin-resource-policy': 'cross-origin',
  'x-content-type-options': 'nosniff',
} as const;

/** The empty-JavaScript answer of the script push: accepted with the voucher cookie, or refused. */
export function scriptReply(outcome: { accepted: string } | { refused: RejectReason }): Reply {
  if ('accepted' in outcome) {
    const code: Outcome = 'ACCEPTED';
    return { status: 200, headers: { ...SCRIPT_HEADERS, [REASON_HEADER]: code }, cookies: [outcome.accepted], body: '' };
  }
  return { status: REJECT_STATUS[outcome.refused], headers: { ...SCRIPT_HEADERS, [REASON_HEADER]: publicReason(outcome.refused) }, cookies: [], body: '' };
}

/** A plain-text refusal for endpoints that are not scripts. */
export function textReply(reason: RejectReason): Reply {
  return {
    status: REJECT_STATUS[reason],
    headers: {
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      [REASON_HEADER]: publicReason(reason),
    },
    cookies: [],
    body: `shared-session refused this request: ${publicReason(reason)}\n`,
  };
}
