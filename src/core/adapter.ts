/**
 * What an adapter may use of the core beyond its public entry (`src/index.ts`): the key
 * of the note inside the session record, which a session port must not count as data
 * (`SessionPort.isEmpty`); the option error every entry point throws alike; and the
 * `NO_SESSION` warning, which only an adapter can tell is due; and the secret strength
 * check, for an adapter's own signing secret (the fetch handler's session cookie).
 *
 * Adapters import `src/index.ts` and this file, nothing else of `src/core/`
 * (test/unit/import-graph.test.ts): an adapter cannot reach what mints or opens tokens.
 */
export { NOTE_KEY } from './note.ts';
export { optionError } from './errors.ts';
export { warnNoSession } from './shared-session.ts';
export { checkStrength as checkSecretStrength } from './keys.ts';
export { exposeCore } from './expose-core.ts';
