import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectClickHouse,
  metricMergeExpression,
  migrate,
  sqlv,
  TABLES,
  type CommonConfig,
  type Db,
} from '@confidant/shared';
import { sealClosedVisitorStates } from '@confidant/processor';
import { migrationsBefore } from '../support/migrations-before.ts';
import { isolatedConfig } from '../support/test-env.ts';

/**
 * Migration 0026 from the schema before it, with data in it: the counts come over exactly, the
 * visitors of days whose salts are gone become their exact count, the last days' states stay states
 * (sealed later by the processor), every month's unique visitors per row are kept for cookie mode,
 * and the old tables, whose states hold one value per visitor across rows, are gone.
 */
describe('migration 0026 from the previous schema with data', () => {
  let config: CommonConfig;
  let db: Db;
  let dir: string;
  const today = new Date();
  const iso = (daysAgo: number) => new Date(today.getTime() - daysAgo * 86_400_000).toISOString().slice(0, 10);
  // The server's today() decides old and recent; these days are clear of that edge in any server time zone.
  const OLD = [iso(40), iso(39)];
  const RECENT = iso(1);

  beforeAll(async () => {
    config = isolatedConfig('mig0026');
    dir = await migrationsBefore('0026');
    await migrate(config.clickhouse, dir);
    db = connectClickHouse(config.clickhouse);
    // The old writer: one visitor hash shared by every row of a visitor, across days (cookie mode).
    const rows: string[] = [];
    const row = (day: string, dim: string, value: string, pv: number, visitors: number[], hour = -1) =>
      rows.push(
        `(${sqlv.str(hour < 0 ? 'daily' : 'hourly')}, 'p1', ${sqlv.date(day)}, ${sqlv.int(Math.max(hour, 0))}, 'snippet', ${sqlv.str(dim)}, ${sqlv.str(value)}, ${sqlv.int(pv)}, 1, 0, 5, 0, [${visitors.map((v) => sqlv.int(v)).join(',')}], '', '', 0, 0, '', '', 0, 0)`,
      );
    row(OLD[0]!, 'total', '', 3, [1, 2, 3]);
    row(OLD[0]!, 'page', '/a', 2, [1, 2]);
    row(OLD[1]!, 'total', '', 2, [1, 4]);
    row(OLD[1]!, 'page', '/a', 2, [1, 4]);
    row(OLD[0]!, '', '', 3, [1, 2, 3], 10);
    row(RECENT, 'total', '', 4, [7, 8, 9]);
    row(RECENT, 'entry', '/a', 1, []);
    row(RECENT, '', '', 4, [7, 8, 9], 11);
    await db.command(
      `INSERT INTO rollup_ingest_v2 (kind, practice_id, day, hour, source, dim, value, pageviews, visits, bounces, engaged_ms, events, visitor_hashes, consumer_group, topic, partition, next_offset, batch_id, import_key, word, bits) VALUES ${rows.join(', ')}`,
    );
    // A second part for one key, sharing visitor 3: the count must merge the parts, not add them.
    await db.command(
      `INSERT INTO rollup_ingest_v2 (kind, practice_id, day, hour, source, dim, value, pageviews, visits, bounces, engaged_ms, events, visitor_hashes, consumer_group, topic, partition, next_offset, batch_id, import_key, word, bits) VALUES ('daily', 'p1', ${sqlv.date(OLD[0]!)}, 0, 'snippet', 'total', '', 1, 0, 0, 0, 0, [3, 5], '', '', 0, 0, '', '', 0, 0)`,
    );
    await migrate(config.clickhouse);
  });
  afterAll(async () => {
    await db?.close();
    await rm(dir, { recursive: true, force: true });
    const server = connectClickHouse(config.clickhouse, { database: null });
    await server.command(`DROP DATABASE IF EXISTS ${sqlv.ident(config.clickhouse.database)}`);
    await server.close();
  });

  const daily = async () =>
    Object.fromEntries(
      (
        await db.rows<{ k: string; pv: string; v: string; open: string }>(
          `SELECT concat(toString(day), ' ', dim, '=', value) AS k, toString(sumMerge(pageviews)) AS pv,
             toString(${metricMergeExpression('visitors')}) AS v, toString(uniqArrayMerge(visitors)) AS open
           FROM ${TABLES.rollupDaily} GROUP BY k ORDER BY k`,
        )
      ).map((r) => [r.k, [Number(r.pv), Number(r.v), Number(r.open)]]),
    );

  it('keeps every count and visitor figure, as counts for closed days and states for the last ones', async () => {
    expect(await daily()).toEqual({
      [`${OLD[0]} total=`]: [4, 4, 0],
      [`${OLD[0]} page=/a`]: [2, 2, 0],
      [`${OLD[1]} total=`]: [2, 2, 0],
      [`${OLD[1]} page=/a`]: [2, 2, 0],
      [`${RECENT} total=`]: [4, 3, 3],
      [`${RECENT} entry=/a`]: [1, 0, 0],
    });
    const [hourly] = await db.rows<{ pv: string; v: string }>(
      `SELECT toString(sumMerge(pageviews)) AS pv, toString(${metricMergeExpression('visitors')}) AS v FROM ${TABLES.rollupHourly} WHERE day = ${sqlv.date(OLD[0]!)} AND hour = 10`,
    );
    expect(hourly).toEqual({ pv: '3', v: '3' });
  });

  it("keeps each month's unique visitors per row, counted across its days", async () => {
    const months = await db.rows<{ m: string; dim: string; v: string }>(
      `SELECT toString(month) AS m, dim, toString(sumMerge(visitors)) AS v FROM ${TABLES.rollupMonthlyVisitors} WHERE practice_id = 'p1' GROUP BY m, dim ORDER BY m, dim`,
    );
    const byDim = (dim: string) => months.filter((r) => r.dim === dim).reduce((a, r) => a + Number(r.v), 0);
    // Visitor 1 came on both old days: once in the month (the two days may straddle a month boundary).
    const sameMonth = OLD[0]!.slice(0, 7) === OLD[1]!.slice(0, 7);
    expect(byDim('page')).toBe(sameMonth ? 3 : 4);
  });

  it('drops the old tables and their views, and an old writer now fails instead of losing its rows', async () => {
    const names = (
      await db.rows<{ name: string }>('SELECT name FROM system.tables WHERE database = currentDatabase()')
    ).map((r) => r.name);
    for (const gone of ['rollup_daily', 'rollup_hourly', 'rollup_ingest', 'rollup_ingest_v2', 'rollup_daily_v2_mv'])
      expect(names).not.toContain(gone);
    await expect(db.command(`INSERT INTO rollup_ingest_v2 (kind) VALUES ('daily')`)).rejects.toThrow();
  });

  it('leaves the recent states to the sealer, which seals them once their day closes, to the same figures', async () => {
    expect(await sealClosedVisitorStates({ db, clickhouse: config.clickhouse })).toEqual([]);
    const before = await daily();
    const sealed = await sealClosedVisitorStates({
      db,
      clickhouse: config.clickhouse,
      now: () => today.getTime() + 10 * 86_400_000,
    });
    expect(sealed.length).toBeGreaterThan(0);
    const after = await daily();
    expect(Object.fromEntries(Object.entries(after).map(([k, [pv, v]]) => [k, [pv, v]]))).toEqual(
      Object.fromEntries(Object.entries(before).map(([k, [pv, v]]) => [k, [pv, v]])),
    );
    const [states] = await db.rows<{ n: string }>(
      `SELECT toString(count()) AS n FROM ${TABLES.rollupDaily} WHERE states != 0`,
    );
    expect(states!.n).toBe('0');
  });
});
