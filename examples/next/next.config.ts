// Inside this repository `shared-session` is this package itself, reached by Node's package
// self-reference, which neither Turbopack nor Next's output folder (it writes its own
// package.json into .next/) lets through. So the example leaves the library out of the
// bundle and imports it by the file its exports resolve to when the build runs: src/ under
// --conditions=@shared-session/source (the tests), dist/ otherwise. An app that installs
// shared-session from the registry needs none of this.
import { createRequire } from 'node:module';
import { join } from 'node:path';

// Resolves as the repository root does (the build runs there).
const resolveFromRoot = createRequire(join(process.cwd(), 'package.json')).resolve;

const config = {
  // The repository's own `tsc` checks these files; Next's check would use its own settings.
  typescript: { ignoreBuildErrors: true },
  webpack(webpackConfig: { externals: unknown[] }) {
    webpackConfig.externals.push(({ request }: { request?: string }, callback: (error?: null, result?: string) => void) => {
      if (request !== undefined && /^shared-session(\/|$)/.test(request)) callback(null, `module ${resolveFromRoot(request)}`);
      else callback();
    });
    return webpackConfig;
  },
};
export default config;
