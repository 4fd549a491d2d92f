import { scryptSync, timingSafeEqual } from 'node:crypto';

// Demo accounts. Only a salted scrypt hash is kept in memory, and only the user name ever
// goes into the session: a password never does.
const SALT = Buffer.from('shared-session demo salt');
const hash = (password: string): Buffer => scryptSync(password, SALT, 32);
const USERS: ReadonlyMap<string, Buffer> = new Map([
  ['alice', hash('alice-password')],
  ['bob', hash('bob-password')],
]);
const NOBODY = hash('no such user');

/** The user name when the credentials are right, else undefined. Same work either way. */
export function checkLogin(username: unknown, password: unknown): string | undefined {
  if (typeof username !== 'string' || typeof password !== 'string' || password.length > 200) return undefined;
  const expected = USERS.get(username);
  const ok = timingSafeEqual(hash(password), expected ?? NOBODY);
  return ok && expected ? username : undefined;
}
