import type { Reply } from './contract.ts';
import { REASON_HEADER, REJECT_STATUS, type RejectReason } from './reasons.ts';

/** Outcomes of an accepted request, named in the reason header like refusals are. */
export type Outcome = 'ADOPTED' | 'ALREADY_SHARED' | 'KEPT_CURRENT';

// The push answers a classic cross-site <script>: it must be loadable cross-origin (CORP),
// never cached (a cached answer would skip the Set-Cookie), and never sniffed as anything else.
const SCRIPT_HEADERS = {
  'content-type': 'text/javascript; charset=utf-8',
  'cache-control': 'no-store',
  'cross-origin-resource-policy': 'cross-origin',
  'x-content-type-options': 'nosniff',
} as const;

/** The empty-JavaScript answer of the script push. */
export function scriptReply(status: number, code: Outcome | RejectReason): Reply {
  return { status, headers: { ...SCRIPT_HEADERS, [REASON_HEADER]: code }, cookies: [], body: '' };
}

/** A plain-text refusal for endpoints that are not scripts. */
export function textReply(reason: RejectReason, cookies: readonly string[] = []): Reply {
  return {
    status: REJECT_STATUS[reason],
    headers: {
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      [REASON_HEADER]: reason,
    },
    cookies,
    body: `shared-session refused this request: ${reason}\n`,
  };
}
