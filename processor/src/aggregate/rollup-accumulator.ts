import { ROLLUP_DIMENSIONS, type EventSource, type RollupDimension } from '@confidant/shared';
import { dailyRowIdentity, hourlyRowIdentity, rowVisitorValue } from '../session/visitor-hash.ts';

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
  dim: RollupDimension;
  value: string;
};
export type HourlyRollupKey = { practiceId: string; day: number; hour: number; source: EventSource };

/**
 * A row's visitor values: unsigned 32-bit numbers (written as UInt64), keyed by the row's identity so
 * that one visitor's values in two rows are unrelated. rollup_hourly keeps no events.
 */
export type DailyRollupRow = DailyRollupKey & RollupCounts & { visitorHashes: number[] };
export type HourlyRollupRow = HourlyRollupKey & Omit<RollupCounts, 'events'> & { visitorHashes: number[] };

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

/** The rows of one practice, source and local day: a map per dimension, and the day's 24 hours. */
export class DayRollup {
  private readonly byDim: Array<Map<string, Cell> | undefined> = new Array<Map<string, Cell> | undefined>(
    ROLLUP_DIMENSIONS.length,
  );
  private readonly hours: Array<Cell | undefined> = new Array<Cell | undefined>(24);
  rows = 0;

  constructor(
    readonly practiceId: string,
    readonly source: EventSource,
    readonly day: number,
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

  addHour(hour: number, metric: number, amount: number, visitor: string | null): void {
    let cell = this.hours[hour];
    if (cell === undefined) {
      this.hours[hour] = cell = new Cell();
      this.rows++;
    }
    cell.add(metric, amount, visitor);
  }

  dailyRows(out: DailyRollupRow[]): void {
    this.byDim.forEach((values, dim) => {
      for (const [value, cell] of values ?? []) {
        if (cell.isEmpty()) continue;
        const dimName = ROLLUP_DIMENSIONS[dim]!;
        out.push({
          practiceId: this.practiceId,
          day: this.day,
          source: this.source,
          dim: dimName,
          value,
          ...cell.counts(),
          visitorHashes: cell.visitorValues(dailyRowIdentity(this.practiceId, this.source, dimName, value)),
        });
      }
    });
  }

  hourlyRows(out: HourlyRollupRow[]): void {
    this.hours.forEach((cell, hour) => {
      if (cell === undefined || cell.isEmpty()) return;
      const { events: _events, ...counts } = cell.counts();
      out.push({
        practiceId: this.practiceId,
        day: this.day,
        hour,
        source: this.source,
        ...counts,
        visitorHashes: cell.visitorValues(hourlyRowIdentity(this.practiceId, this.source, this.day, hour)),
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

  get rowCount(): number {
    let n = 0;
    for (const day of this.days.values()) n += day.rows;
    return n;
  }

  /** The rows of a practice, source and local day. */
  day(practiceId: string, source: EventSource, day: number): DayRollup {
    const id = `${practiceId}\u0000${source}\u0000${day}`;
    let rows = this.days.get(id);
    if (rows === undefined) this.days.set(id, (rows = new DayRollup(practiceId, source, day)));
    return rows;
  }

  dailyRows(): DailyRollupRow[] {
    const out: DailyRollupRow[] = [];
    for (const day of this.days.values()) day.dailyRows(out);
    return out;
  }

  hourlyRows(): HourlyRollupRow[] {
    const out: HourlyRollupRow[] = [];
    for (const day of this.days.values()) day.hourlyRows(out);
    return out;
  }
}
