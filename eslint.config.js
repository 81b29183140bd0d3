// Flat config: typescript-eslint's recommended rules, plus the workspace boundary rule.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const WORKSPACES = ['shared', 'collector', 'processor', 'reporter', 'admin', 'tests'];

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '.data/**', 'test-output/**', '**/*.min.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      // Workspaces talk through their package names; a relative path into another workspace is a hidden coupling.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^(\\.\\./)+(${WORKSPACES.join('|')})/`,
              message: 'Import other workspaces by package name (@confidant/<name>), not by relative path.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['shared/**/*.ts'],
    rules: {
      // shared holds the contracts and must not depend on any service.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@confidant/*', '!@confidant/shared'], message: 'shared imports nothing from other workspaces.' },
            {
              regex: '^(\\.\\./)+(collector|processor|reporter|tests)/',
              message: 'shared imports nothing from other workspaces.',
            },
          ],
        },
      ],
    },
  },
);
