import type { EventSource } from './event-envelope.ts';
import { TABLES } from './names.ts';

/**
 * The rollup tables as the migrations create them (0002, 0023): the one description the processor
 * writes by and the reporter reads by. `tests/clickhouse/rollup-schema.test.ts` checks it against a
 * migrated database, so a migration that changes a rollup column must change this module too.
 * Type names are spelled as ClickHouse reports them in `system.columns`.
 */

/** A column: its name and its type. */
export type ColumnSpec = { readonly name: string; readonly type: string };

const enum8 = (codes: Readonly<Record<string, number>>): string =>
  `Enum8(${Object.entries(codes)
    .map(([name, code]) => `'${name}' = ${code}`)
    .join(', ')})`;

/** The Enum8 codes of `source` (an envelope's source) in every rollup table. */
export const ROLLUP_SOURCE_CODES: Readonly<Record<EventSource, number>> = { snippet: 1, logs: 2 };

/**
 * The `dim` values of rollup_daily, written by the processor and read by the reporter.
 * `total` holds the practice's day totals (value ''); the others are breakdowns.
 */
export const ROLLUP_DIMENSIONS = [
  'total',
  'page',
  'entry',
  'exit',
  'referrer',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'exit_domain',
  'download',
  'country',
  'browser',
  'os',
  'device',
  'event',
  'notfound',
  'page_class',
] as const;
export type RollupDimension = (typeof ROLLUP_DIMENSIONS)[number];

/**
 * The metrics of a rollup row: each is an aggregate state column, filled from an input column of
 * the ingest table. Counts are signed sums, so a visit's exit page and bounce can be corrected as the
 * visit goes on; visitors are uniq states over keyed visitor hashes, never the keys themselves.
 */
export const ROLLUP_METRICS = {
  pageviews: { aggregate: 'sum', input: 'pageviews', inputType: 'Int64' },
  visits: { aggregate: 'sum', input: 'visits', inputType: 'Int64' },
  bounces: { aggregate: 'sum', input: 'bounces', inputType: 'Int64' },
  engaged_ms: { aggregate: 'sum', input: 'engaged_ms', inputType: 'Int64' },
  events: { aggregate: 'sum', input: 'events', inputType: 'Int64' },
  visitors: { aggregate: 'uniqArray', input: 'visitor_hashes', inputType: 'Array(UInt64)' },
} as const;
export type RollupMetric = keyof typeof ROLLUP_METRICS;
/** The type of a metric's column in a rollup table, e.g. `AggregateFunction(sum, Int64)`. */
export const metricStateType = (m: RollupMetric): string =>
  `AggregateFunction(${ROLLUP_METRICS[m].aggregate}, ${ROLLUP_METRICS[m].inputType})`;
/** The expression that merges a metric's states when reading, e.g. `sumMerge(pageviews)`. */
export const metricMergeExpression = (m: RollupMetric): string => `${ROLLUP_METRICS[m].aggregate}Merge(${m})`;

const PRACTICE_ID = { name: 'practice_id', type: 'String' } as const;
/** The practice's local day (days since 1970-01-01) and hour: nothing finer is kept. */
const DAY = { name: 'day', type: 'Date' } as const;
const HOUR = { name: 'hour', type: 'UInt8' } as const;
const SOURCE = { name: 'source', type: enum8(ROLLUP_SOURCE_CODES) } as const;
const DIM = { name: 'dim', type: 'String' } as const;
const VALUE = { name: 'value', type: 'String' } as const;

export type RollupTable = {
  readonly name: string;
  /** The columns that identify a row (the sorting key), in table order. */
  readonly keyColumns: readonly ColumnSpec[];
  /** The metric columns, in table order, after the key columns. */
  readonly metrics: readonly RollupMetric[];
};

export const ROLLUP_TABLES = {
  daily: {
    name: TABLES.rollupDaily,
    keyColumns: [PRACTICE_ID, DAY, SOURCE, DIM, VALUE],
    metrics: ['pageviews', 'visits', 'bounces', 'engaged_ms', 'events', 'visitors'],
  },
  /** No breakdowns and no events by the hour. */
  hourly: {
    name: TABLES.rollupHourly,
    keyColumns: [PRACTICE_ID, DAY, HOUR, SOURCE],
    metrics: ['pageviews', 'visits', 'bounces', 'engaged_ms', 'visitors'],
  },
} as const satisfies Record<string, RollupTable>;

/** All columns of a rollup table, in table order. */
export const rollupTableColumns = (table: RollupTable): ColumnSpec[] => [
  ...table.keyColumns,
  ...table.metrics.map((m) => ({ name: m, type: metricStateType(m) })),
];

/** What a row of the ingest table is: the views fan each kind out to its own table. */
export const INGEST_KIND_CODES = { daily: 1, hourly: 2, ledger: 3, lines: 4 } as const;

/**
 * `rollup_ingest_v2` (Null engine), the processor's one entry point: each insert is one block of daily
 * rows, hourly rows, the import lines they apply and one ledger row (processor_ledger), so all of them
 * commit or none. A row fills the columns of its kind and leaves the others at their defaults.
 */
export const INGEST_TABLE = {
  name: TABLES.rollupIngestV2,
  columns: [
    { name: 'kind', type: enum8(INGEST_KIND_CODES) },
    PRACTICE_ID,
    DAY,
    HOUR,
    SOURCE,
    DIM,
    VALUE,
    { name: 'pageviews', type: ROLLUP_METRICS.pageviews.inputType },
    { name: 'visits', type: ROLLUP_METRICS.visits.inputType },
    { name: 'bounces', type: ROLLUP_METRICS.bounces.inputType },
    { name: 'engaged_ms', type: ROLLUP_METRICS.engaged_ms.inputType },
    { name: 'events', type: ROLLUP_METRICS.events.inputType },
    { name: 'visitor_hashes', type: ROLLUP_METRICS.visitors.inputType },
    // The ledger row: where the batch ends in its partition.
    { name: 'consumer_group', type: 'String' },
    { name: 'topic', type: 'String' },
    { name: 'partition', type: 'UInt32' },
    { name: 'next_offset', type: 'UInt64' },
    { name: 'batch_id', type: 'String' },
    // The lines rows: 64 applied lines of one import per row (import_line_ledger).
    { name: 'import_key', type: 'String' },
    { name: 'word', type: 'UInt64' },
    { name: 'bits', type: 'UInt64' },
  ],
} as const satisfies { name: string; columns: readonly ColumnSpec[] };
export type IngestColumn = (typeof INGEST_TABLE.columns)[number]['name'];
