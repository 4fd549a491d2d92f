/**
 * The link records in the shared store, one per link key (see link.ts). A record either
 * names the session of a current epoch and the site that started it, or says that the
 * epoch is over and which site to ask for the next one (`moved`). Neither grants
 * anything: a site adopts a session only from a browser-bound confirmation (a hop answer
 * or a push voucher), never from a record, so a copy of a link key is not a credential.
 */
export type LinkRecord =
  /** The epoch's session and the site whose change started the epoch. */
  | { readonly kind: 'current'; readonly sid: string; readonly site: string }
  /** The epoch ended at `site` (a login, a logout, a new session there): ask that site. */
  | { readonly kind: 'moved'; readonly site: string };

/** The stored JSON of a record: `{"s":sid,"w":origin}` or `{"m":origin}`. */
export function serializeRecord(record: LinkRecord): string {
  return record.kind === 'current' ? JSON.stringify({ s: record.sid, w: record.site }) : JSON.stringify({ m: record.site });
}

/** A stored record, or undefined for none (or anything unexpected, which counts as none). */
export function parseRecord(value: string | undefined): LinkRecord | undefined {
  if (value === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { s, w, m } = parsed as Record<string, unknown>;
  if (typeof m === 'string') return { kind: 'moved', site: m };
  if (typeof s === 'string' && s !== '' && typeof w === 'string') return { kind: 'current', sid: s, site: w };
  return undefined;
}
