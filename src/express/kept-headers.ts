import type { Response } from 'express';

const KEPT_HEADERS = Symbol('shared-session kept headers');

interface KeepingResponse extends Response {
  [KEPT_HEADERS]?: Record<string, string>;
}

/**
 * Set `headers` on the response now and again just before it starts, so that the app
 * cannot loosen them by accident: a response that carries a loader (bearer tokens) or
 * sets one of the core's cookies must never be cached for another visitor, whatever
 * `Cache-Control` a route sets, also through `res.writeHead(status, headers)`. `Vary` is
 * added to, never replaced.
 */
export function keepHeaders(res: Response, headers: Readonly<Record<string, string>>): void {
  const keeping = res as KeepingResponse;
  if (keeping[KEPT_HEADERS]) {
    Object.assign(keeping[KEPT_HEADERS], headers);
  } else {
    keeping[KEPT_HEADERS] = { ...headers };
    // Kept to be called later with this response as `this`.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const writeHead = res.writeHead;
    res.writeHead = function writeHeadKeeping(this: KeepingResponse, statusCode: number, ...rest: unknown[]) {
      // writeHead(status, [message], [headers]): headers given here win over setHeader's, so
      // the kept ones are taken out of them (a Vary given here is merged, not dropped).
      const at = typeof rest[0] === 'string' ? 1 : 0;
      const given = rest[at];
      if (given !== null && typeof given === 'object' && !Array.isArray(given)) {
        const own: Record<string, unknown> = {};
        for (const [name, value] of Object.entries(given)) {
          const lower = name.toLowerCase();
          if (lower === 'vary') this.setHeader('vary', value as string | string[]);
          else if (!(lower in (this[KEPT_HEADERS] ?? {}))) own[name] = value;
        }
        rest[at] = own;
      }
      applyKept(this);
      return (writeHead as (...a: unknown[]) => Response).call(this, statusCode, ...rest);
    } as Response['writeHead'];
  }
  applyKept(keeping);
}

function applyKept(res: KeepingResponse): void {
  for (const [name, value] of Object.entries(res[KEPT_HEADERS] ?? {})) {
    if (name === 'vary') {
      const current = res.getHeader('vary');
      const list = (Array.isArray(current) ? current.join(',') : String(current ?? '')).split(',').map((item) => item.trim()).filter(Boolean);
      if (!list.some((item) => item.toLowerCase() === value.toLowerCase() || item === '*')) res.setHeader('vary', [...list, value].join(', '));
    } else {
      res.setHeader(name, value);
    }
  }
}
