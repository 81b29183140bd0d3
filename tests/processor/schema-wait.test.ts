import { afterAll, beforeAll, expect, it } from 'vitest';
import { migrate, pendingMigrations, TABLES, type ControlDb, type Db } from '@confidant/shared';
import type { RunningProcessor } from '@confidant/processor';
import { isolatedConfig } from '../support/test-env.ts';
import { eventually, prepareNamespace } from '../support/stack.ts';
import { processorEnv, startInProcess } from '../support/processor-harness.ts';

/**
 * A processor does not write before the schema is migrated: migration 0026 copies the old rollups
 * only into tables nothing has written to yet, so a processor quicker than the migration would lose
 * every count from before it. It waits for the migrations of its release, then starts.
 */
const config = isolatedConfig('schemawait');
let db: Db;
let control: ControlDb;
let cleanup: () => Promise<void>;
let processor: RunningProcessor | null = null;

beforeAll(async () => {
  ({ db, control, cleanup } = await prepareNamespace(config));
  // As if the last migration had not run yet: its ledger row goes (a mutation, applied asynchronously).
  await db.command(`ALTER TABLE ${TABLES.migrations} DELETE WHERE version = 28`);
  await eventually(
    () => pendingMigrations(db),
    (p) => p.length === 1,
    20_000,
    'the ledger row removed',
  );
});
afterAll(async () => {
  await processor?.stop();
  await cleanup?.();
});

it('waits for the schema of its release before it starts, and starts once it is migrated', async () => {
  let started = false;
  const starting = startInProcess(processorEnv(config), db, control).then((p) => {
    started = true;
    processor = p;
  });
  await new Promise((r) => setTimeout(r, 4_000));
  expect(started).toBe(false);
  await migrate(config.clickhouse);
  await starting;
  expect(started).toBe(true);
  expect(await pendingMigrations(db)).toEqual([]);
});
