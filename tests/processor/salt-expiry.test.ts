// Salts must not outlive their period (plus the grace) when no collector runs: the processor drops them too.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sqlv, storedSaltPeriods, type ControlDb, type Db } from '@confidant/shared';
import type { RunningProcessor } from '@confidant/processor';
import { processorEnv, startInProcess } from '../support/processor-harness.ts';
import { eventually, prepareNamespace } from '../support/stack.ts';
import { isolatedConfig } from '../support/test-env.ts';

const config = isolatedConfig('saltexpiry');
let db: Db;
let control: ControlDb;
let cleanup: () => Promise<void>;
let processor: RunningProcessor | null = null;

const today = new Date();
const pad = (n: number) => String(n).padStart(2, '0');
const live = `d${today.getUTCFullYear()}${pad(today.getUTCMonth() + 1)}${pad(today.getUTCDate())}`;

beforeAll(async () => {
  ({ db, control, cleanup } = await prepareNamespace(config));
  for (const period of ['d20200101', 'm202001', live]) {
    const table = sqlv.ident(`collector_salt_${period}`);
    await db.command(`CREATE TABLE ${table} (salt String, created_at UInt64) ENGINE = Memory`);
    await db.insert(`collector_salt_${period}`, [{ salt: 'ab'.repeat(32), created_at: Date.now() }]);
  }
});

afterAll(async () => {
  await processor?.stop();
  await cleanup?.();
});

it('a processor alone drops the salts past their period and keeps the live one', async () => {
  expect(await storedSaltPeriods(db)).toEqual(['d20200101', live, 'm202001'].sort());
  processor = await startInProcess(processorEnv(config), db, control);
  const left = await eventually(
    () => storedSaltPeriods(db),
    (periods) => periods.length === 1,
    30_000,
    'expired salts dropped',
  );
  expect(left).toEqual([live]);
});
