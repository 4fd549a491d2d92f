import { optionError } from '../../core/errors.ts';

/**
 * The tables of the PostgreSQL store, and the SQL that creates them: run it yourself as a
 * migration (with `createTables: false`), or let the store run it on first use.
 */

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,40}$/;

export interface Tables {
  sessions: string;
  claims: string;
  links: string;
}

export function tablesOf(prefix: unknown): Tables {
  if (typeof prefix !== 'string' || !IDENTIFIER.test(prefix)) {
    throw optionError('tablePrefix', 'must be a plain SQL identifier', 'Use letters, digits and "_", e.g. "shared_session".');
  }
  return { sessions: `${prefix}_sessions`, claims: `${prefix}_claims`, links: `${prefix}_links` };
}

/**
 * The tables of {@link PostgresStore}, as SQL to run in a migration (then pass
 * `createTables: false`). Every statement is `IF NOT EXISTS`, so running it twice is harmless.
 *
 * Expiries are `timestamptz` compared with the database's `now()`, so rows are readable
 * by an operator; tombstones, claims and links are timed by the database's clock, session
 * expiries come from the cookie (the app server's clock), as in the other stores. A
 * destroyed session stays in `_sessions` as a tombstone (`destroyed`, data `{}`) until its
 * `expires`: a save of that id then finds the row and its lock, so no save can slip in
 * between a destroy's delete and its tombstone.
 *
 * @example
 * ```ts
 * await pool.query(postgresSchema('shared_session'));
 * ```
 */
export function postgresSchema(tablePrefix = 'shared_session'): string {
  const { sessions, claims, links } = tablesOf(tablePrefix);
  return `CREATE TABLE IF NOT EXISTS ${sessions} (
  sid text PRIMARY KEY,
  data jsonb NOT NULL,
  expires timestamptz NOT NULL,
  destroyed boolean NOT NULL DEFAULT false
);
CREATE TABLE IF NOT EXISTS ${claims} (key text PRIMARY KEY, expires timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS ${links} (bid text PRIMARY KEY, value text NOT NULL, expires timestamptz NOT NULL);
${[sessions, claims, links].map((table) => `CREATE INDEX IF NOT EXISTS ${table}_expires ON ${table} (expires);`).join('\n')}
`;
}
