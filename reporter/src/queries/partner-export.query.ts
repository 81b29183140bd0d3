import { metricMergeExpression, sqlv, type RollupDimension } from '@confidant/shared';
import { DAILY } from './rollup-metrics.ts';

export type PartnerExportParams = {
  practiceIds: string[];
  from: string;
  to: string;
  /** Most a single practice-day can add to one cell (bounds any one site's or day's influence). */
  capPageviews: number;
  capVisits: number;
};

/** The rollup rows a partner export is made of. */
const EXPORT_DIMENSIONS: readonly RollupDimension[] = ['total', 'country', 'page_class'];

/**
 * Month × {total, country, page_class} cells over the sharing practices. Per practice, day and
 * cell the two sources are not added (a site sending both would count twice): the larger wins.
 * Each practice-day cell is then clamped to [0, cap] before summing across practices and days.
 */
export function partnerExportSql(p: PartnerExportParams): string {
  const perSource =
    `SELECT practice_id, day, dim, value, source, ${metricMergeExpression('pageviews')} AS s_pv, ${metricMergeExpression('visits')} AS s_vi FROM ${DAILY}` +
    ` WHERE ${sqlv.inList('practice_id', p.practiceIds, sqlv.str)} AND ${sqlv.inList('dim', EXPORT_DIMENSIONS, sqlv.str)}` +
    ` AND day BETWEEN ${sqlv.date(p.from)} AND ${sqlv.date(p.to)} GROUP BY practice_id, day, dim, value, source`;
  const perCell = `SELECT practice_id, day, dim, value, max(s_pv) AS c_pv, max(s_vi) AS c_vi FROM (${perSource}) AS per_source GROUP BY practice_id, day, dim, value`;
  return (
    `SELECT dim AS k, value AS v,` +
    ` sum(greatest(toInt64(0), least(c_pv, toInt64(${sqlv.int(p.capPageviews)})))) AS m_pageviews,` +
    ` sum(greatest(toInt64(0), least(c_vi, toInt64(${sqlv.int(p.capVisits)})))) AS m_visits` +
    ` FROM (${perCell}) AS per_cell GROUP BY k, v ORDER BY k, v`
  );
}
