import { sqlv, type RollupMetric } from '@confidant/shared';
import {
  DAILY,
  dailyKeyConditions,
  metricAlias,
  metricSelect,
  type BreakdownDimension,
  type RangeFilter,
} from './rollup-metrics.ts';

export type BreakdownParams = RangeFilter & {
  dimension: BreakdownDimension;
  metrics: RollupMetric[];
  orderBy: RollupMetric;
  limit: number;
};

/**
 * Top values of one dimension over a day range. Rows whose signed deltas cancel out to nothing
 * are left out. Ties sort by value so results are stable.
 */
export function breakdownSql(p: BreakdownParams): string {
  const metrics = p.metrics.includes(p.orderBy) ? p.metrics : [...p.metrics, p.orderBy];
  const nonZero = metrics.filter((m) => m !== 'visitors').map((m) => `${sqlv.ident(metricAlias(m))} != 0`);
  return (
    `SELECT value AS v, ${metricSelect(metrics)} FROM ${DAILY} PREWHERE ${dailyKeyConditions(p, [p.dimension])} GROUP BY value` +
    (nonZero.length ? ` HAVING ${nonZero.join(' OR ')}` : '') +
    ` ORDER BY ${sqlv.ident(metricAlias(p.orderBy))} DESC, v ASC LIMIT ${sqlv.int(p.limit)}`
  );
}

export type SectionSpec = { dim: BreakdownDimension; metrics: readonly RollupMetric[]; orderBy: RollupMetric };

/**
 * The top values of several dimensions in one query (`LIMIT n BY dim`): one scan of the month's
 * rollups instead of one query per report section. Each dimension keeps its own ranking metric
 * and its own rule for leaving out rows that net to zero. The dimensions must be distinct.
 */
export function sectionsSql(p: RangeFilter & { sections: readonly SectionSpec[]; limit: number }): string {
  const metrics = [...new Set(p.sections.flatMap((s) => [...s.metrics, s.orderBy]))];
  const alias = (m: RollupMetric) => sqlv.ident(metricAlias(m));
  const perDim = (expr: (s: SectionSpec) => string) =>
    `multiIf(${p.sections.map((s) => `d = ${sqlv.str(s.dim)}, ${expr(s)}`).join(', ')}, 0)`;
  const nonZero = (s: SectionSpec) => {
    const counted = [...new Set([...s.metrics, s.orderBy])].filter((m) => m !== 'visitors');
    return counted.length ? `(${counted.map((m) => `${alias(m)} != 0`).join(' OR ')})` : '1';
  };
  const keys = dailyKeyConditions(
    p,
    p.sections.map((s) => s.dim),
  );
  return (
    `SELECT dim AS d, value AS v, ${metricSelect(metrics)}, ${perDim((s) => `toFloat64(${alias(s.orderBy)})`)} AS rank_by FROM ${DAILY}` +
    ` PREWHERE ${keys} GROUP BY d, v HAVING ${perDim(nonZero)} ORDER BY d ASC, rank_by DESC, v ASC LIMIT ${sqlv.int(p.limit)} BY d`
  );
}
