// Flat config: typescript-eslint's recommended rules, plus the workspace boundary rules:
// a service (collector, processor, reporter) imports only @confidant/shared; shared imports no workspace;
// admin and the tests may use a service, but only through its package entry points.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const SERVICES = ['collector', 'processor', 'reporter'];
const WORKSPACES = ['shared', ...SERVICES, 'admin', 'tests'];

const relativeIntoWorkspace = {
  regex: `^(\\.\\./)+(${WORKSPACES.join('|')})/src/`,
  message: 'Import other workspaces by package name (@confidant/<name>), not by relative path.',
};

/** `no-restricted-imports` for files of `owner`, which may import the workspaces in `allowed` (and itself). */
function boundary(owner, allowed, message) {
  const forbidden = WORKSPACES.filter((w) => w !== owner && !allowed.includes(w));
  const source = `^@confidant/(${forbidden.join('|')})(/|$)`;
  return {
    files: [`${owner}/**/*.ts`],
    rules: {
      // no-restricted-imports does not see `await import('…')`.
      'no-restricted-syntax': [
        'error',
        { selector: `ImportExpression[source.value=/${source.replaceAll('/', '\\/')}/]`, message },
      ],
      'no-restricted-imports': [
        'error',
        {
          patterns: [relativeIntoWorkspace, { regex: source, message }],
        },
      ],
    },
  };
}

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
      'no-restricted-imports': ['error', { patterns: [relativeIntoWorkspace] }],
    },
  },
  boundary('shared', [], 'shared holds the contracts and platform code: it imports no other workspace.'),
  ...SERVICES.map((service) =>
    boundary(service, ['shared'], 'A service never imports another service: share code through @confidant/shared.'),
  ),
  boundary('admin', ['shared', ...SERVICES], 'admin imports shared and the services, never the tests.'),
);
