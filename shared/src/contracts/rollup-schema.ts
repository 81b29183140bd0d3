import type { EventSource } from './event-envelope.ts';
import { TABLES } from './names.ts';

/**
 * The rollup tables as the migrations create them (0026, 0030): the one description the processor
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
  'utm_term',
  'utm_content',
  'exit_domain',
  'download',
  'country',
  'browser',
  'os',
  'device',
  'event',
  'notfound',
  'page_class',
  /** Built-in events by kind (call, email, directions, form). */
  'action',
  /** Form submissions by form (its declared name, or its page). */
  'form',
  /** Page views by the deepest scroll bucket they reached (0, 25, 50, 75, 100). */
  'scroll',
  /** The same per page: `<page>#<bucket>` (a stored page never holds a `#`). */
  'scroll_page',
  /** Visits and page views by screen class (mobile, tablet, laptop, desktop). */
  'screen',
  'channel',
  'goal',
  'goal_entry',
  'goal_channel',
  'goal_referrer',
  'goal_campaign',
  'goal_country',
  'goal_device',
] as const;
export type RollupDimension = (typeof ROLLUP_DIMENSIONS)[number];

/**
 * Custom-event property dimensions, one per declared key: `prop:<key>`, a row per value. Their values
 * are free text unless declared (see FREE_TEXT_DIMENSIONS), and capped per practice and day.
 */
export const PROP_DIMENSION_PREFIX = 'prop:';
export type PropDimension = `prop:${string}`;
export const propDimension = (key: string): PropDimension => `${PROP_DIMENSION_PREFIX}${key}`;
export const isPropDimension = (dim: string): dim is PropDimension => dim.startsWith(PROP_DIMENSION_PREFIX);
/**
 * The cap on free-text property values a practice keeps per day and source (across its `prop:`
 * dimensions, when the day's visitor states are sealed); the values past it are counted under
 * PROP_CUT_VALUE. Declared values are bounded by their declarations and not counted against it.
 */
export const PROP_VALUES_CAP = 100;
export const PROP_CUT_VALUE = '(other)';

/** The separator of a `scroll_page` value: `/services#75`. */
export const SCROLL_PAGE_SEPARATOR = '#';

/**
 * Goals (issue 18). `goal` rows hold each goal's conversions (`events`: events that reached it),
 * converting visits (`visits`: visits that reached it, once each) and converting visitors, by goal
 * id. The breakdowns hold the same two counts per goal and value of the visit's entry page, channel,
 * referrer, campaign, country and device, as `<goal id>:<value>` (goal ids have no colon). A
 * conversion rate is read as converting visits over the visits of the same value (its base dimension).
 */
export const GOAL_BREAKDOWNS = {
  goal_entry: 'entry',
  goal_channel: 'channel',
  goal_referrer: 'referrer',
  goal_campaign: 'utm_campaign',
  goal_country: 'country',
  goal_device: 'device',
} as const satisfies Partial<Record<RollupDimension, RollupDimension>>;
export type GoalBreakdown = keyof typeof GOAL_BREAKDOWNS;

/** The stored value of a goal breakdown row. */
export const goalValue = (goalId: string, value: string): string => `${goalId}:${value}`;
/** A goal breakdown row's goal id and value. */
export function splitGoalValue(stored: string): { goalId: string; value: string } {
  const cut = stored.indexOf(':');
  return cut < 0 ? { goalId: stored, value: '' } : { goalId: stored.slice(0, cut), value: stored.slice(cut + 1) };
}

/**
 * Dimensions whose values are free text from outside (a referring site, campaign parameters, a form
 * name that anyone may send with a beacon). Their
 * counts stay beside their visitor states until the day is sealed (migrations 0029, 0030); a value seen
 * from fewer than k distinct visitors is then stored as RARE_VALUE (in a goal breakdown, under its goal:
 * `<goal id>:(rare)`), and the value itself is dropped with the states' partition. Property dimensions (`prop:<key>`) are held the same way when their rows carry
 * visitor values: the processor writes a declared value without any, so that only undeclared values
 * are held and folded; so too a form counted by its page (a scrubbed path, as the `page` rows hold).
 */
