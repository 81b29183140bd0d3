import {
  DEFAULT_RARE_VALUE_MIN_VISITORS,
  isFreeTextDimension,
  isPropDimension,
  PROP_CUT_VALUE,
  PROP_VALUES_CAP,
  GOAL_BREAKDOWNS,
  RARE_VALUE,
  goalValue,
  splitGoalValue,
  ROLLUP_STATES,
  ROLLUP_TABLES,
  SEAL_MARGIN_MS,
  TABLES,
  sqlv,
  statesPartitionClosesAt,
  type CommonConfig,
  type Db,
  type EventSource,
  type RollupDimension,
  type VisitorStates,
} from '@confidant/shared';
import type { DailyRollupRow, HourlyRollupRow } from '../aggregate/rollup-accumulator.ts';
import { buildIngestBlock, insertIngestBlock, type MonthlyVisitorsRow } from '../clickhouse/rollup-writer.ts';

const DAY_MS = 86_400_000;
const DAILY = sqlv.ident(ROLLUP_TABLES.daily.name);
const HOURLY = sqlv.ident(ROLLUP_TABLES.hourly.name);

/**
 * The states of one partition: a day's (daily salt), a month's (monthly salt; `day` is its first), or
 * the late ones of a month written in one hour (`writtenHour`).
 */
export type SealUnit = { states: OpenStates; day: number; lastDay: number; writtenHour: number };
type OpenStates = Exclude<VisitorStates, 0>;
const MONTHLY_SALT: ReadonlySet<number> = new Set([ROLLUP_STATES.monthly, ROLLUP_STATES.lateMonthly]);

export type SealerDeps = {
  db: Db;
  clickhouse: CommonConfig['clickhouse'];
  /** k of the rare-value rule: a free-text value seen from fewer visitors in a day is stored as RARE_VALUE. */
  rareValueMinVisitors?: number;
  /** How many free-text property values a practice keeps per day and source (default PROP_VALUES_CAP). */
  propValuesCap?: number;
  now?: () => number;
  insert?: typeof insertIngestBlock;
  /** Throws once this process may no longer be the only sealer (its lock is gone): checked before each block. */
  stillExclusive?: () => Promise<void>;
};

const monthOf = (day: number) => {
  const d = new Date(day * DAY_MS);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) / DAY_MS;
};
const isoDay = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);
const dayOf = (iso: string) => Date.parse(`${iso}T00:00:00Z`) / DAY_MS;

function unitOf(states: OpenStates, day: number, writtenHour: number): SealUnit {
  if (states === ROLLUP_STATES.daily) return { states, day, lastDay: day, writtenHour };
  const d = new Date(day * DAY_MS);
  const first = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) / DAY_MS;
  return { states, day: first, lastDay: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0) / DAY_MS, writtenHour };
}

/** The partitions of visitor states still stored, closed or not. */
async function storedStateUnits(db: Db): Promise<SealUnit[]> {
  const distinct = (table: string) => `SELECT DISTINCT states, day, written_hour FROM ${table} WHERE states != 0`;
  const rows = await db.rows<{ states: number; d: string; wh: number }>(
    `SELECT states, toString(day) AS d, written_hour AS wh FROM (${distinct(DAILY)} UNION ALL ${distinct(HOURLY)}) AS stored GROUP BY states, d, wh`,
  );
  const units = new Map<string, SealUnit>();
  for (const r of rows) {
    const unit = unitOf(Number(r.states) as OpenStates, dayOf(r.d), Number(r.wh));
    units.set(`${unit.states}:${unit.day}:${unit.writtenHour}`, unit);
  }
  return [...units.values()].sort((a, b) => a.day - b.day || a.states - b.states || a.writtenHour - b.writtenHour);
}

const unitWhere = (unit: SealUnit) =>
  `states = ${sqlv.int(unit.states)} AND written_hour = ${sqlv.int(unit.writtenHour)}` +
  ` AND day BETWEEN ${sqlv.date(isoDay(unit.day))} AND ${sqlv.date(isoDay(unit.lastDay))}`;

type CountRow = { d: string; src: EventSource; n: string };

/**
 * The per-practice cap on free-text property values: of the values of a day and source that the
 * rare-value rule keeps, the PROP_VALUES_CAP seen from most visitors (ties by value), across all
 * `prop:` dimensions. Declared values are not here: they were counted at once, without visitor states.
 */
function propValuesKept(rows: readonly DailyRollupRow[], k: number, cap: number): Set<DailyRollupRow> {
  const byDay = new Map<string, DailyRollupRow[]>();
  for (const row of rows) {
    if (!isPropDimension(row.dim) || row.visitorCount < k) continue;
    const id = `${row.day}\u0000${row.source}`;
    const list = byDay.get(id);
    if (list) list.push(row);
    else byDay.set(id, [row]);
  }
  const kept = new Set<DailyRollupRow>();
  for (const list of byDay.values()) {
    list.sort((a, b) => b.visitorCount - a.visitorCount || (a.dim + a.value < b.dim + b.value ? -1 : 1));
    for (const row of list.slice(0, cap)) kept.add(row);
  }
  return kept;
}

