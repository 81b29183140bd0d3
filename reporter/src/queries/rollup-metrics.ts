import {
  metricMergeExpression,
  ROLLUP_DIMENSIONS,
  ROLLUP_TABLES,
  sqlv,
  type EventSource,
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

/** Breakdown dimensions a caller may ask for (`total` is read through the totals queries). */
export const BREAKDOWN_DIMENSIONS = ROLLUP_DIMENSIONS.filter(
  (d): d is Exclude<RollupDimension, 'total'> => d !== 'total',
);
export type BreakdownDimension = (typeof BREAKDOWN_DIMENSIONS)[number];

/** `m_<metric>` aliases: 18.16 rejects an alias equal to the aggregated column's name. */
export const metricAlias = (m: RollupMetric): string => `m_${m}`;

export const metricSelect = (metrics: readonly RollupMetric[]): string =>
  metrics.map((m) => `${metricMergeExpression(m)} AS ${sqlv.ident(metricAlias(m))}`).join(', ');

export type RangeFilter = { practiceId: string; source: EventSource; from: string; to: string };

/**
 * The key conditions of a daily read, for PREWHERE: ClickHouse 18.16 does not move conditions there
 * itself, and reading these few columns first spares the state columns of the rows they rule out.
 */
export const dailyKeyConditions = (f: RangeFilter, dims: readonly RollupDimension[]): string =>
  `practice_id = ${sqlv.str(f.practiceId)} AND ${sqlv.inList('dim', dims, sqlv.str)} AND source = ${sqlv.str(f.source)} AND day BETWEEN ${sqlv.date(f.from)} AND ${sqlv.date(f.to)}`;

export const DAILY = sqlv.ident(ROLLUP_TABLES.daily.name);
export const HOURLY = sqlv.ident(ROLLUP_TABLES.hourly.name);

/** Aggregates come back as strings (64-bit) or numbers; signed sums may be negative in flight. */
export const toCount = (v: unknown): number => {
  const n = Number(v ?? 0);
  if (!Number.isFinite(n)) throw new Error(`not a number from ClickHouse: ${String(v)}`);
  return n;
};
