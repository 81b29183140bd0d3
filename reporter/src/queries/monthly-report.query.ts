import { MONTHLY_VISITORS_TABLE, sqlv, type RollupDimension } from '@confidant/shared';
import { DAILY, dailyKeyConditions, METRICS, metricSelect, type RangeFilter } from './rollup-metrics.ts';

/** Page views per source over a range: picks which source a report shows. */
export function sourceTotalsSql(p: { practiceId: string; from: string; to: string }): string {
  return (
    `SELECT toString(source) AS src, ${metricSelect(['pageviews', 'visits'])} FROM ${DAILY}` +
    ` PREWHERE practice_id = ${sqlv.str(p.practiceId)} AND dim = 'total' AND day BETWEEN ${sqlv.date(p.from)} AND ${sqlv.date(p.to)}` +
    ` GROUP BY src ORDER BY src`
  );
}

/** Per-day totals; `m_visitors` is the day's unique visitors (one row a day: merged in one read). */
export function dailyTotalsSql(p: RangeFilter): string {
  return `SELECT toString(day) AS d, ${metricSelect(METRICS)} FROM ${DAILY} PREWHERE ${dailyKeyConditions(p, ['total'])} GROUP BY d ORDER BY d`;
}

/**
 * A month's unique visitors per row of `dims` (`m_visitors`): unique browsers in cookie mode, whose
 * visitor key lasts the month. The open states' unique count over the month's days, plus what the
 * seals of the month added (rollup_monthly_visitors): a sealed day's daily count never is, since
 * a monthly key's seal counts it across the days. `from` must be the month's first day.
 */
export function monthVisitorsSql(p: RangeFilter & { dims: readonly RollupDimension[] }): string {
  const where = (day: string) =>
    `practice_id = ${sqlv.str(p.practiceId)} AND source = ${sqlv.str(p.source)} AND ${sqlv.inList('dim', p.dims, sqlv.str)} AND ${day}`;
  return (
    `SELECT dim AS d, value AS v, sum(n) AS m_visitors FROM (` +
    `SELECT dim, value, toUInt64(uniqArrayMerge(visitors)) AS n FROM ${DAILY} WHERE ${where(`states != 0 AND day BETWEEN ${sqlv.date(p.from)} AND ${sqlv.date(p.to)}`)} GROUP BY dim, value` +
    ` UNION ALL SELECT dim, value, ${MONTHLY_VISITORS_TABLE.visitorsMerge} AS n FROM ${sqlv.ident(MONTHLY_VISITORS_TABLE.name)} WHERE ${where(`month = ${sqlv.date(p.from)}`)} GROUP BY dim, value` +
    `) AS month_parts GROUP BY d, v`
  );
}
