import { sharedSessionHandler } from 'shared-session/fetch';
import { SqliteStore } from 'shared-session/sqlite';

// One handler per process, built once at start-up: its options are checked then, not per request.
// Every site lists all the sites; the secrets are the same on every site (`openssl rand -base64 48`).
export const shared = sharedSessionHandler({
  sites: (process.env.SITES ?? 'https://example.com,https://example.de').split(','),
  secret: process.env.SHARED_SESSION_SECRET!,
  session: {
    store: new SqliteStore({ path: process.env.SESSION_DB ?? 'sessions.sqlite' }), // one store for every site, Express ones too
    secret: process.env.SESSION_SECRET!, // signs this site's session cookie
    name: process.env.SESSION_COOKIE ?? 'kit.sid',
    cookie: { sameSite: 'lax', maxAge: 7 * 24 * 3600 * 1000 },
  },
});
shared.on('rejected', (event) => console.warn(`shared-session refused a request: ${event.reason}`));
