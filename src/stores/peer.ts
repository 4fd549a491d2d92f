import { createRequire } from 'node:module';
import { SharedSessionError } from '../core/errors.ts';

const require = createRequire(import.meta.url);

/**
 * The optional peer dependency `name` of the entry point `entry`, loaded when the entry
 * is imported. A static `import` of a missing package fails while Node links the module
 * graph, before any code of ours runs, with Node's bare "Cannot find package"; loaded
 * here, it fails with a SharedSessionError that names the package and the command.
 * `require` rather than `await import()`: a top-level await would stop CommonJS users
 * from `require()`-ing the entry. Both peers (`pg`, `redis`) give `require` the same
 * module an `import` gets, so no second copy is loaded.
 */
export function loadPeer<Module>(name: 'pg' | 'redis', entry: string): Module {
  try {
    require.resolve(name);
  } catch (error) {
    // Only the peer itself missing: a broken install of the peer fails below with Node's own error.
    if ((error as { code?: unknown }).code !== 'MODULE_NOT_FOUND') throw error;
    throw new SharedSessionError(
      'ERR_SHARED_SESSION_PEER',
      `shared-session: \`${entry}\` needs the package \`${name}\`, an optional peer dependency that is not installed. Install it: npm install ${name}`,
      { cause: error },
    );
  }
  return require(name) as Module;
}
