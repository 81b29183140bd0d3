import { afterEach, describe, expect, it } from 'vitest';
import { migrate, type Db } from '@confidant/shared';
import { databaseBefore } from '../support/migrations-before.ts';
import { isolatedConfig } from '../support/test-env.ts';

/**
 * Migration 0034 drops rollup_daily_v3, which 0030 emptied, and refuses while it still holds rows
 * (0030 not finished as recorded), so no figure is dropped with it.
 */
const OLD_DAILY = 'rollup_daily_v3';
let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups) await cleanup();
  cleanups = [];
});

async function migratedTo0033(label: string) {
  const config = isolatedConfig(label);
  const { db, remove } = await databaseBefore(config, '0034');
  cleanups.push(remove);
  return { config, db };
}

const tableNames = async (db: Db) =>
  (await db.rows<{ name: string }>('SELECT name FROM system.tables WHERE database = currentDatabase()')).map(
    (r) => r.name,
  );

describe('migration 0034', () => {
  it('drops the emptied table, and running it again changes nothing', async () => {
    const { config, db } = await migratedTo0033('mig0034');
    expect(await tableNames(db)).toContain(OLD_DAILY);
    expect((await migrate(config.clickhouse)).applied).toEqual(['0034-emptied-daily-rollups-dropped']);
    expect(await tableNames(db)).not.toContain(OLD_DAILY);
    expect((await migrate(config.clickhouse)).applied).toEqual([]);
  });

  it('refuses while the old table holds rows, and keeps them', async () => {
    const { config, db } = await migratedTo0033('mig0034rows');
    await db.command(
      `INSERT INTO ${OLD_DAILY} (practice_id, day, source, dim, value, states, written_hour, pageviews)
       SELECT 'p1', toDate('2026-11-02'), 'snippet', 'total', '', 0, 0, sumState(toInt64(7))`,
    );
    await expect(migrate(config.clickhouse)).rejects.toThrow(/throwIf|non zero|non-zero/);
    const [kept] = await db.rows<{ pv: string }>(
      `SELECT toString(sumMerge(pageviews)) AS pv FROM ${OLD_DAILY} WHERE practice_id = 'p1'`,
    );
    expect(kept!.pv).toBe('7');

    await db.command(`TRUNCATE TABLE ${OLD_DAILY}`);
    expect((await migrate(config.clickhouse)).applied).toEqual(['0034-emptied-daily-rollups-dropped']);
    expect(await tableNames(db)).not.toContain(OLD_DAILY);
  });
});
