import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { migrate, readMigrations, sqlv, TABLES, type CommonConfig, type Db } from '@confidant/shared';
import { sealClosedVisitorStates } from '@confidant/processor';
import { databaseBefore, migrationsBefore } from '../support/migrations-before.ts';
import { isolatedConfig } from '../support/test-env.ts';

/**
 * Migration 0030 from the schema before it, with data in it: rollup_daily_v3's rows, open visitor
 * states included, move to rollup_daily_v4 (sorted by dimension before day) with every figure the
 * same, the views write the new table, the old one is left empty, and running the migration again
 * changes nothing. A copy that stopped part way fails the migration instead of passing for a whole one.
 */
const MIGRATION = '0030-daily-rollups-by-dimension';
const OLD_DAILY = 'rollup_daily_v3';
const INGEST_COLUMNS =
  'kind, practice_id, day, hour, source, dim, value, states, written_hour, pageviews, visits, bounces, engaged_ms, events, visitor_hashes, visitor_count';
const iso = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
const CLOSED = [iso(40), iso(39)];
const OPEN = iso(1);

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups) await cleanup();
  cleanups = [];
});

/**
 * A database migrated up to 0029, with rows written as the processor and the sealer write them, and
 * `migrateTo0033`, which applies 0030 to 0033 (0034 drops the table 0030 empties).
 */
async function beforeMigration(
  label: string,
): Promise<{ config: CommonConfig; db: Db; migrateTo0033: () => Promise<{ applied: string[] }> }> {
  const config = isolatedConfig(label);
  const { db, remove } = await databaseBefore(config, '0030');
  const through0033 = await migrationsBefore('0034');
  cleanups.push(async () => {
    await remove();
    await rm(through0033, { recursive: true, force: true });
  });
  const row = (
    kind: 'daily' | 'hourly',
    p: string,
    day: string,
    dim: string,
    value: string,
    states: number,
    pv: number,
    visitors: number[] | number,
  ) =>
    `(${sqlv.str(kind)}, ${sqlv.str(p)}, ${sqlv.date(day)}, ${kind === 'hourly' ? 9 : 0}, 'snippet', ${sqlv.str(dim)}, ${sqlv.str(value)}, ${sqlv.int(states)}, 0, ${sqlv.int(pv)}, 1, 0, 7, 2,` +
    ` [${typeof visitors === 'number' ? '' : visitors.map((v) => sqlv.int(v)).join(',')}], ${sqlv.int(typeof visitors === 'number' ? visitors : 0)})`;
  const insert = (rows: string[]) =>
    db.command(`INSERT INTO ${TABLES.rollupIngest} (${INGEST_COLUMNS}) VALUES ${rows.join(', ')}`);
  // Closed days as sealed counts, for two practices and many dimensions.
  for (const [i, day] of CLOSED.entries())
    await insert(
      ['p1', 'p2'].flatMap((p) => [
        row('daily', p, day, 'total', '', 0, 10 + i, 4),
        row('daily', p, day, 'page', '/a', 0, 6, 3),
        row('daily', p, day, 'page', '/b', 0, 4 + i, 2),
        row('daily', p, day, 'country', 'US', 0, 9, 4),
        row('daily', p, day, 'referrer', 'search.example', 0, 0, 3),
        row('hourly', p, day, '', '', 0, 10 + i, 4),
      ]),
    );
  // The last day's open states (daily salt), free-text rows with their counts beside their states.
  await insert([
    row('daily', 'p1', OPEN, 'total', '', 0, 5, 0),
    row('daily', 'p1', OPEN, 'total', '', 1, 0, [11, 12, 13]),
    row('daily', 'p1', OPEN, 'page', '/a', 0, 5, 0),
    row('daily', 'p1', OPEN, 'page', '/a', 1, 0, [11, 12]),
    row('daily', 'p1', OPEN, 'referrer', 'rare.example', 1, 0, [13]),
    row('hourly', 'p1', OPEN, '', '', 0, 5, 0),
    row('hourly', 'p1', OPEN, '', '', 1, 0, [11, 12, 13]),
  ]);
  // A second part for one key: the copy must keep both.
  await insert([row('daily', 'p1', CLOSED[0]!, 'page', '/a', 0, 1, 1)]);
  return { config, db, migrateTo0033: () => migrate(config.clickhouse, through0033) };
}

/** Every figure per row identity and partition of a daily table. */
const figures = (db: Db, table: string) =>
  db.rows<Record<string, string>>(
    `SELECT practice_id, toString(day) AS d, toString(source) AS src, dim, value, states, written_hour,
       toString(sumMerge(pageviews)) AS pv, toString(sumMerge(visits)) AS vi, toString(sumMerge(bounces)) AS bo,
       toString(sumMerge(engaged_ms)) AS en, toString(sumMerge(events)) AS ev,
       toString(uniqArrayMerge(visitors)) AS open_visitors, toString(sumMerge(visitors_closed)) AS closed_visitors
     FROM ${sqlv.ident(table)} GROUP BY practice_id, d, src, dim, value, states, written_hour
     ORDER BY practice_id, d, src, dim, value, states, written_hour`,
  );
