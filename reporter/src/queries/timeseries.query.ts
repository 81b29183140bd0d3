import { sqlv, type RollupMetric } from '@confidant/shared';
import { DAILY, HOURLY, metricSelect, type RangeFilter } from './rollup-metrics.ts';

export type TimeseriesParams = RangeFilter & { interval: 'day' | 'hour'; metrics: RollupMetric[] };

/** One row per day (`d`) or per day and hour (`d`, `h`) that has data; gaps are filled by the caller. */
export function timeseriesSql(p: TimeseriesParams): string {
  const where = `practice_id = ${sqlv.str(p.practiceId)} AND source = ${sqlv.str(p.source)} AND day BETWEEN ${sqlv.date(p.from)} AND ${sqlv.date(p.to)}`;
  if (p.interval === 'day') {
    return `SELECT toString(day) AS d, ${metricSelect(p.metrics)} FROM ${DAILY} WHERE ${where} AND dim = 'total' GROUP BY d ORDER BY d`;
  }
  return `SELECT toString(day) AS d, hour AS h, ${metricSelect(p.metrics)} FROM ${HOURLY} WHERE ${where} GROUP BY d, h ORDER BY d, h`;
}
