import { frameworkSuite } from '../helpers/framework-suite.ts';

// examples/astro: Astro with @astrojs/node (standalone), its middleware on `shared-session/fetch`.
frameworkSuite({
  name: 'Astro',
  build: ['node_modules/astro/bin/astro.mjs', 'build', '--root', 'examples/astro'],
  entry: 'examples/astro/dist/server/entry.mjs',
  ready: /Server listening/,
});