const GOAL_ROWS: ReadonlySet<string> = new Set(Object.keys(GOAL_BREAKDOWNS));

/** What a rare value is stored as: RARE_VALUE, under its goal in a goal breakdown. */
const rareValue = (row: DailyRollupRow): string =>
  GOAL_ROWS.has(row.dim) ? goalValue(splitGoalValue(row.value).goalId, RARE_VALUE) : RARE_VALUE;

/**
 * The rare-value rule: a free-text row seen from fewer than `k` visitors is counted under RARE_VALUE
 * (with the other rare ones of its day, source and dimension); its value is stored nowhere else. A
 * property value past the practice's cap is counted the same way under PROP_CUT_VALUE.
 */
function foldRare(rows: DailyRollupRow[], k: number, cap: number): DailyRollupRow[] {
  const out = new Map<string, DailyRollupRow>();
  const propsKept = propValuesKept(rows, k, cap);
  for (const row of rows) {
    const rare = isFreeTextDimension(row.dim) && row.visitorCount < k;
    const cut = !rare && isPropDimension(row.dim) && !propsKept.has(row);
    const value = rare ? rareValue(row) : cut ? PROP_CUT_VALUE : row.value;
    const id = `${row.day}\u0000${row.source}\u0000${row.dim}\u0000${value}`;
    const into = out.get(id);
    if (!into) out.set(id, { ...row, value });
    else
      for (const m of ['pageviews', 'visits', 'bounces', 'engagedMs', 'events', 'visitorCount'] as const)
        into[m] += row[m];
  }
  return [...out.values()];
}

/** Daily-salt counts summed per row and month: a daily key never comes back on another day. */
function daysByMonth(rows: readonly DailyRollupRow[]): MonthlyVisitorsRow[] {
  const months = new Map<string, MonthlyVisitorsRow>();
  for (const r of rows) {
    const month = monthOf(r.day);
    const id = `${r.source}\u0000${month}\u0000${r.dim}\u0000${r.value}`;
    const row = months.get(id);
    if (row) row.visitorCount += r.visitorCount;
    else
      months.set(id, {
        practiceId: r.practiceId,
        source: r.source,
        month,
        dim: r.dim,
        value: r.value,
        visitorCount: r.visitorCount,
      });
  }
  return [...months.values()];
}

/**
 * One practice's states of one unit as one block: the exact unique count of every row at this
 * moment (sealed counts, `states` 0); what it adds to each row's month (for a monthly salt the
 * unique count across the unit's days, else the sum of its days' counts: daily keys never repeat
 * across days); and the seal row that says this practice's unit is done, so that a sealing stopped
 * half way is not counted twice.
 */
async function sealPractice(deps: SealerDeps, unit: SealUnit, practiceId: string): Promise<void> {
  const { db } = deps;
  const where = `practice_id = ${sqlv.str(practiceId)} AND ${unitWhere(unit)}`;
  const monthlySalt = MONTHLY_SALT.has(unit.states);
  const [daily, hourly, acrossDays] = await Promise.all([
    // Free-text rows keep their counts beside their states (0029): they move to the counts here.
    db.rows<CountRow & { dim: RollupDimension; value: string } & Record<'pv' | 'vi' | 'bo' | 'en' | 'ev', string>>(
      `SELECT toString(day) AS d, toString(source) AS src, dim, value, toString(uniqArrayMerge(visitors)) AS n,` +
        ` toString(sumMerge(pageviews)) AS pv, toString(sumMerge(visits)) AS vi, toString(sumMerge(bounces)) AS bo,` +
        ` toString(sumMerge(engaged_ms)) AS en, toString(sumMerge(events)) AS ev` +
        ` FROM ${DAILY} WHERE ${where} GROUP BY d, src, dim, value`,
    ),
    db.rows<CountRow & { h: number }>(
      `SELECT toString(day) AS d, hour AS h, toString(source) AS src, toString(uniqArrayMerge(visitors)) AS n FROM ${HOURLY} WHERE ${where} GROUP BY d, h, src`,
    ),
    monthlySalt
      ? db.rows<Omit<CountRow, 'd'> & { dim: RollupDimension; value: string }>(
          `SELECT toString(source) AS src, dim, value, toString(uniqArrayMerge(visitors)) AS n FROM ${DAILY} WHERE ${where} GROUP BY src, dim, value`,
        )
      : Promise.resolve(null),
  ]);
  const zero = {
    pageviews: 0,
    visits: 0,
    bounces: 0,
    engagedMs: 0,
    states: ROLLUP_STATES.counts,
    writtenHour: 0,
    visitorHashes: [],
  };
  const k = deps.rareValueMinVisitors ?? DEFAULT_RARE_VALUE_MIN_VISITORS;
  const cap = deps.propValuesCap ?? PROP_VALUES_CAP;
  const dailyRows = foldRare(
    daily.map((r) => ({
      ...zero,
      practiceId,
      day: dayOf(r.d),
      source: r.src,
      dim: r.dim,
      value: r.value,
      pageviews: Number(r.pv),
      visits: Number(r.vi),
      bounces: Number(r.bo),
      engagedMs: Number(r.en),
      events: Number(r.ev),
      visitorCount: Number(r.n),
    })),
    k,
    cap,
  );
  const hourlyRows: HourlyRollupRow[] = hourly.map((r) => ({
    ...zero,
    practiceId,
    day: dayOf(r.d),
    hour: Number(r.h),
    source: r.src,
    visitorCount: Number(r.n),
  }));
  const monthly: MonthlyVisitorsRow[] = acrossDays
    ? daysByMonth(
        foldRare(
          acrossDays.map((r) => ({
            ...zero,
            practiceId,
            day: unit.day,
            source: r.src,
            dim: r.dim,
            value: r.value,
            events: 0,
            visitorCount: Number(r.n),
          })),
          k,
          cap,
        ),
      )
    : daysByMonth(dailyRows);
  const block = buildIngestBlock({
    daily: dailyRows,
    hourly: hourlyRows,
    monthly,
    seals: [{ practiceId, day: unit.day, states: unit.states, writtenHour: unit.writtenHour }],
    ledger: null,
  });
  const queryId = `seal-${unit.states}-${unit.day}-${unit.writtenHour}-${practiceId}`;
  await deps.stillExclusive?.();
  await (deps.insert ?? insertIngestBlock)(deps.clickhouse, block, queryId);
}

