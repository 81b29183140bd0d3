import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectClickHouse,
  INGEST_TABLE,
  migrate,
  ROLLUP_TABLES,
  rollupTableColumns,
  sqlv,
  type Db,
} from '@confidant/shared';
import { isolatedConfig } from '../support/test-env.ts';

/**
 * The rollup schema module (shared/src/contracts/rollup-schema.ts) is what the processor writes by and
 * the reporter reads by; the migrations are what the database holds. They must say the same.
 */
describe('rollup schema module vs the migrated database', () => {
  const config = isolatedConfig('rollupschema');
  let db: Db;
  beforeAll(async () => {
    await migrate(config.clickhouse);
    db = connectClickHouse(config.clickhouse);
  });
  afterAll(async () => {
    await db?.close();
    const server = connectClickHouse(config.clickhouse, { database: null });
    await server.command(`DROP DATABASE IF EXISTS ${sqlv.ident(config.clickhouse.database)}`);
    await server.close();
  });

  // In table order: 18.16 has no `position` column to sort by, and lists a table's columns as declared.
  const columns = (table: string) =>
    db.rows<{ name: string; type: string; is_in_sorting_key: number }>(
      `SELECT name, type, is_in_sorting_key FROM system.columns WHERE database = currentDatabase() AND table = ${sqlv.str(table)}`,
    );

  it.each(Object.values(ROLLUP_TABLES))('$name has the columns and types of the schema, in order', async (table) => {
    const actual = await columns(table.name);
    expect(actual.map(({ name, type }) => ({ name, type }))).toEqual(rollupTableColumns(table));
  });

  // `states` and `written_hour` are not sorted by: they pick the row's partition, so counts and states never merge.
  it.each(Object.values(ROLLUP_TABLES))(
    '$name is sorted by exactly its key columns but the partition ones',
    async (table) => {
      const sorting = (await columns(table.name)).filter((c) => Number(c.is_in_sorting_key) === 1).map((c) => c.name);
      expect(sorting.sort()).toEqual(
        table.keyColumns
          .map((c) => c.name)
          .filter((c) => c !== 'states' && c !== 'written_hour')
          .sort(),
      );
    },
  );

  it.each(Object.values(ROLLUP_TABLES))('$name is sorted in the order of the schema', async (table) => {
    const [row] = await db.rows<{ sorting_key: string }>(
      `SELECT sorting_key FROM system.tables WHERE database = currentDatabase() AND name = ${sqlv.str(table.name)}`,
    );
    expect(row?.sorting_key.split(',').map((c) => c.trim())).toEqual(table.sortedBy);
  });

  it(`${INGEST_TABLE.name}, the processor's entry point, has the columns and types of the schema, in order`, async () => {
    const actual = await columns(INGEST_TABLE.name);
    expect(actual.map(({ name, type }) => ({ name, type }))).toEqual(INGEST_TABLE.columns);
  });
});
