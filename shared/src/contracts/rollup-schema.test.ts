import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { EVENT_SOURCES } from './event-envelope.ts';
import {
  FREE_TEXT_DIM_SQL,
  isFreeTextDimension,
  INGEST_KIND_CODES,
  INGEST_TABLE,
  metricMergeExpression,
  metricStateType,
  ROLLUP_METRICS,
  ROLLUP_SOURCE_CODES,
  ROLLUP_TABLES,
  rollupTableColumns,
  type RollupStateColumn,
} from './rollup-schema.ts';

// The schema against the database: tests/clickhouse/rollup-schema.test.ts. Here: that it agrees with itself.
describe('rollup schema', () => {
  const ingest = new Map(INGEST_TABLE.columns.map((c) => [c.name as string, c.type as string]));
  const stateColumns = Object.keys(ROLLUP_METRICS) as RollupStateColumn[];

  it('spells aggregate states and their merges as ClickHouse does', () => {
    expect(metricStateType('pageviews')).toBe('AggregateFunction(sum, Int64)');
    expect(metricStateType('visitors')).toBe('AggregateFunction(uniqArray, Array(UInt64))');
    expect(metricMergeExpression('engaged_ms')).toBe('sumMerge(engaged_ms)');
    expect(metricMergeExpression('visitors')).toBe('(uniqArrayMerge(visitors) + sumMerge(visitors_closed))');
    expect(ROLLUP_TABLES.hourly.keyColumns.find((c) => c.name === 'source')?.type).toBe(
      "Enum8('snippet' = 1, 'logs' = 2)",
    );
    expect(INGEST_TABLE.columns[0]).toEqual({
      name: 'kind',
      type: "Enum8('daily' = 1, 'hourly' = 2, 'ledger' = 3, 'lines' = 4, 'monthly' = 5, 'seal' = 6)",
    });
  });

  it('codes every envelope source, and only those', () => {
    expect(Object.keys(ROLLUP_SOURCE_CODES)).toEqual([...EVENT_SOURCES]);
  });

  it('feeds every state column from an ingest column of its input type', () => {
    for (const m of stateColumns) expect(ingest.get(ROLLUP_METRICS[m].input), m).toBe(ROLLUP_METRICS[m].inputType);
  });

  it('has every key column of a rollup table in the ingest table, with the same type', () => {
    for (const table of Object.values(ROLLUP_TABLES))
      for (const c of table.keyColumns) expect(ingest.get(c.name), `${table.name}.${c.name}`).toBe(c.type);
  });

  it('keeps every metric by the day, and by the hour all but events', () => {
    expect([...ROLLUP_TABLES.daily.stateColumns].sort()).toEqual([...stateColumns].sort());
    expect(ROLLUP_TABLES.daily.metrics).toEqual(
      ROLLUP_TABLES.daily.stateColumns.filter((c) => c !== 'visitors_closed'),
    );
    expect(stateColumns.filter((m) => !(ROLLUP_TABLES.hourly.stateColumns as readonly string[]).includes(m))).toEqual([
      'events',
    ]);
  });

  it("puts a table's metric columns after its key columns, with unique names", () => {
    const daily = rollupTableColumns(ROLLUP_TABLES.daily).map((c) => c.name);
    expect(daily).toEqual([
      'practice_id',
      'day',
      'source',
      'dim',
      'value',
      'states',
      'written_hour',
      ...ROLLUP_TABLES.daily.stateColumns,
    ]);
    expect(new Set(INGEST_TABLE.columns.map((c) => c.name)).size).toBe(INGEST_TABLE.columns.length);
    expect(Object.values(INGEST_KIND_CODES)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('free-text dimensions', () => {
  it('are the campaign, term, content, referrer, form and property dimensions, not the others', () => {
    expect(
      ['referrer', 'utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'form', 'prop:plan'].every(
        isFreeTextDimension,
      ),
    ).toBe(true);
    expect(['page', 'action', 'scroll', 'screen', 'event', 'propx', 'xprop:a'].some(isFreeTextDimension)).toBe(false);
  });

  it('are spelled in SQL exactly as the views of migration 0030 test them', async () => {
    const sql = await readFile(
      new URL('../../migrations/0030-daily-rollups-by-dimension.sql', import.meta.url),
      'utf8',
    );
    // Both views: the counts view's WHERE, and each of the states view's five sums.
    expect(sql.split(FREE_TEXT_DIM_SQL).length - 1).toBe(6);
  });
});
