import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules',
      '.serverless',
      '.esbuild',
      '.build',
      'coverage',
      '.sandbox',
      'test-output',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-console': ['error', { allow: ['error'] }],
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { module: 'writable', require: 'readonly' },
    },
    // Serverless Framework plugins are CommonJS modules.
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', performance: 'readonly' } },
  },
  {
    files: ['src/local/**', 'src/ops/**', 'test/**', 'bench/**'],
    rules: { 'no-console': 'off' },
  },
  {
    // The domain is pure: no SDK, no middleware, no network, nothing outside src/lib/domain
    // (test/unit/architecture.test.ts holds the same rule, `import()` included).
    files: ['src/lib/domain/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['aws-lambda', 'http', 'https', 'node:http', 'node:https'].map((name) => ({
            name,
            message:
              'src/lib/domain is pure: the edge and the network live in http/ and adapters/.',
          })),
          patterns: [
            {
              group: ['@aws-sdk/*', '@smithy/*', '@middy/*', '@aws-lambda-powertools/*'],
              message: 'src/lib/domain imports no SDK: put the call in src/lib/adapters/.',
            },
            {
              regex: '^\\.\\./',
              message: 'src/lib/domain imports nothing outside it.',
            },
          ],
        },
      ],
    },
  },
  {
    // The use cases see the world through their ports (src/lib/app/ports): the domain, other use
    // cases, the ports, one Logger (src/lib/adapters/logger.ts, the one cross-cutting module) and
    // the Config type. test/unit/architecture.test.ts holds the same rules, `import()` included.
    files: ['src/lib/app/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: ['aws-lambda', 'http', 'https', 'node:http', 'node:https'].map((name) => ({
            name,
            message: 'src/lib/app reaches the world through a port (src/lib/app/ports).',
          })),
          patterns: [
            {
              group: ['@aws-sdk/*', '@smithy/*', '@middy/*', '@aws-lambda-powertools/*'],
              message: 'src/lib/app imports no SDK: name a port, and implement it in adapters/.',
            },
            {
              regex: '^\\.\\./adapters/(?!logger\\.ts$)',
              message:
                'src/lib/app imports no adapter (the Logger only): name a port; the wiring (src/lib/wiring) fills it.',
            },
            {
              regex: '^\\.\\./(wiring|http)/|^\\.\\./\\.\\./',
              message: 'src/lib/app imports the domain, its ports and other use cases only.',
            },
            {
              regex: '^\\.\\./config\\.ts$',
              allowTypeImports: true,
              message: 'src/lib/app takes its Config as an argument: import its type only.',
            },
          ],
        },
      ],
    },
  },
  {
    // A port is an interface in domain words: it imports the domain and other ports only.
    files: ['src/lib/app/ports/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!\\./|\\.\\./\\.\\./domain/)',
              message: 'a port names domain types only (src/lib/domain).',
            },
          ],
        },
      ],
    },
  },
);
