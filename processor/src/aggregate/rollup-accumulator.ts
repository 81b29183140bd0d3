import { ROLLUP_DIMENSIONS, type EventSource, type RollupDimension } from '@confidant/shared';

export const DIMENSIONS = ROLLUP_DIMENSIONS;
export type Dimension = RollupDimension;

export type Metrics = { pageviews: number; visits: number; bounces: number; engagedMs: number; events: number };
export type Metric = keyof Metrics;
export const METRIC_NAMES = ['pageviews', 'visits', 'bounces', 'engagedMs', 'events'] as const;

export type DailyKey = { practiceId: string; day: number; source: EventSource; dim: Dimension; value: string };
export type HourlyKey = { practiceId: string; day: number; hour: number; source: EventSource };

/** Visitor hashes are unsigned 32-bit numbers (written as UInt64). */
export type DailyRow = DailyKey & Metrics & { visitorHashes: number[] };
export type HourlyRow = HourlyKey & Omit<Metrics, 'events'> & { visitorHashes: number[] };

type Cell = Metrics & { hashes: Set<number> };

const emptyCell = (): Cell => ({ pageviews: 0, visits: 0, bounces: 0, engagedMs: 0, events: 0, hashes: new Set() });

/**
 * Signed per-batch sums keyed by rollup row. Rows whose counts net to zero and that carry no
 * visitor are left out of the insert. This is the processor's hottest loop (about ten calls
 * per event), so calls take positional arguments and allocate only when a row is new.
 */
export class RollupAccumulator {
  private readonly daily = new Map<string, { key: DailyKey; cell: Cell }>();
  private readonly hourly = new Map<string, { key: HourlyKey; cell: Cell }>();

  get rowCount(): number {
    return this.daily.size + this.hourly.size;
  }

  /** Adds `amount` to `metric` (none when null) of a daily row, and `visitor` (when not null) to its visitors. */
  addDaily(practiceId: string, source: EventSource, day: number, dim: Dimension, value: string, metric: Metric | null, amount: number, visitor: number | null): void {
    const id = `${practiceId}\u0000${day}\u0000${source}\u0000${dim}\u0000${value}`;
    let entry = this.daily.get(id);
    if (entry === undefined) this.daily.set(id, (entry = { key: { practiceId, day, source, dim, value }, cell: emptyCell() }));
    if (metric !== null) entry.cell[metric] += amount;
    if (visitor !== null) entry.cell.hashes.add(visitor);
  }

  addHourly(practiceId: string, source: EventSource, day: number, hour: number, metric: Exclude<Metric, 'events'> | null, amount: number, visitor: number | null): void {
    const id = `${practiceId}\u0000${day}\u0000${hour}\u0000${source}`;
    let entry = this.hourly.get(id);
    if (entry === undefined) this.hourly.set(id, (entry = { key: { practiceId, day, hour, source }, cell: emptyCell() }));
    if (metric !== null) entry.cell[metric] += amount;
    if (visitor !== null) entry.cell.hashes.add(visitor);
  }

  dailyRows(): DailyRow[] {
    return [...this.daily.values()].filter(({ cell }) => !isEmpty(cell)).map(({ key, cell }) => ({ ...key, ...metricsOf(cell), visitorHashes: [...cell.hashes] }));
  }

  hourlyRows(): HourlyRow[] {
    return [...this.hourly.values()]
      .filter(({ cell }) => !isEmpty(cell))
      .map(({ key, cell }) => {
        const { events: _events, ...metrics } = metricsOf(cell);
        return { ...key, ...metrics, visitorHashes: [...cell.hashes] };
      });
  }
}

const isEmpty = (cell: Cell): boolean => cell.hashes.size === 0 && METRIC_NAMES.every((m) => cell[m] === 0);

const metricsOf = (cell: Cell): Metrics => ({
  pageviews: cell.pageviews,
  visits: cell.visits,
  bounces: cell.bounces,
  engagedMs: cell.engagedMs,
  events: cell.events,
});
