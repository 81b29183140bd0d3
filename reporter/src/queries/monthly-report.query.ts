import { sqlv } from '@confidant/shared';
import { DAILY, METRICS, metricSelect, type RangeFilter } from './rollup-metrics.ts';

/** Page views per source over a range: picks which source a report shows. */
export function sourceTotalsSql(p: { practiceId: string; from: string; to: string }): string {
  return (
    `SELECT toString(source) AS src, ${metricSelect(['pageviews', 'visits'])} FROM ${DAILY}` +
    ` WHERE practice_id = ${sqlv.str(p.practiceId)} AND dim = 'total' AND day BETWEEN ${sqlv.date(p.from)} AND ${sqlv.date(p.to)}` +
    ` GROUP BY src ORDER BY src`
  );
}

/** Per-day totals; `m_visitors` is the day's unique visitors. */
export function dailyTotalsSql(p: RangeFilter): string {
  return (
    `SELECT toString(day) AS d, ${metricSelect(METRICS)}` +
    ` FROM ${DAILY} WHERE practice_id = ${sqlv.str(p.practiceId)} AND source = ${sqlv.str(p.source)} AND dim = 'total'` +
    ` AND day BETWEEN ${sqlv.date(p.from)} AND ${sqlv.date(p.to)} GROUP BY d ORDER BY d`
  );
}

/** Unique visitor keys over the whole range: unique browsers in cookie mode (monthly salt). */
export function rangeUniqueVisitorsSql(p: RangeFilter): string {
  return (
    `SELECT ${metricSelect(['visitors'])} FROM ${DAILY} WHERE practice_id = ${sqlv.str(p.practiceId)}` +
    ` AND source = ${sqlv.str(p.source)} AND dim = 'total' AND day BETWEEN ${sqlv.date(p.from)} AND ${sqlv.date(p.to)}`
  );
}
