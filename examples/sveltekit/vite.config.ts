import adapter from '@sveltejs/adapter-node';
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

// Built from the repository root (`vite build --config examples/sveltekit/vite.config.ts`),
// so that `shared-session/*` resolves to this package as it would from an app's node_modules.
const here = 'examples/sveltekit';

export default defineConfig({
  plugins: [
    sveltekit({
      adapter: adapter({ out: `${here}/build`, precompress: false }),
      files: { src: `${here}/src`, assets: `${here}/static` },
      outDir: `${here}/.svelte-kit`,
      // SvelteKit's own CSRF guard (on by default): a form post whose Origin is not this site's gets a 403.
      csrf: { trustedOrigins: [] },
    }),
  ],
  // Left to Node at run time: shared-session resolves through its package exports (dist/,
  // or src/ under --conditions=@shared-session/source), and its SQLite store uses node:sqlite.
  build: { rolldownOptions: { external: [/^shared-session(\/|$)/] } },
});
