import { afterEach, describe, expect, it } from 'vitest';
import { migrateStores, sqlv, TABLES, type CommonConfig, type Db } from '@confidant/shared';
import { dropTestControlDatabase } from '../support/control-db.ts';
import { databaseBefore } from '../support/migrations-before.ts';
import { isolatedConfig } from '../support/test-env.ts';

/**
 * Migration 0026 copies the old rollups once, guarded by "the new table is still empty": what that
 * guard does when the migration runs twice at once (every reporter start and admin command migrates),
 * and when something writes the new tables before the copy (a new processor started while the
 * migration was under way or had failed half way).
 */
const iso = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups) await cleanup();
  cleanups = [];
});

/** A database at the schema before 0026 with 100 days of old rollups (3 page views each). */
async function beforeVisitorStates(label: string): Promise<{ config: CommonConfig; db: Db }> {
  const config = isolatedConfig(label);
  const { db, remove } = await databaseBefore(config, '0026');
  cleanups.push(async () => {
    await remove();
    await dropTestControlDatabase(config.controlPlane);
  });
  const rows = Array.from(
    { length: 100 },
    (_, i) =>
      `('daily', 'p1', ${sqlv.date(iso(40 + i))}, 0, 'snippet', 'total', '', 3, 1, 0, 5, 0, [${i + 1}], '', '', 0, 0, '', '', 0, 0)`,
  );
  await db.command(
    `INSERT INTO rollup_ingest_v2 (kind, practice_id, day, hour, source, dim, value, pageviews, visits, bounces, engaged_ms, events, visitor_hashes, consumer_group, topic, partition, next_offset, batch_id, import_key, word, bits) VALUES ${rows.join(', ')}`,
  );
  return { config, db };
}

const pageviews = async (db: Db) =>
  Number(
    (await db.rows<{ pv: string }>(`SELECT toString(sumMerge(pageviews)) AS pv FROM ${TABLES.rollupDaily}`))[0]!.pv,
  );

describe('migration 0026 copying the old rollups', () => {
  it('copies them once when two services migrate at the same time', async () => {
    const { config, db } = await beforeVisitorStates('mig0026race');
    await Promise.all([migrateStores(config), migrateStores(config)]);
    expect(await pageviews(db)).toBe(300);
  });

  // 0026 creates rollup_ingest_v3 and its views before it copies, and skips the copy when the new
  // tables already have a row: a processor quicker than the migration would lose every earlier count.
  // Processors therefore wait for the schema of their release (tests/processor/schema-wait.test.ts).
});
