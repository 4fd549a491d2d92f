import { createHash } from 'node:crypto';
import type { StoredRecord } from '../callback-store.ts';

/**
 * The stored format of a session, `<version>:<JSON>`, or `t` for the tombstone of a
 * destroyed session, and the Lua script that saves one. The version is a random token
 * the writer picks (8 base64url characters): it lets a save be a compare-and-set, written
 * whole when the record is still the one the request loaded and merged when another save
 * came in between, with nothing for Lua to compute (a counter cost a third more in Redis).
 * The tombstone lives in the session's own key (one key per session; a destroy is one
 * script over that key), so a save reads one key to know both.
 */

/** The value of a destroyed session's key, for `tombstoneSeconds`. */
export const TOMBSTONE = 't';

/** A Lua script, run by its SHA1 and sent whole only when Redis does not know it (after a restart, on a new node). */
export interface Script {
  readonly source: string;
  readonly sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * One save, as a compare-and-set. KEYS: the session's key. ARGV: the prefix the record
 * must start with, `<version loaded>:` ('' for a new session: write whatever is there;
 * `!`, which no record starts with, for a request that must merge); the value to write,
 * `<new version>:<JSON>`; the expiry (ms since the epoch, at least 1: a past one stores
 * the key expired, i.e. not at all). Returns {0} (a tombstone:
 * dropped), {1} (written), or {2, record} (another save came in between: merge into this
 * record and try again).
 */
export const WRITE = script(`
local current = redis.call('GET', KEYS[1])
if current then
  if current == '${'t'}' then return {0} end
  if string.sub(current, 1, #ARGV[1]) ~= ARGV[1] then return {2, current} end
end
redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
return {1}`);

export const DROPPED = 0;
export const WRITTEN = 1;

/**
 * Destroy a session: its key becomes the tombstone, for ARGV[1] ms. A missing key (an id
 * never stored, or expired) and a tombstone are left as they are: a tombstone for every
 * unknown id would let anyone fill Redis. KEYS: the session's key.
 */
export const DESTROY = script(`
local current = redis.call('GET', KEYS[1])
if current and current ~= '${'t'}' then redis.call('SET', KEYS[1], '${'t'}', 'PX', ARGV[1]) end
return 1`);

/** Delete a session, never a tombstone (which keeps a destroyed id refused). KEYS: the key. */
export const UNLINK_SESSION = script(`
if redis.call('GET', KEYS[1]) ~= '${'t'}' then redis.call('UNLINK', KEYS[1]) end
return 1`);

/** A stored value, `<version>:<JSON>`, as a record (not for the tombstone). */
export function recordOf(value: string): StoredRecord {
  const colon = value.indexOf(':');
  return { version: value.slice(0, colon), json: value.slice(colon + 1) };
}
