import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const FRAMEWORKS = ['express', 'express-session', 'fastify', '@fastify/*', 'koa', 'koa-session', 'hono', 'hono/*'];
const STORE_CLIENTS = ['redis', '@redis/*', 'pg', 'pg-*', 'ioredis', 'node:sqlite'];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'demo/data/', '.tmp/', 'examples/*/dist/', 'examples/*/build/', 'examples/*/.astro/', 'examples/*/.svelte-kit/', 'examples/*/.next/', 'examples/next/next-env.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: { allowDefaultProject: ['eslint.config.js'] }, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/only-throw-error': 'error',
      eqeqeq: ['error', 'always'],
      'no-console': 'off',
    },
  },
  {
    // The shape of the house: the core knows no framework and no store client.
    files: ['src/core/**', 'src/index.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: [...FRAMEWORKS, ...STORE_CLIENTS], message: 'The core imports no framework and no store client.' },
            { group: ['../express/*', '../stores/*', '../*/index.ts'], message: 'The core never imports an adapter or a store.' },
          ],
        },
      ],
    },
  },
  {
    // Adapters talk to the core only; never to each other, never to a store.
    files: ['src/express/**', 'src/fastify/**', 'src/web/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['../stores/*', '../fastify/*', '../koa/*', '../hono/*', '../express/*', '../web/*'], message: 'An adapter imports only the core.' },
            // test/unit/import-graph.test.ts checks the same for every adapter folder.
            { group: ['../core/*', '!../core/adapter.ts'], message: 'An adapter imports the core through ../index.ts or ../core/adapter.ts only.' },
          ],
        },
      ],
    },
  },
  {
    // The Hono adapter is the fetch handler's (src/web/) wrapper: that one layer, then the core.
    files: ['src/hono/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['../stores/*', '../fastify/*', '../koa/*', '../express/*', '../web/*', '!../web/index.ts'], message: 'The Hono adapter imports only the core and the fetch handler’s entry.' },
            // test/unit/import-graph.test.ts checks the same for every adapter folder.
            { group: ['../core/*', '!../core/adapter.ts'], message: 'An adapter imports the core through ../index.ts or ../core/adapter.ts only.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/koa/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['../stores/*', '../express/*', '../fastify/*', '../hono/*'], message: 'An adapter imports only the core.' },
            { group: ['../core/*', '!../core/adapter.ts'], message: 'An adapter imports the core through ../index.ts or ../core/adapter.ts only.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/stores/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: [...FRAMEWORKS, '../express/*'], message: 'A store implements the store contract; it imports no framework.' }] },
      ],
    },
  },
  {
    files: ['test/**', 'bench/**', 'scripts/**'],
    rules: {
      // node:test's describe/it return promises that the runner awaits itself.
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', name: ['describe', 'it', 'test', 'suite'], package: 'node:test' }] }],
    },
  },
);
