import { sqlv, type RollupMetric } from '@confidant/shared';
import { DAILY, dailyKeyConditions, HOURLY, metricSelect, type RangeFilter } from './rollup-metrics.ts';

export type TimeseriesParams = RangeFilter & { interval: 'day' | 'hour'; metrics: RollupMetric[] };

/** One row per day (`d`) or per day and hour (`d`, `h`) that has data; gaps are filled by the caller. */
export function timeseriesSql(p: TimeseriesParams): string {
  if (p.interval === 'day') {
    // The day's totals are one row a day: merged in one read, the visitor states cost nothing to speak of.
    return `SELECT toString(day) AS d, ${metricSelect(p.metrics)} FROM ${DAILY} PREWHERE ${dailyKeyConditions(p, ['total'])} GROUP BY d ORDER BY d`;
  }
  const where = `practice_id = ${sqlv.str(p.practiceId)} AND source = ${sqlv.str(p.source)} AND day BETWEEN ${sqlv.date(p.from)} AND ${sqlv.date(p.to)}`;
  return `SELECT toString(day) AS d, hour AS h, ${metricSelect(p.metrics)} FROM ${HOURLY} PREWHERE ${where} GROUP BY d, h ORDER BY d, h`;
}
