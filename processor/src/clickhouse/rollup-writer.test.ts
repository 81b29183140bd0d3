import { describe, expect, it } from 'vitest';
import { INGEST_TABLE, ROLLUP_METRICS, ROLLUP_TABLES, type RollupTable } from '@confidant/shared';
import { D, M, NO_METRIC, RollupAccumulator } from '../aggregate/rollup-accumulator.ts';
import { ingestColumns } from './rollup-writer.ts';

// The processor's rows and block against the rollup schema (which tests/clickhouse checks against the migrations).
describe('rollup rows and the ingest block follow the rollup schema', () => {
  const snake = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  /** The ingest columns a row of `table` fills: its key columns and its metrics' inputs. */
  const filled = (table: RollupTable) =>
    [...table.keyColumns.map((c) => c.name), ...table.stateColumns.map((m) => ROLLUP_METRICS[m].input)].sort();

  it('writes exactly the columns of the ingest table, in order, with their types', () => {
    expect(ingestColumns([]).map(({ name, type }) => ({ name, type }))).toEqual(INGEST_TABLE.columns);
  });

  it('gives daily and hourly rows exactly the fields their tables fill', () => {
    const acc = new RollupAccumulator();
    const day = acc.day('p', 'logs', 19737);
    day.add(D.page, '/', M.pageviews, 1, 'v7');
    day.addHour(3, NO_METRIC, 0, 'v7');
    expect(
      Object.keys(acc.dailyRows(19737 * 86_400_000)[0]!)
        .map(snake)
        .sort(),
    ).toEqual(filled(ROLLUP_TABLES.daily));
    expect(
      Object.keys(acc.hourlyRows(19737 * 86_400_000)[0]!)
        .map(snake)
        .sort(),
    ).toEqual(filled(ROLLUP_TABLES.hourly));
  });

  it('indexes every count of a daily row', () => {
    const counts = ROLLUP_TABLES.daily.metrics.filter((m) => ROLLUP_METRICS[m].aggregate === 'sum');
    expect(Object.keys(M).map(snake)).toEqual(counts);
    expect(new Set(Object.values(M)).size).toBe(counts.length);
  });
});