export const FREE_TEXT_DIMENSIONS: readonly RollupDimension[] = [
  'referrer',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_term',
  'utm_content',
  'form',
  'goal_referrer',
  'goal_campaign',
];
const FREE_TEXT: ReadonlySet<string> = new Set(FREE_TEXT_DIMENSIONS);
/** Whether the rows of `dim` are held and folded by the rare-value rule (a free-text or a property dimension). */
export const isFreeTextDimension = (dim: string): boolean => FREE_TEXT.has(dim) || isPropDimension(dim);
/** The same test in ClickHouse SQL over a `dim` column, as migration 0030's views spell it (`LIKE` works on 18.16 and 24.x alike). */
export const FREE_TEXT_DIM_SQL = `(dim IN (${FREE_TEXT_DIMENSIONS.map((d) => `'${d}'`).join(', ')}) OR dim LIKE 'prop:%')`;
export const RARE_VALUE = '(rare)';

/**
 * The metrics of a rollup row: each is an aggregate state column, filled from an input column of
 * the ingest table. Counts are signed sums, so a visit's exit page and bounce can be corrected as the
 * visit goes on. Visitors are two columns: uniq states over row-keyed visitor values while their salt
 * period is open (`states` 1 or 2), and plain counts once it is sealed (`visitors_closed`, `states` 0).
 */
export const ROLLUP_METRICS = {
  pageviews: { aggregate: 'sum', input: 'pageviews', inputType: 'Int64' },
  visits: { aggregate: 'sum', input: 'visits', inputType: 'Int64' },
  bounces: { aggregate: 'sum', input: 'bounces', inputType: 'Int64' },
  engaged_ms: { aggregate: 'sum', input: 'engaged_ms', inputType: 'Int64' },
  events: { aggregate: 'sum', input: 'events', inputType: 'Int64' },
  visitors: { aggregate: 'uniqArray', input: 'visitor_hashes', inputType: 'Array(UInt64)' },
  visitors_closed: { aggregate: 'sum', input: 'visitor_count', inputType: 'UInt64' },
} as const;
/** A column of a rollup table that holds a metric's state. */
export type RollupStateColumn = keyof typeof ROLLUP_METRICS;
/** What a reader asks for: the visitor columns read as one metric. */
export type RollupMetric = Exclude<RollupStateColumn, 'visitors_closed'>;
/** The type of a state column in a rollup table, e.g. `AggregateFunction(sum, Int64)`. */
export const metricStateType = (m: RollupStateColumn): string =>
  `AggregateFunction(${ROLLUP_METRICS[m].aggregate}, ${ROLLUP_METRICS[m].inputType})`;
/**
 * The expression that merges a metric's states when reading, e.g. `sumMerge(pageviews)`. Visitors
 * are the open states' unique count plus the sealed counts: a row holds one or the other.
 */
export const metricMergeExpression = (m: RollupMetric): string =>
  m === 'visitors'
    ? '(uniqArrayMerge(visitors) + sumMerge(visitors_closed))'
    : `${ROLLUP_METRICS[m].aggregate}Merge(${m})`;

/** rollup_monthly_visitors: what seals added to each row's month; its `visitors` are sums of counts. */
export const MONTHLY_VISITORS_TABLE = {
  name: TABLES.rollupMonthlyVisitors,
  visitorsMerge: 'sumMerge(visitors)',
} as const;

/**
 * What a rollup row's `states` column says: 0 counts only, 1 visitor states keyed under a daily
 * salt, 2 under a monthly salt (cookie mode), 3 and 4 the same for events that came after their
 * period had closed, kept by the hour they were written. Partitions keep them apart (migration 0026).
 */
export const ROLLUP_STATES = { counts: 0, daily: 1, monthly: 2, lateDaily: 3, lateMonthly: 4 } as const;
export type VisitorStates = (typeof ROLLUP_STATES)[keyof typeof ROLLUP_STATES];

