import type { Request, Response } from 'express';

/**
 * express-session saves a changed session at `res.end`, but starts writing the response
 * (status, headers, most of the body) before the store answers: a save that fails is
 * reported after the visitor already got a 200, and the change is lost although it was
 * acknowledged. This makes the save come first: when the response is about to start
 * and the session changed, save it, then respond; when the save fails, hand the error to
 * Express (a store's error carries status 503) instead of the response that would have
 * lied. express-session may still save once more after an id change, and touches
 * otherwise; the stores of this package write nothing for either (see CallbackStore).
 *
 * A session counts as changed when its JSON (without the cookie) or its id differs from
 * what the request began with. A response streamed with `res.write` before `res.end`
 * has started already; it keeps express-session's own behaviour.
 */
export function saveBeforeResponding(req: Request, res: Response): void {
  const session = req.session as (Request['session'] & Record<string, unknown>) | undefined;
  if (!session) return;
  // One shared function and the request's state under a symbol: no closure per request.
  // res.end is kept to be called later with this response as `this`.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  (res as SavingResponse)[STATE] = { startId: req.sessionID, startJson: jsonWithoutCookie(session), end: res.end, saving: false };
  res.end = endAfterSave as Response['end'];
}

const STATE = Symbol('shared-session save-first');

interface SavingResponse extends Response {
  [STATE]: { readonly startId: string; readonly startJson: string; readonly end: Response['end']; saving: boolean };
}

function endAfterSave(this: SavingResponse, ...args: unknown[]): Response {
  const state = this[STATE];
  const end = (): Response => (state.end as (...a: unknown[]) => Response).apply(this, args);
  const req = this.req;
  const current = req.session as (Request['session'] & Record<string, unknown>) | undefined;
  if (state.saving || this.headersSent || !current || (req.sessionID === state.startId && jsonWithoutCookie(current) === state.startJson)) {
    return end();
  }
  state.saving = true;
  // express-session resets the expiry when it saves; do the same before this save.
  current.touch();
  current.save((error?: unknown) => {
    if (!error || this.headersSent) return void end();
    // The app's error handling answers instead (503 for a store that is unavailable), and
    // express-session lets go of the session: no cookie for a session that is not stored.
    for (const name of this.getHeaderNames()) this.removeHeader(name);
    const detached = req as { session?: unknown; sessionID?: unknown };
    detached.session = undefined;
    detached.sessionID = undefined;
    if (req.next) req.next(error);
    else {
      this.statusCode = 503;
      (state.end as (chunk: string) => Response).call(this, 'the session could not be saved\n');
    }
  });
  return this;
}

/** The session's data as text, without the cookie (which every request's touch changes). Key by key: no copy of the session. */
function jsonWithoutCookie(session: Record<string, unknown>): string {
  let text = '';
  for (const key in session) if (key !== 'cookie') text += `${key}\u0000${JSON.stringify(session[key])}\u0001`;
  return text;
}
