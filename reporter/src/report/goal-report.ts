import {
  GOAL_BREAKDOWNS,
  RARE_VALUE,
  splitGoalValue,
  type Db,
  type Goal,
  type GoalBreakdown,
  type RollupDimension,
} from '@confidant/shared';
import {
  baseVisitsSql,
  GOAL_BREAKDOWN_DIMS,
  goalBreakdownsSql,
  goalTotalsSql,
  visitTotalSql,
} from '../queries/goals.query.ts';
import { metricAlias, toCount, type RangeFilter } from '../queries/rollup-metrics.ts';

/** A breakdown of a goal by what its name says, as the API and the report show it. */
export const GOAL_BREAKDOWN_NAMES = {
  entry: 'goal_entry',
  channel: 'goal_channel',
  referrer: 'goal_referrer',
  campaign: 'goal_campaign',
  country: 'goal_country',
  device: 'goal_device',
} as const satisfies Record<string, GoalBreakdown>;
export type GoalBreakdownName = keyof typeof GOAL_BREAKDOWN_NAMES;
export const GOAL_BREAKDOWN_KEYS = Object.keys(GOAL_BREAKDOWN_NAMES) as GoalBreakdownName[];

/**
 * Conversions: events that reached the goal. Converting visits: visits that reached it (once each).
 * The conversion rate is converting visits over visits, in percent (one decimal); null where there
 * were no visits to divide by, where the value is (rare) (its visits are another value's), and for a
 * count-only page-class goal.
 */
export type GoalFigures = { conversions: number; convertingVisits: number; conversionRatePercent: number | null };
export type GoalSummary = GoalFigures & {
  id: string;
  /** null for a goal no longer configured whose counts are still stored. */
  name: string | null;
  kind: Goal['kind'] | null;
  convertingVisitors: number;
  visits: number;
};
export type GoalBreakdownRow = GoalFigures & { value: string; visits: number };

const round1 = (x: number): number => Math.round(x * 10) / 10;
export const conversionRate = (convertingVisits: number, visits: number): number | null =>
  visits > 0 ? round1((100 * convertingVisits) / visits) : null;

/** Every configured goal, and every goal with stored counts in the range, with its figures. */
export async function goalSummaries(db: Db, f: RangeFilter, goals: readonly Goal[]): Promise<GoalSummary[]> {
  const [rows, [total]] = await Promise.all([
    db.rows<Record<string, string>>(goalTotalsSql(f)),
    db.rows<Record<string, string>>(visitTotalSql(f)),
  ]);
  const visits = toCount(total?.[metricAlias('visits')]);
  const stored = new Map(rows.map((r) => [r.v!, r]));
  const ids = [...new Set([...goals.map((g) => g.id), ...stored.keys()])];
  return ids.map((id) => {
    const goal = goals.find((g) => g.id === id);
    const row = stored.get(id);
    const convertingVisits = toCount(row?.[metricAlias('visits')]);
    return {
      id,
      name: goal?.name ?? null,
      kind: goal?.kind ?? null,
      conversions: toCount(row?.[metricAlias('events')]),
      convertingVisits,
      convertingVisitors: toCount(row?.[metricAlias('visitors')]),
      visits,
      // A count-only page is never linked to a visit: its goal has no converting visits to divide.
      conversionRatePercent: goal?.kind === 'page-class' ? null : conversionRate(convertingVisits, visits),
    };
  });
}

/** One goal's top values of each breakdown asked for, each with the visits of its value and the rate. */
export async function goalBreakdowns(
  db: Db,
  f: RangeFilter,
  goalId: string,
  names: readonly GoalBreakdownName[],
  limit: number,
): Promise<Record<GoalBreakdownName, GoalBreakdownRow[]>> {
  const dims = names.map((n) => GOAL_BREAKDOWN_NAMES[n]);
  const rows = await db.rows<Record<string, string>>(
    goalBreakdownsSql({ ...f, goalId, breakdowns: dims.length ? dims : GOAL_BREAKDOWN_DIMS, limit }),
  );
  const parsed = rows.map((r) => ({
    dim: r.d as GoalBreakdown,
    value: splitGoalValue(r.v!).value,
    conversions: toCount(r[metricAlias('events')]),
    convertingVisits: toCount(r[metricAlias('visits')]),
  }));
  const values = new Map<RollupDimension, string[]>();
  for (const r of parsed)
    if (r.value !== RARE_VALUE)
      values.set(GOAL_BREAKDOWNS[r.dim], [...(values.get(GOAL_BREAKDOWNS[r.dim]) ?? []), r.value]);
  const base = new Map(
    (values.size ? await db.rows<Record<string, string>>(baseVisitsSql({ ...f, values })) : []).map((r) => [
      `${r.d}\u0000${r.v}`,
      toCount(r[metricAlias('visits')]),
    ]),
  );
  return Object.fromEntries(
    names.map((name) => [
      name,
      parsed
        .filter((r) => r.dim === GOAL_BREAKDOWN_NAMES[name])
        .map(({ value, conversions, convertingVisits }) => {
          const visits =
            value === RARE_VALUE ? 0 : (base.get(`${GOAL_BREAKDOWNS[GOAL_BREAKDOWN_NAMES[name]]}\u0000${value}`) ?? 0);
          return {
            value,
            conversions,
            convertingVisits,
            visits,
            conversionRatePercent: conversionRate(convertingVisits, visits),
          };
        }),
    ]),
  ) as Record<GoalBreakdownName, GoalBreakdownRow[]>;
}