const count = async (db: Db, table: string) =>
  Number((await db.rows<{ n: string }>(`SELECT toString(count()) AS n FROM ${sqlv.ident(table)}`))[0]!.n);
const tableNames = async (db: Db) =>
  (await db.rows<{ name: string }>('SELECT name FROM system.tables WHERE database = currentDatabase()')).map(
    (r) => r.name,
  );
const statementsOf0030 = async () => (await readMigrations()).find((m) => m.name === MIGRATION)!.statements;

describe('migration 0030 from the previous schema with data', () => {
  it('moves every row with the same figures, states included, and leaves the old table empty', async () => {
    const { db, migrateTo0033 } = await beforeMigration('mig0030');
    const before = await figures(db, OLD_DAILY);
    expect(before.length).toBe(25);
    expect(await migrateTo0033()).toMatchObject({ applied: expect.arrayContaining([MIGRATION]) });

    expect(TABLES.rollupDaily).not.toBe(OLD_DAILY);
    expect(await figures(db, TABLES.rollupDaily)).toEqual(before);
    expect(await count(db, OLD_DAILY)).toBe(0);
    const names = await tableNames(db);
    for (const gone of ['a_migration_0030_gate_mv', 'migration_0030_gate', 'rollup_daily_v3_counts_v2_mv'])
      expect(names).not.toContain(gone);

    // Running it again (as after a failure before the ledger was written) changes nothing.
    for (const statement of await statementsOf0030()) await db.command(statement);
    expect(await figures(db, TABLES.rollupDaily)).toEqual(before);
  });

  it('writes new rows to the new table only, and the sealer seals the copied states there', async () => {
    const { config, db, migrateTo0033 } = await beforeMigration('mig0030ingest');
    await migrateTo0033();
    await db.command(
      `INSERT INTO ${TABLES.rollupIngest} (${INGEST_COLUMNS}) VALUES ('daily', 'p3', ${sqlv.date(CLOSED[0]!)}, 0, 'logs', 'page', '/new', 0, 0, 3, 1, 0, 0, 0, [], 2)`,
    );
    expect(
      (await figures(db, TABLES.rollupDaily)).filter((r) => r.practice_id === 'p3').map((r) => [r.value, r.pv]),
    ).toEqual([['/new', '3']]);
    expect(await count(db, OLD_DAILY)).toBe(0);

    const visitorsOf = async () =>
      Object.fromEntries(
        (
          await db.rows<{ k: string; v: string }>(
            `SELECT concat(dim, '=', value) AS k, toString(uniqArrayMerge(visitors) + sumMerge(visitors_closed)) AS v
             FROM ${TABLES.rollupDaily} WHERE practice_id = 'p1' AND day = ${sqlv.date(OPEN)} GROUP BY k ORDER BY k`,
          )
        ).map((r) => [r.k, Number(r.v)]),
      );
    expect(await visitorsOf()).toEqual({ 'total=': 3, 'page=/a': 2, 'referrer=rare.example': 1 });
    const sealed = await sealClosedVisitorStates({
      db,
      clickhouse: config.clickhouse,
      now: () => Date.now() + 10 * 86_400_000,
    });
    expect(sealed.length).toBeGreaterThan(0);
    // The referrer seen from one visitor is folded into (rare), as before the migration.
    expect(await visitorsOf()).toEqual({ 'total=': 3, 'page=/a': 2, 'referrer=(rare)': 1 });
    const [open] = await db.rows<{ n: string }>(
      `SELECT toString(count()) AS n FROM ${TABLES.rollupDaily} WHERE states != 0`,
    );
    expect(open!.n).toBe('0');
  });

  it('fails, keeping the old rows and refusing inserts, when a copy stopped part way', async () => {
    const { db, migrateTo0033 } = await beforeMigration('mig0030partial');
    const before = await figures(db, OLD_DAILY);
    // As a copy that committed some partitions and then stopped: the new table with part of the rows.
    const [create] = await statementsOf0030();
    await db.command(create!);
    await db.command(
      `INSERT INTO ${TABLES.rollupDaily} SELECT * FROM ${OLD_DAILY} WHERE day = ${sqlv.date(CLOSED[0]!)}`,
    );
    await expect(migrateTo0033()).rejects.toThrow(/throwIf|non zero|non-zero/);
    expect(await figures(db, OLD_DAILY)).toEqual(before);
    // The gate stays shut: nothing is written that the finished migration would not count.
    await expect(
      db.command(
        `INSERT INTO ${TABLES.rollupIngest} (${INGEST_COLUMNS}) VALUES ('daily', 'p1', ${sqlv.date(OPEN)}, 0, 'snippet', 'total', '', 0, 0, 1, 0, 0, 0, 0, [], 0)`,
      ),
    ).rejects.toThrow();

    // Once the operator empties the new table, the migration completes with every figure.
    await db.command(`TRUNCATE TABLE ${TABLES.rollupDaily}`);
    await migrateTo0033();
    expect(await figures(db, TABLES.rollupDaily)).toEqual(before);
  });
});
