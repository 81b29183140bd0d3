import { ROLLUP_DIMENSIONS, TABLES, sqlv, type RollupDimension } from '@confidant/shared';

/**
 * The whitelist of metrics and dimensions the reporter reads from the rollups. Identifiers and
 * expressions in queries come only from here; values go through `sqlv`.
 */
export const METRIC_EXPRESSIONS = {
  pageviews: 'sumMerge(pageviews)',
  visits: 'sumMerge(visits)',
  bounces: 'sumMerge(bounces)',
  engaged_ms: 'sumMerge(engaged_ms)',
  events: 'sumMerge(events)',
  visitors: 'uniqArrayMerge(visitors)',
} as const;

export type Metric = keyof typeof METRIC_EXPRESSIONS;
export const METRICS = Object.keys(METRIC_EXPRESSIONS) as Metric[];
/** rollup_hourly keeps no events. */
export const HOURLY_METRICS: Metric[] = ['pageviews', 'visits', 'bounces', 'engaged_ms', 'visitors'];

/** Breakdown dimensions a caller may ask for (`total` is read through the totals queries). */
export const DIMENSIONS = ROLLUP_DIMENSIONS.filter((d): d is Exclude<RollupDimension, 'total'> => d !== 'total');
export type Dimension = (typeof DIMENSIONS)[number];

export const SOURCES = ['snippet', 'logs'] as const;
export type Source = (typeof SOURCES)[number];

/** `m_<metric>` aliases: 18.16 rejects an alias equal to the aggregated column's name. */
export const metricAlias = (m: Metric): string => `m_${m}`;

export const metricSelect = (metrics: readonly Metric[]): string =>
  metrics.map((m) => `${METRIC_EXPRESSIONS[m]} AS ${sqlv.ident(metricAlias(m))}`).join(', ');

export type RangeFilter = { practiceId: string; source: Source; from: string; to: string };

export const dailyWhere = (f: RangeFilter, dim: string): string =>
  `practice_id = ${sqlv.str(f.practiceId)} AND source = ${sqlv.str(f.source)} AND dim = ${sqlv.str(dim)} AND day BETWEEN ${sqlv.date(f.from)} AND ${sqlv.date(f.to)}`;

export const DAILY = sqlv.ident(TABLES.rollupDaily);
export const HOURLY = sqlv.ident(TABLES.rollupHourly);

/** Aggregates come back as strings (64-bit) or numbers; signed sums may be negative in flight. */
export const toCount = (v: unknown): number => {
  const n = Number(v ?? 0);
  if (!Number.isFinite(n)) throw new Error(`not a number from ClickHouse: ${String(v)}`);
  return n;
};
