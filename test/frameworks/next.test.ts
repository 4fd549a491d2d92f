import { frameworkSuite } from '../helpers/framework-suite.ts';

// examples/next: Next.js (app router, route handlers) on `shared-session/fetch`, each route
// running the handler itself. Built under the source condition, which its next.config.ts
// uses to import the library from src/ (see there).
frameworkSuite({
  name: 'Next.js',
  build: ['--conditions=@shared-session/source', 'node_modules/next/dist/bin/next', 'build', '--webpack', 'examples/next'],
  entry: 'node_modules/next/dist/bin/next',
  args: ['start', 'examples/next', '--port', '{port}', '--hostname', '127.0.0.1'],
  ready: /Ready in/,
  // Next's request URL names the address it listens on: the site's own origin, for the example to use.
  env: (origin) => ({ ORIGIN: origin }),
});
