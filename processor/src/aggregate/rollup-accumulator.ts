import {
  ROLLUP_DIMENSIONS,
  ROLLUP_STATES,
  visitorStatesCloseAt,
  type EventSource,
  type PropDimension,
  type RollupDimension,
  type VisitorStates,
} from '@confidant/shared';
import { dailyRowIdentity, hourlyRowIdentity, rowVisitorValue } from '../session/visitor-hash.ts';
import { PartnerDays } from './partner-days.ts';

/**
 * The summed metrics of a rollup row: the rollup schema's counts, camel-cased (a row's visitors are
 * its hash set). The writer's tests check the rows against the schema.
 */
export type RollupCounts = { pageviews: number; visits: number; bounces: number; engagedMs: number; events: number };

/**
 * Dimensions and counts by position, for the hot path: `rows.add(D.page, path, M.pageviews, 1, visitor)`
 * indexes arrays instead of building a string key per call.
 */
export const D = Object.fromEntries(ROLLUP_DIMENSIONS.map((d, i) => [d, i])) as Record<RollupDimension, number>;
export const M = { pageviews: 0, visits: 1, bounces: 2, engagedMs: 3, events: 4 } as const satisfies Record<
  keyof RollupCounts,
  number
>;
/** For `add` calls that only record a visitor. */
export const NO_METRIC = -1;

export type DailyRollupKey = {
  practiceId: string;
  day: number;
  source: EventSource;
  dim: RollupDimension | PropDimension;
  value: string;
};
export type HourlyRollupKey = { practiceId: string; day: number; hour: number; source: EventSource };
/** The salt period of a row's visitor keys, as the `states` its values go to while it is open. */
export type SaltStates = typeof ROLLUP_STATES.daily | typeof ROLLUP_STATES.monthly;
/**
 * A row's visitors: values for the uniq state of `states`, its salt period's (1, 2) while that is
 * open, or once it has closed (late events) the late one's (3, 4) with the hour they were written.
 * Only the sealer writes counts (`visitorCount`, `states` 0).
 */
export type RowVisitors = { states: VisitorStates; writtenHour: number; visitorHashes: number[]; visitorCount: number };

export type DailyRollupRow = DailyRollupKey & RollupCounts & RowVisitors;
export type HourlyRollupRow = HourlyRollupKey & Omit<RollupCounts, 'events'> & RowVisitors;

const HOUR_MS = 3_600_000;

/** Where the visitor values of a day's rows go when written at `now`. */
function statesAt(day: number, states: SaltStates, now: number): Pick<RowVisitors, 'states' | 'writtenHour'> {
  if (now < visitorStatesCloseAt(day, states)) return { states, writtenHour: 0 };
  const late = states === ROLLUP_STATES.daily ? ROLLUP_STATES.lateDaily : ROLLUP_STATES.lateMonthly;
  return { states: late, writtenHour: Math.floor(now / HOUR_MS) };
}

class Cell {
  readonly sums = [0, 0, 0, 0, 0];
  /** Visitor keys; a row's values are derived from them only when the row is written, once per key. */
  visitors: Set<string> | null = null;

  add(metric: number, amount: number, visitor: string | null): void {
    if (metric !== NO_METRIC) this.sums[metric]! += amount;
    if (visitor !== null) (this.visitors ??= new Set()).add(visitor);
  }

  isEmpty(): boolean {
    return this.visitors === null && this.sums.every((s) => s === 0);
  }

  visitorValues(rowIdentity: string): number[] {
    const out: number[] = [];
    for (const visitor of this.visitors ?? []) out.push(rowVisitorValue(visitor, rowIdentity));
    return out;
  }

  counts(): RollupCounts {
    const [pageviews, visits, bounces, engagedMs, events] = this.sums as [number, number, number, number, number];
    return { pageviews, visits, bounces, engagedMs, events };
  }
}

/**
 * The rows of one practice, source, local day and visitor salt period: a map per dimension, and the
 * day's 24 hours. Counts do not depend on the salt period; any of a day's rollups may carry them.
 */
export class DayRollup {
  private readonly byDim: Array<Map<string, Cell> | undefined> = new Array<Map<string, Cell> | undefined>(
    ROLLUP_DIMENSIONS.length,
  );
  /** Dimensions named at run time (`prop:<key>`), off the hot path. */
  private readonly byName = new Map<PropDimension, Map<string, Cell>>();
  private readonly hours: Array<Cell | undefined> = new Array<Cell | undefined>(24);
  rows = 0;

  constructor(
    readonly practiceId: string,
    readonly source: EventSource,
    readonly day: number,
    readonly states: SaltStates,
    /** The visitor keys are daily-salt ones (in cookie mode, visitors without a cookie). */
    readonly dailyKeys: boolean,
  ) {}

