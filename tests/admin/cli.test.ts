import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sqlv, TABLES } from '@confidant/shared';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { bearer, startReporter, type ReporterHarness } from '../support/reporter-fixture.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
let h: ReporterHarness;

type Run = { code: number; stdout: string; stderr: string };

const confidant = (...args: string[]): Promise<Run> => confidantWith({}, ...args);

async function confidantWith(env: Record<string, string>, ...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      join(ROOT, 'node_modules/.bin/tsx'),
      ['admin/src/confidant.ts', ...args],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          CLICKHOUSE_DATABASE: h.config.clickhouse.database,
          POSTGRES_URL: h.config.controlPlane.url,
          LOG_LEVEL: 'silent',
          ...env,
        },
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
      '--events',
      '[{"name":"Booking: started","props":{"plan":["basic"]}}]',
      '--path-templates',
      '[{"pattern":"/providers/*","path":"/providers/:slug"}]',
    );
    expect(update.code, update.stderr).toBe(0);
    const list = JSON.parse((await confidant('practice', 'list')).stdout);
    expect(list).toEqual([
      expect.objectContaining({
        id: 'shell-clinic',
        cookieMode: true,
        exitAllowlist: ['maps.example'],
        events: [{ name: 'Booking: started', props: { plan: ['basic'] } }],
        pathTemplates: [{ pattern: '/providers/*', path: '/providers/:slug' }],
      }),
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

    const ingestKey = await confidant('logs', 'key', 'create', '--practice', 'shell-clinic');
    expect(ingestKey.code, ingestKey.stderr).toBe(0);
    expect(ingestKey.stderr).toMatch(/shown once/);
    expect(ingestKey.stdout).toMatch(/^cfi_[A-Za-z0-9_-]{43}\n$/);
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
    expect(badMonth.code).toBe(2);
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
    expect(badTz.code).toBe(2);
    expect(badTz.stderr).toMatch(/timezone/);
    const noScope = await confidant('key', 'create', '--role', 'partner');
    expect(noScope.code).toBe(2);
    expect(noScope.stderr).toMatch(/scopeId/);
    const exists = await confidant('partner', 'add', '--id', 'uni', '--name', 'University again');
    expect(exists.code).toBe(1);
    expect(exists.stderr).toMatch(/partner uni exists/);

    const noPractice = await confidant('report', '--practice', 'no-such-clinic', '--month', '2024-03');
    expect(noPractice.code).toBe(3);
    expect(noPractice.stderr).toBe('confidant: no practice no-such-clinic\n');
    const noKey = await confidant('key', 'revoke', '0123456789abcdef');
    expect(noKey.code).toBe(3);
    const noIngestPractice = await confidant('logs', 'key', 'create', '--practice', 'no-such-clinic');
    expect(noIngestPractice.code).toBe(3);
    expect(noIngestPractice.stderr).toMatch(/no practice no-such-clinic/);
  });

  test('goals: add of each kind, list, update, remove, and clear errors', async () => {
    const add = (...args: string[]) => confidant('goals', 'add', 'shell-clinic', ...args);
    const booked = await add('booking', '--name', 'Booking pages', '--page', '/book-online/**');
    expect(booked.code, booked.stderr).toBe(0);
    expect(JSON.parse(booked.stdout)).toEqual({
      id: 'booking',
      name: 'Booking pages',
      kind: 'page',
      pattern: '/book-online/**',
    });
    expect((await add('portal', '--page-class', 'patient-portal')).code).toBe(0);
    const list = await confidant('goals', 'list', 'shell-clinic');
    expect(JSON.parse(list.stdout).map((g: { id: string }) => g.id)).toEqual(['booking', 'portal']);
    const updated = await confidant('goals', 'update', 'shell-clinic', 'portal', '--page-class', 'forms');
    expect(JSON.parse(updated.stdout)).toMatchObject({ id: 'portal', kind: 'page-class', pageClass: 'forms' });

    const undeclared = await add('call', '--event', 'Call', '--prop', 'kind=tel');
    expect(undeclared.code).toBe(2);
    expect(undeclared.stderr).toMatch(/event Call is not declared/);
    const twoKinds = await add('x', '--page', '/a', '--event', 'Call');
    expect(twoKinds.code).toBe(2);
    expect(twoKinds.stderr).toMatch(/exactly one of --page, --page-class and --event/);
    const badPattern = await add('x', '--page', 'no-slash');
    expect(badPattern.code).toBe(2);
    expect(badPattern.stderr).toMatch(/must start with \//);
    const again = await add('booking', '--page', '/b');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/has a goal booking/);
    expect((await confidant('goals', 'list', 'no-such-clinic')).code).toBe(3);

    expect((await confidant('goals', 'remove', 'shell-clinic', 'portal')).code).toBe(0);
    expect((await confidant('goals', 'remove', 'shell-clinic', 'portal')).code).toBe(3);
  });

  test('retention drops the month partitions older than RETENTION_MONTHS, and only those', async () => {
    const month = (monthsAgo: number): string => {
      const d = new Date();
      return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - monthsAgo, 15)).toISOString().slice(0, 10);
    };
    const practice = sqlv.str('retention-clinic');
    for (const day of [month(0), month(2), month(3)])
      await h.db.command(
        `INSERT INTO ${TABLES.rollupDaily} (practice_id, day, source, dim, value) VALUES (${practice}, ${sqlv.str(day)}, ${sqlv.str('snippet')}, ${sqlv.str('total')}, ${sqlv.str('')})`,
      );
    const days = async () =>
      (
        await h.db.rows<{ day: string }>(
          `SELECT toString(day) AS day FROM ${TABLES.rollupDaily} WHERE practice_id = ${practice} ORDER BY day`,
        )
      ).map((r) => r.day);
    const run = await confidantWith({ RETENTION_MONTHS: '3' }, 'retention');
    expect(run.code, run.stderr).toBe(0);
    const oldest = Number(month(3).slice(0, 7).replace('-', ''));
    expect(JSON.parse(run.stdout)).toEqual({
      retentionMonths: 3,
      dropped: expect.arrayContaining([{ table: TABLES.rollupDaily, partition: oldest }]),
    });
    expect(await days()).toEqual([month(2), month(0)]);
  });
});
