import { scryptSync, timingSafeEqual } from 'node:crypto';

/** What Passport keeps in `req.user`; only `name` goes into the session. */
export interface AppUser {
  name: string;
}

// Example accounts: only a salted scrypt hash is kept, never a password.
const SALT = Buffer.from('shared-session real-app example salt');
const hash = (password: string): Buffer => scryptSync(password, SALT, 32);
const USERS: ReadonlyMap<string, Buffer> = new Map([
  ['alice', hash('alice-password')],
  ['bob', hash('bob-password')],
]);
const NOBODY = hash('no such user');

/** The user when the credentials are right, else undefined. Same work either way. */
export function checkPassword(username: string, password: string): AppUser | undefined {
  if (password.length > 200) return undefined;
  const expected = USERS.get(username);
  const ok = timingSafeEqual(hash(password), expected ?? NOBODY);
  return ok && expected ? { name: username } : undefined;
}

/** The user a session names (Passport's deserializeUser), or undefined once the account is gone. */
export function findUser(name: unknown): AppUser | undefined {
  return typeof name === 'string' && USERS.has(name) ? { name } : undefined;
}
