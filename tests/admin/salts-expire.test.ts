// Salts must not outlive their period (plus the grace) when no collector runs: `confidant salts expire`,
// run as the salts user beside the services (the processor has no access to salts any more), drops them.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { storedSaltPeriods, type Db } from '@confidant/shared';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { namespaceEnv } from '../support/service-process.ts';
import { eventually, prepareNamespace } from '../support/stack.ts';
import { isolatedConfig } from '../support/test-env.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const config = isolatedConfig('saltexpiry');
const env = { PATH: process.env.PATH, ...namespaceEnv(config) };
const cli = ['--import', 'tsx', 'admin/src/confidant.ts', 'salts', 'expire'];
let salts: Db;
let cleanup: () => Promise<void>;

const today = new Date();
const pad = (n: number) => String(n).padStart(2, '0');
const live = `d${today.getUTCFullYear()}${pad(today.getUTCMonth() + 1)}${pad(today.getUTCDate())}`;
const plant = async (period: string) => {
  await salts.command(`CREATE TABLE collector_salt_${period} (salt String, created_at UInt64) ENGINE = Memory`);
  await salts.insert(`collector_salt_${period}`, [{ salt: 'ab'.repeat(32), created_at: Date.now() }]);
};

beforeAll(async () => {
  ({ salts, cleanup } = await prepareNamespace(config));
  for (const period of ['d20200101', 'm202001', live]) await plant(period);
});

afterAll(() => cleanup?.());

it('drops the salts past their period and keeps the live one, with no collector running', async () => {
  expect(await storedSaltPeriods(salts)).toEqual(['d20200101', live, 'm202001'].sort());
  const run = spawnSync(process.execPath, cli, { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
  expect(run.status, run.stderr).toBe(0);
  expect(JSON.parse(run.stdout)).toMatchObject({ dropped: ['d20200101', 'm202001'], kept: [live] });
  expect(await storedSaltPeriods(salts)).toEqual([live]);
});

it('with --every keeps running until SIGTERM, dropping what expires meanwhile', async () => {
  const job = spawn(process.execPath, [...cli, '--every', '1s'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  job.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => job.on('exit', (code) => resolve(code)));
  try {
    // Planted after the job started: a later run drops it.
    await eventually(async () => job.stdout.readableLength > 0 || job.exitCode !== null, Boolean, 30_000, 'first run');
    await plant('d20200102');
    expect(
      await eventually(
        () => storedSaltPeriods(salts),
        (p) => !p.includes('d20200102'),
        30_000,
        'expired salt dropped',
      ),
    ).toEqual([live]);
  } finally {
    job.kill('SIGTERM');
  }
  expect(await exited, stderr).toBe(0);
});
