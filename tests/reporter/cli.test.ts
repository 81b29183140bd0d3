import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { bearer, startReporter, type ReporterHarness } from '../support/reporter-fixture.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
let h: ReporterHarness;

async function confidant(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      join(ROOT, 'node_modules/.bin/tsx'),
      ['reporter/src/cli/confidant.ts', ...args],
      {
        cwd: ROOT,
        env: { ...process.env, CLICKHOUSE_DATABASE: h.config.clickhouse.database, LOG_LEVEL: 'silent' },
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  h = await startReporter('cli');
});
afterAll(async () => h?.cleanup());

describe('confidant CLI', () => {
  test('onboard a practice from the shell and read its report with the key it printed', async () => {
    const add = await confidant(
      'practice',
      'add',
      '--id',
      'shell-clinic',
      '--name',
      'Shell Clinic',
      '--domain',
      'shell.example',
      '--timezone',
      'Europe/Vienna',
      '--share-with-partners',
    );
    expect(add.code, add.stderr).toBe(0);
    expect(JSON.parse(add.stdout)).toMatchObject({
      id: 'shell-clinic',
      shareWithPartners: true,
      timezone: 'Europe/Vienna',
    });

    const update = await confidant(
      'practice',
      'update',
      'shell-clinic',
      '--cookie-mode',
      'on',
      '--exit-allow',
      'maps.example',
    );
    expect(update.code, update.stderr).toBe(0);
    const list = JSON.parse((await confidant('practice', 'list')).stdout);
    expect(list).toEqual([
      expect.objectContaining({ id: 'shell-clinic', cookieMode: true, exitAllowlist: ['maps.example'] }),
    ]);

    const created = await confidant(
      'key',
      'create',
      '--role',
      'practice',
      '--scope',
      'shell-clinic',
      '--label',
      'manager',
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toMatch(/shown only once/);
    const { key, keyId } = JSON.parse(created.stdout);
    const url = '/v1/practices/shell-clinic/reports/monthly?month=2024-03';
    expect((await h.app.inject({ url, headers: bearer(key) })).statusCode).toBe(200);

    expect((await confidant('key', 'revoke', keyId)).code).toBe(0);
    expect((await h.app.inject({ url, headers: bearer(key) })).statusCode).toBe(401);
  });

  test('report to a file, partner add, and clear errors for bad input', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'confidant-cli-'));
    const out = join(dir, 'report.html');
    const report = await confidant(
      'report',
      '--practice',
      'shell-clinic',
      '--month',
      '2024-03',
      '--format',
      'html',
      '--out',
      out,
    );
    expect(report.code, report.stderr).toBe(0);
    expect(await readFile(out, 'utf8')).toContain('Shell Clinic: website report for 2024-03');

    expect((await confidant('partner', 'add', '--id', 'uni', '--name', 'University')).code).toBe(0);
    const tooFew = await confidant('export', '--partner', 'uni', '--month', '2024-03');
    expect(tooFew.code).toBe(1);
    expect(tooFew.stderr).toMatch(/fewer than 3 practices share/);

    const badMonth = await confidant('report', '--practice', 'shell-clinic', '--month', '2024-3');
    expect(badMonth.code).toBe(1);
    expect(badMonth.stderr).toMatch(/YYYY-MM/);
    const badTz = await confidant(
      'practice',
      'add',
      '--id',
      'x1',
      '--name',
      'X',
      '--domain',
      'x.example',
      '--timezone',
      'Nowhere/City',
    );
    expect(badTz.code).toBe(1);
    expect(badTz.stderr).toMatch(/timezone/);
    const noScope = await confidant('key', 'create', '--role', 'partner');
    expect(noScope.code).toBe(1);
    expect(noScope.stderr).toMatch(/scopeId/);
  });
});
