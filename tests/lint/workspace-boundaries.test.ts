// The workspace boundaries of docs/architecture.md, as the project's ESLint config enforces them.
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const eslint = new ESLint({ cwd: ROOT });

/** The boundary errors ESLint reports for `code` written at `file` (a path from the repository root). */
async function boundaryErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${ROOT}/${file}` });
  return result!.messages
    .filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-syntax')
    .map((m) => m.message);
}

const services = ['collector', 'processor', 'reporter'];

describe('a service never imports another service', () => {
  for (const service of services) {
    for (const other of services.filter((s) => s !== service)) {
      it(`${service} → ${other} is rejected, in every form of import`, async () => {
        const file = `${service}/src/some-module.ts`;
        const forms = [
          `import { x } from '@confidant/${other}';`,
          `import { x } from '@confidant/${other}/some/deep-module';`,
          `import type { X } from '@confidant/${other}';`,
          `export { x } from '@confidant/${other}';`,
          `export const load = () => import('@confidant/${other}/app');`,
          `import { x } from '../../${other}/src/app.ts';`,
        ];
        for (const code of forms) expect(await boundaryErrors(file, code), code).toHaveLength(1);
      });
    }
    it(`${service} may import @confidant/shared and its own files`, async () => {
      const code = `import { x } from '@confidant/shared';\nimport { y } from '@confidant/shared/testing';\nimport { z } from './own.ts';\nimport { w } from '../admin/own-folder.ts';`;
      expect(await boundaryErrors(`${service}/src/routes/some-module.ts`, code)).toEqual([]);
    });
  }

  it('shared imports no workspace', async () => {
    for (const other of [...services, 'admin', 'tests'])
      expect(
        await boundaryErrors('shared/src/some-module.ts', `import { x } from '@confidant/${other}';`),
      ).toHaveLength(1);
  });

  it('admin and the tests may use the services; admin never uses the tests', async () => {
    for (const service of services) {
      expect(await boundaryErrors('admin/src/some.command.ts', `import { x } from '@confidant/${service}';`)).toEqual(
        [],
      );
      expect(await boundaryErrors('tests/some/some.test.ts', `import { x } from '@confidant/${service}';`)).toEqual([]);
    }
    expect(await boundaryErrors('admin/src/some.command.ts', `import { x } from '@confidant/tests';`)).toHaveLength(1);
  });
});