/** Drops the unit's partitions of states (read from system.parts, so the same on every version). */
async function dropStatePartitions(db: Db, unit: SealUnit): Promise<void> {
  const d = new Date(unit.day * DAY_MS);
  const month = d.getUTCFullYear() * 100 + d.getUTCMonth() + 1;
  const dayOfMonth = unit.states === ROLLUP_STATES.daily ? d.getUTCDate() : 0;
  const wanted = `(${month},${unit.states},${dayOfMonth},${unit.writtenHour})`;
  const parts = await db.rows<{ table: string; partition_id: string; partition: string }>(
    `SELECT DISTINCT table, partition_id, partition FROM system.parts WHERE database = currentDatabase() AND active` +
      ` AND ${sqlv.inList('table', [ROLLUP_TABLES.daily.name, ROLLUP_TABLES.hourly.name], sqlv.str)}`,
  );
  for (const part of parts)
    if (part.partition.replaceAll(' ', '') === wanted)
      await db.command(`ALTER TABLE ${sqlv.ident(part.table)} DROP PARTITION ID ${sqlv.str(part.partition_id)}`);
}

/**
 * Seals every partition of states that closed at least SEAL_MARGIN_MS ago: each practice's states
 * become counts (one block per practice, skipped when the ledger already has its seal row), then
 * the partition is dropped. Nothing writes to a closed partition (the processor puts late visitors
 * in the partition of the hour it writes them), so what is counted is what is dropped. A unit that
 * fails is left for the next run, after the others are sealed; then the run throws.
 */
export async function sealClosedVisitorStates(deps: SealerDeps): Promise<SealUnit[]> {
  const { db } = deps;
  const now = (deps.now ?? Date.now)();
  const sealed: SealUnit[] = [];
  // A unit that cannot be sealed (a block refused every time) must not hold back the units after it.
  const failures: unknown[] = [];
  for (const unit of await storedStateUnits(db)) {
    if (now < statesPartitionClosesAt(unit) + SEAL_MARGIN_MS) continue;
    // Without the lock nothing more is sealed (checked again before each block).
    await deps.stillExclusive?.();
    try {
      await sealUnit(deps, unit);
      sealed.push(unit);
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, `sealing failed for ${failures.length} units`);
  return sealed;
}

async function sealUnit(deps: SealerDeps, unit: SealUnit): Promise<void> {
  const { db } = deps;
  const [practices, done] = await Promise.all([
    db.rows<{ p: string }>(
      `SELECT DISTINCT practice_id AS p FROM ${DAILY} WHERE ${unitWhere(unit)} UNION ALL SELECT DISTINCT practice_id AS p FROM ${HOURLY} WHERE ${unitWhere(unit)}`,
    ),
    db.rows<{ p: string }>(
      `SELECT DISTINCT practice_id AS p FROM ${sqlv.ident(TABLES.visitorSealLedger)} WHERE states = ${sqlv.int(unit.states)}` +
        ` AND written_hour = ${sqlv.int(unit.writtenHour)} AND day = ${sqlv.date(isoDay(unit.day))}`,
    ),
  ]);
  const skip = new Set(done.map((r) => r.p));
  for (const practiceId of new Set(practices.map((r) => r.p)))
    if (!skip.has(practiceId)) await sealPractice(deps, unit, practiceId);
  await dropStatePartitions(db, unit);
}
