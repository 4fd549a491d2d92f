import node from '@astrojs/node';
import { defineConfig } from 'astro/config';

export default defineConfig({
  // Every page is rendered per request: a session page cannot be prerendered.
  output: 'server',
  adapter: node({ mode: 'standalone' }),
  // Astro's own CSRF guard: a form post whose Origin is not this site's gets a 403.
  security: { checkOrigin: true },
  vite: {
    // Left to Node at run time: shared-session resolves through its package exports (dist/,
    // or src/ under --conditions=@shared-session/source), and its SQLite store uses node:sqlite.
    build: { rolldownOptions: { external: [/^shared-session(\/|$)/] } },
  },
});
