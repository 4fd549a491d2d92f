import { frameworkSuite } from '../helpers/framework-suite.ts';

// examples/sveltekit: SvelteKit with @sveltejs/adapter-node, its `handle` hook on `shared-session/fetch`.
frameworkSuite({
  name: 'SvelteKit',
  build: ['node_modules/vite/bin/vite.js', 'build', '--config', 'examples/sveltekit/vite.config.ts'],
  entry: 'examples/sveltekit/build/index.js',
  ready: /Listening on/,
  // adapter-node cannot tell the scheme of a request (it assumes https unless told): the
  // site's own origin, as its docs ask for in production.
  env: (origin) => ({ ORIGIN: origin }),
});
