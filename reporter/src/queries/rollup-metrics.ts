import {
  isPropDimension,
  GOAL_BREAKDOWNS,
  metricMergeExpression,
  PROP_KEY_RE,
  ROLLUP_DIMENSIONS,
  ROLLUP_TABLES,
  sqlv,
  type EventSource,
  type PropDimension,
  type GoalBreakdown,
  type RollupDimension,
  type RollupMetric,
} from '@confidant/shared';

/**
 * The metrics and dimensions the reporter reads from the rollups, all from the rollup schema.
 * Identifiers and expressions in queries come only from here; values go through `sqlv`.
 */
export const METRICS = ROLLUP_TABLES.daily.metrics;
/** rollup_hourly keeps no events. */
export const HOURLY_METRICS: readonly RollupMetric[] = ROLLUP_TABLES.hourly.metrics;

/**
 * Breakdown dimensions a caller may ask for (`total` is read through the totals queries, a goal's
 * breakdowns through the goal stats, which pair each value with its conversion rate).
 */
export const BREAKDOWN_DIMENSIONS = ROLLUP_DIMENSIONS.filter(
  (d): d is Exclude<RollupDimension, 'total' | GoalBreakdown> => d !== 'total' && !(d in GOAL_BREAKDOWNS),
);
/** A breakdown dimension: one of the schema's, or a declared property's (`prop:<key>`). */
export type BreakdownDimension = (typeof BREAKDOWN_DIMENSIONS)[number] | PropDimension;

/** A property dimension a caller may name: `prop:` and a key as declarations spell them. */
export const PROP_DIMENSION_RE = new RegExp(`^prop:${PROP_KEY_RE.source.slice(1)}`);

/**
 * The metrics a dimension's rows count, as a breakdown's default (the first ranks it): events for
 * events, page views for pages and scroll depth, visits for where visits come from and land.
 */
export function defaultMetrics(dim: BreakdownDimension): RollupMetric[] {
  if (isPropDimension(dim)) return ['events', 'visitors'];
  switch (dim) {
    case 'event':
    case 'exit_domain':
    case 'download':
    case 'action':
    case 'form':
      return ['events', 'visitors'];
    case 'page':
    case 'page_class':
    case 'notfound':
      return ['pageviews', 'visitors'];
    case 'scroll':
    case 'scroll_page':
      return ['pageviews'];
    default:
      return ['visits', 'pageviews'];
  }
}

/** `m_<metric>` aliases: 18.16 rejects an alias equal to the aggregated column's name. */
export const metricAlias = (m: RollupMetric): string => `m_${m}`;

export const metricSelect = (metrics: readonly RollupMetric[]): string =>
  metrics.map((m) => `${metricMergeExpression(m)} AS ${sqlv.ident(metricAlias(m))}`).join(', ');

export type RangeFilter = { practiceId: string; source: EventSource; from: string; to: string };

/**
 * The key conditions of a daily read, for PREWHERE: ClickHouse 18.16 does not move conditions there
 * itself, and reading these few columns first spares the state columns of the rows they rule out.
 */
export const dailyKeyConditions = (f: RangeFilter, dims: readonly (RollupDimension | PropDimension)[]): string =>
  `practice_id = ${sqlv.str(f.practiceId)} AND ${sqlv.inList('dim', dims, sqlv.str)} AND source = ${sqlv.str(f.source)} AND day BETWEEN ${sqlv.date(f.from)} AND ${sqlv.date(f.to)}`;

export const DAILY = sqlv.ident(ROLLUP_TABLES.daily.name);
export const HOURLY = sqlv.ident(ROLLUP_TABLES.hourly.name);

/** Aggregates come back as strings (64-bit) or numbers; signed sums may be negative in flight. */
export const toCount = (v: unknown): number => {
  const n = Number(v ?? 0);
  if (!Number.isFinite(n)) throw new Error(`not a number from ClickHouse: ${String(v)}`);
  return n;
};