  /** Adds `amount` to `metric` (NO_METRIC: none) of the row `dim`=`value`, and `visitor` (a visitor key, when not null) to its visitors. */
  add(dim: number, value: string, metric: number, amount: number, visitor: string | null): void {
    let values = this.byDim[dim];
    if (values === undefined) this.byDim[dim] = values = new Map();
    let cell = values.get(value);
    if (cell === undefined) {
      values.set(value, (cell = new Cell()));
      this.rows++;
    }
    cell.add(metric, amount, visitor);
  }

  /** `add` for a dimension named at run time. */
  addDim(dim: PropDimension, value: string, metric: number, amount: number, visitor: string | null): void {
    let values = this.byName.get(dim);
    if (values === undefined) this.byName.set(dim, (values = new Map()));
    let cell = values.get(value);
    if (cell === undefined) {
      values.set(value, (cell = new Cell()));
      this.rows++;
    }
    cell.add(metric, amount, visitor);
  }

  addHour(hour: number, metric: number, amount: number, visitor: string | null): void {
    let cell = this.hours[hour];
    if (cell === undefined) {
      this.hours[hour] = cell = new Cell();
      this.rows++;
    }
    cell.add(metric, amount, visitor);
  }

  dailyRows(out: DailyRollupRow[], now: number): void {
    const at = statesAt(this.day, this.states, now);
    const saltDay = this.dailyKeys ? this.day : null;
    const push = (dim: RollupDimension | PropDimension, values: Map<string, Cell> | undefined) => {
      for (const [value, cell] of values ?? []) {
        if (cell.isEmpty()) continue;
        out.push({
          practiceId: this.practiceId,
          day: this.day,
          source: this.source,
          dim,
          value,
          ...cell.counts(),
          ...at,
          visitorHashes: cell.visitorValues(dailyRowIdentity(this.practiceId, this.source, dim, value, saltDay)),
          visitorCount: 0,
        });
      }
    };
    this.byDim.forEach((values, dim) => push(ROLLUP_DIMENSIONS[dim]!, values));
    for (const [dim, values] of this.byName) push(dim, values);
  }

  hourlyRows(out: HourlyRollupRow[], now: number): void {
    const at = statesAt(this.day, this.states, now);
    this.hours.forEach((cell, hour) => {
      if (cell === undefined || cell.isEmpty()) return;
      const { events: _events, ...counts } = cell.counts();
      out.push({
        practiceId: this.practiceId,
        day: this.day,
        hour,
        source: this.source,
        ...counts,
        ...at,
        visitorHashes: cell.visitorValues(hourlyRowIdentity(this.practiceId, this.source, this.day, hour)),
        visitorCount: 0,
      });
    });
  }
}

/**
 * Signed per-batch sums keyed by rollup row. Rows whose counts net to zero and that carry no
 * visitor are left out of the insert. This is the processor's hottest loop (about ten adds per
 * event): an event finds its day's rows once, and each add is two array or map lookups.
 */
export class RollupAccumulator {
  private readonly days = new Map<string, DayRollup>();
  /** The batch's partner visitor-days (their own table, by UTC salt day). */
  readonly partner = new PartnerDays();

  get rowCount(): number {
    let n = 0;
    for (const day of this.days.values()) n += day.rows;
    return n;
  }

  /**
   * The rows of a practice, source and local day whose visitor states go to the partitions of
   * `states` (the practice's period: its day, or its month in cookie mode), from visitor keys of a
   * daily salt or not (`dailyKeys`, which keys a row's values by its day too).
   */
  day(
    practiceId: string,
    source: EventSource,
    day: number,
    states: SaltStates = ROLLUP_STATES.daily,
    dailyKeys = states === ROLLUP_STATES.daily,
  ): DayRollup {
    const id = `${practiceId}\u0000${source}\u0000${day}\u0000${states}\u0000${dailyKeys}`;
    let rows = this.days.get(id);
    if (rows === undefined) this.days.set(id, (rows = new DayRollup(practiceId, source, day, states, dailyKeys)));
    return rows;
  }

  /** `now`: whether a day's visitor states have closed is decided when its rows are written (statesAt). */
  dailyRows(now: number): DailyRollupRow[] {
    const out: DailyRollupRow[] = [];
    for (const day of this.days.values()) day.dailyRows(out, now);
    return out;
  }

  hourlyRows(now: number): HourlyRollupRow[] {
    const out: HourlyRollupRow[] = [];
    for (const day of this.days.values()) day.hourlyRows(out, now);
    return out;
  }
}
