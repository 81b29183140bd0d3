// Upgrading from salts in the main database: the migration moves them, so today's visitor keys stay stable.
import { ClickHouseSaltStore } from '@confidant/collector/components';
import { migrateStores, storedSaltPeriods, type Db } from '@confidant/shared';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { prepareNamespace } from '../support/stack.ts';
import { isolatedConfig } from '../support/test-env.ts';

const config = isolatedConfig('saltmove');
const DAY = Date.UTC(2025, 2, 10, 15);
let main: Db;
let salts: Db;
let cleanup: () => Promise<void>;

const plant = async (db: Db, period: string, salt: string, createdAt: number) => {
  await db.command(
    `CREATE TABLE IF NOT EXISTS collector_salt_${period} (salt String, created_at UInt64) ENGINE = Memory`,
  );
  await db.insert(`collector_salt_${period}`, [{ salt, created_at: createdAt }]);
};

beforeAll(async () => {
  ({ db: main, salts, cleanup } = await prepareNamespace(config));
});
afterAll(() => cleanup());

it('moves every salt table out of the main database, keeping each salt, and converges on the earliest', async () => {
  // As a collector of the old version left them: today's and the month's salts in the main database.
  await plant(main, 'd20250310', 'aa'.repeat(32), 1);
  await plant(main, 'm202503', 'bb'.repeat(32), 5);
  // A collector of the new version already drew a later salt for the month in the salt database.
  await plant(salts, 'm202503', 'cc'.repeat(32), 9);

  const { saltTablesMoved } = await migrateStores(config);
  expect(saltTablesMoved).toEqual(['collector_salt_d20250310', 'collector_salt_m202503']);
  expect(await storedSaltPeriods(main)).toEqual([]);
  expect(
    await main.rows(`SELECT name FROM system.tables WHERE database = currentDatabase() AND name LIKE '%salt%'`),
  ).toEqual([]);
  expect(await storedSaltPeriods(salts)).toEqual(['d20250310', 'm202503']);
  const engines = await salts.rows<{ engine: string }>(
    'SELECT engine FROM system.tables WHERE database = currentDatabase()',
  );
  expect(engines.map((e) => e.engine)).toEqual(['Memory', 'Memory']);

  // The keys stay as they were: the day's salt is the old one, and the month converges on the earliest.
  const store = new ClickHouseSaltStore(salts, () => DAY);
  expect((await store.saltFor('daily', DAY)).toString('hex')).toBe('aa'.repeat(32));
  expect((await store.saltFor('monthly', DAY)).toString('hex')).toBe('bb'.repeat(32));

  // Idempotent: nothing left to move.
  expect((await migrateStores(config)).saltTablesMoved).toEqual([]);
  expect(await storedSaltPeriods(salts)).toEqual(['d20250310', 'm202503']);
});
