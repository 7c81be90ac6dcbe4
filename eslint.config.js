// ESLint with typescript-eslint's type-checked rules; formatting is Prettier's (npm run lint runs both).
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, as in the Temporal samples.
const NODE_BUILTINS = builtinModules.flatMap((name) => [name, `node:${name}`]);
// Code outside the sandbox reads Temporal's names from src/workflows/names.ts: importing a workflow body pulls in the sandbox's code.
const WORKFLOW_BODY = {
  group: ['**/workflows/*', '!**/workflows/names.js'],
  message: 'Outside the sandbox, import workflow names from src/workflows/names.ts, never a workflow body.',
};

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.tools/', '.data/', 'bench-results/', 'test/fixtures/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'scripts/*.mjs', 'src/codec/*.cjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Forgetting to await an activity or a workflow API is a bug, as the Temporal samples say.
      '@typescript-eslint/no-floating-promises': 'error',
      'object-shorthand': ['error', 'always'],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Activities, Fastify plugins and payload codecs are async by contract, with or without an await.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Tests read untyped JSON answers and stub activities with async functions that need no await.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', exports: 'writable' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { globals: { console: 'readonly', process: 'readonly' } },
  },
  // Imports point down: domain <- workflows <- the processes (api, worker, codec). `npm run lint` fails on an arrow up.
  {
    files: ['src/domain/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['../*'], message: 'src/domain imports nothing of ours outside src/domain: every other folder builds on it.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: NODE_BUILTINS.map((name) => ({
            name,
            message: "Workflow code runs in Temporal's deterministic sandbox: no Node built-ins.",
          })),
          patterns: [
            {
              group: ['../*', '!../domain', '!../activities'],
              message: 'Workflows import src/domain, and activity types only: the rest runs outside the sandbox.',
            },
            {
              group: ['../activities/*'],
              allowTypeImports: true,
              message: 'Workflows call activities through proxies: import their types only.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/codec/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [{ group: ['**/api/*'], message: 'The codec server does not build on the API: shared HTTP pieces live in src/http.' }],
        },
      ],
    },
  },
  {
    files: ['src/config/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/activities/*'], message: 'Configuration is read before anything is built: it does not import activities.' },
            WORKFLOW_BODY,
          ],
        },
      ],
    },
  },
  {
    files: ['src/api/**/*.ts', 'src/worker/**/*.ts', 'src/worker.ts', 'dev/**/*.ts', 'faults/**/*.ts', 'scripts/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [WORKFLOW_BODY] }] },
  },
  {
    files: ['src/activities/**/*.ts', 'src/telemetry/**/*.ts', 'src/http/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            WORKFLOW_BODY,
            {
              group: ['../api/*', '../codec/*', '../worker/*', '../worker.js'],
              message:
                'src/activities, src/telemetry and src/http sit below the processes: they do not import src/api, src/codec or src/worker.',
            },
          ],
        },
      ],
    },
  },
  {
    // The baseline workflows proxy their activities with the order workflow's options, so the comparison is like for like.
    files: ['bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ ...WORKFLOW_BODY, group: [...WORKFLOW_BODY.group, '!**/workflows/activity-options.js'] }] },
      ],
    },
  },
);
