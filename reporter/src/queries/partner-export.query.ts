import { metricMergeExpression, sqlv } from '@confidant/shared';
import { DAILY } from './rollup-metrics.ts';

export type PartnerExportParams = {
  /** Practices whose visitor-days count in the total. */
  totalPracticeIds: string[];
  /** Practices whose visitor-days count by country (each visitor key has one country there). */
  countryPracticeIds: string[];
  from: string;
  to: string;
  /** Most one practice-day adds to a cell (below 65,536, where a row's unique count is still exact). */
  cap: number;
};

/**
 * Visitor-days of a month: per practice, local day, cell and source the row's unique visitors (open
 * states plus sealed counts); the larger source wins (a visitor seen by the snippet and in the logs
 * is one visitor-day); each practice-day cell is clamped to [0, cap]; then summed over practices
 * and days. One visitor-day changes each practice-day cell by at most 1.
 */
export function partnerExportSql(p: PartnerExportParams): string {
  const inList = (ids: string[]) => sqlv.inList('practice_id', ids, sqlv.str);
  const scope = `((dim = 'total' AND ${inList(p.totalPracticeIds)}) OR (dim = 'country' AND ${inList(p.countryPracticeIds)}))`;
  const perSource =
    `SELECT practice_id, day, dim, value, source, toInt64(${metricMergeExpression('visitors')}) AS s_vd FROM ${DAILY}` +
    ` WHERE ${scope} AND day BETWEEN ${sqlv.date(p.from)} AND ${sqlv.date(p.to)} GROUP BY practice_id, day, dim, value, source`;
  const perCell = `SELECT practice_id, day, dim, value, max(s_vd) AS c_vd FROM (${perSource}) AS per_source GROUP BY practice_id, day, dim, value`;
  return (
    `SELECT dim AS k, value AS v, sum(greatest(toInt64(0), least(c_vd, toInt64(${sqlv.int(p.cap)})))) AS m_visitor_days` +
    ` FROM (${perCell}) AS per_cell GROUP BY k, v ORDER BY k, v`
  );
}