const PRACTICE_ID = { name: 'practice_id', type: 'String' } as const;
/** The practice's local day (days since 1970-01-01) and hour: nothing finer is kept. */
const DAY = { name: 'day', type: 'Date' } as const;
const HOUR = { name: 'hour', type: 'UInt8' } as const;
const SOURCE = { name: 'source', type: enum8(ROLLUP_SOURCE_CODES) } as const;
const DIM = { name: 'dim', type: 'String' } as const;
const VALUE = { name: 'value', type: 'String' } as const;
const STATES = { name: 'states', type: 'UInt8' } as const;
/** Hours since 1970-01-01 when late states (3, 4) were written; 0 on every other row. */
const WRITTEN_HOUR = { name: 'written_hour', type: 'UInt32' } as const;

export type RollupTable = {
  readonly name: string;
  /** The columns that identify a row (the sorting key, and `states`, which picks its partition), in table order. */
  readonly keyColumns: readonly ColumnSpec[];
  /**
   * The sorting key, in order: what a read can narrow by. Daily rows are sorted by dimension before
   * day (0030), so a read of one dimension over a day range touches only that dimension's rows.
   */
  readonly sortedBy: readonly string[];
  /** The metrics a reader may ask for. */
  readonly metrics: readonly RollupMetric[];
  /** The state columns, in table order, after the key columns. */
  readonly stateColumns: readonly RollupStateColumn[];
};

export const ROLLUP_TABLES = {
  daily: {
    name: TABLES.rollupDaily,
    keyColumns: [PRACTICE_ID, DAY, SOURCE, DIM, VALUE, STATES, WRITTEN_HOUR],
    sortedBy: ['practice_id', 'dim', 'source', 'day', 'value'],
    metrics: ['pageviews', 'visits', 'bounces', 'engaged_ms', 'events', 'visitors'],
    stateColumns: ['pageviews', 'visits', 'bounces', 'engaged_ms', 'events', 'visitors', 'visitors_closed'],
  },
  /** No breakdowns and no events by the hour. */
  hourly: {
    name: TABLES.rollupHourly,
    keyColumns: [PRACTICE_ID, DAY, HOUR, SOURCE, STATES, WRITTEN_HOUR],
    sortedBy: ['practice_id', 'day', 'hour', 'source'],
    metrics: ['pageviews', 'visits', 'bounces', 'engaged_ms', 'visitors'],
    stateColumns: ['pageviews', 'visits', 'bounces', 'engaged_ms', 'visitors', 'visitors_closed'],
  },
} as const satisfies Record<string, RollupTable>;

/** All columns of a rollup table, in table order. */
export const rollupTableColumns = (table: RollupTable): ColumnSpec[] => [
  ...table.keyColumns,
  ...table.stateColumns.map((m) => ({ name: m, type: metricStateType(m) })),
];

/** What a row of the ingest table is: the views fan each kind out to its own table. */
export const INGEST_KIND_CODES = { daily: 1, hourly: 2, ledger: 3, lines: 4, monthly: 5, seal: 6 } as const;

/**
 * `rollup_ingest_v3` (Null engine), the one entry point of the processor and the sealer: each insert
 * is one block of daily rows, hourly rows, the import lines they apply and one ledger row
 * (processor_ledger); or, from the sealer, counts, a cookie-mode month's visitors (`monthly`) and
 * one `seal` row per practice sealed; so all of them commit or none. A row fills the columns of its
 * kind and leaves the others at their defaults. Daily and hourly rows carry either visitor values
 * with `states` 1 or 2, or a sealed `visitor_count` with `states` 0.
 */
export const INGEST_TABLE = {
  name: TABLES.rollupIngest,
  columns: [
    { name: 'kind', type: enum8(INGEST_KIND_CODES) },
    PRACTICE_ID,
    DAY,
    HOUR,
    SOURCE,
    DIM,
    VALUE,
    STATES,
    WRITTEN_HOUR,
    { name: 'pageviews', type: ROLLUP_METRICS.pageviews.inputType },
    { name: 'visits', type: ROLLUP_METRICS.visits.inputType },
    { name: 'bounces', type: ROLLUP_METRICS.bounces.inputType },
    { name: 'engaged_ms', type: ROLLUP_METRICS.engaged_ms.inputType },
    { name: 'events', type: ROLLUP_METRICS.events.inputType },
    { name: 'visitor_hashes', type: ROLLUP_METRICS.visitors.inputType },
    { name: 'visitor_count', type: ROLLUP_METRICS.visitors_closed.inputType },
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
