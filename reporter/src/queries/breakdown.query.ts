import { sqlv } from '@confidant/shared';
import { DAILY, dailyWhere, metricAlias, metricSelect, type Dimension, type Metric, type RangeFilter } from './rollup-metrics.ts';

export type BreakdownParams = RangeFilter & { dimension: Dimension; metrics: Metric[]; orderBy: Metric; limit: number };

/**
 * Top values of one dimension over a day range. Rows whose signed deltas cancel out to nothing
 * are left out. Ties sort by value so results are stable.
 */
export function breakdownSql(p: BreakdownParams): string {
  const metrics = p.metrics.includes(p.orderBy) ? p.metrics : [...p.metrics, p.orderBy];
  const nonZero = metrics.filter((m) => m !== 'visitors').map((m) => `${sqlv.ident(metricAlias(m))} != 0`);
  return (
    `SELECT value AS v, ${metricSelect(metrics)} FROM ${DAILY} WHERE ${dailyWhere(p, p.dimension)} GROUP BY value` +
    (nonZero.length ? ` HAVING ${nonZero.join(' OR ')}` : '') +
    ` ORDER BY ${sqlv.ident(metricAlias(p.orderBy))} DESC, v ASC LIMIT ${sqlv.int(p.limit)}`
  );
}
