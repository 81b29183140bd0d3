import { GOAL_BREAKDOWNS, sqlv, type GoalBreakdown, type RollupDimension } from '@confidant/shared';
import { DAILY, dailyKeyConditions, metricSelect, type RangeFilter } from './rollup-metrics.ts';

/** Each goal's conversions (`m_events`), converting visits (`m_visits`) and converting visitors over a range. */
export function goalTotalsSql(f: RangeFilter): string {
  return (
    `SELECT value AS v, ${metricSelect(['events', 'visits', 'visitors'])} FROM ${DAILY} PREWHERE ${dailyKeyConditions(f, ['goal'])}` +
    ` GROUP BY value ORDER BY v`
  );
}

/** The range's visits (`m_visits`): what a goal's conversion rate divides by. */
export function visitTotalSql(f: RangeFilter): string {
  return `SELECT ${metricSelect(['visits'])} FROM ${DAILY} PREWHERE ${dailyKeyConditions(f, ['total'])}`;
}

/**
 * The top values of one goal's breakdowns (`d`, `v` as stored: `<goal id>:<value>`), ranked by
 * converting visits, then conversions, `limit` per breakdown.
 */
export function goalBreakdownsSql(
  f: RangeFilter & { goalId: string; breakdowns: readonly GoalBreakdown[]; limit: number },
): string {
  return (
    `SELECT dim AS d, value AS v, ${metricSelect(['events', 'visits'])} FROM ${DAILY} PREWHERE ${dailyKeyConditions(f, f.breakdowns)}` +
    ` WHERE value LIKE ${sqlv.likePrefix(`${f.goalId}:`)}` +
    ` GROUP BY d, v HAVING m_events != 0 OR m_visits != 0` +
    ` ORDER BY d ASC, m_visits DESC, m_events DESC, v ASC LIMIT ${sqlv.int(f.limit)} BY d`
  );
}

/** Visits of the given values of base dimensions (entry, channel, ...): the denominators of breakdown rates. */
export function baseVisitsSql(f: RangeFilter & { values: ReadonlyMap<RollupDimension, readonly string[]> }): string {
  const asked = [...f.values].filter(([, values]) => values.length > 0);
  const terms = asked.map(([dim, values]) => `(dim = ${sqlv.str(dim)} AND ${sqlv.inList('value', values, sqlv.str)})`);
  return (
    `SELECT dim AS d, value AS v, ${metricSelect(['visits'])} FROM ${DAILY}` +
    ` PREWHERE ${dailyKeyConditions(f, asked.length ? asked.map(([dim]) => dim) : ['total'])}` +
    ` WHERE ${terms.length ? terms.join(' OR ') : '0'} GROUP BY d, v`
  );
}

export const GOAL_BREAKDOWN_DIMS = Object.keys(GOAL_BREAKDOWNS) as GoalBreakdown[];
