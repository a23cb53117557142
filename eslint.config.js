import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules', '.serverless', '.esbuild', '.build', 'coverage', '.sandbox'] },
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
);
