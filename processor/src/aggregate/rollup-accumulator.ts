import { ROLLUP_DIMENSIONS, type EventSource, type RollupDimension } from '@confidant/shared';

export const DIMENSIONS = ROLLUP_DIMENSIONS;
export type Dimension = RollupDimension;

export type Metrics = { pageviews: number; visits: number; bounces: number; engagedMs: number; events: number };
export const METRIC_NAMES = ['pageviews', 'visits', 'bounces', 'engagedMs', 'events'] as const;

export type DailyKey = { practiceId: string; day: number; source: EventSource; dim: Dimension; value: string };
export type HourlyKey = { practiceId: string; day: number; hour: number; source: EventSource };

export type DailyRow = DailyKey & Metrics & { visitorHashes: bigint[] };
export type HourlyRow = HourlyKey & Omit<Metrics, 'events'> & { visitorHashes: bigint[] };

type Cell = Metrics & { hashes: Set<bigint> };

const emptyCell = (): Cell => ({ pageviews: 0, visits: 0, bounces: 0, engagedMs: 0, events: 0, hashes: new Set() });

/**
 * Signed per-batch sums keyed by rollup row. Rows whose counts net to zero and that carry no
 * visitor are left out of the insert.
 */
export class RollupAccumulator {
  private readonly daily = new Map<string, { key: DailyKey; cell: Cell }>();
  private readonly hourly = new Map<string, { key: HourlyKey; cell: Cell }>();

  get rowCount(): number {
    return this.daily.size + this.hourly.size;
  }

  addDaily(key: DailyKey, delta: Partial<Metrics>, visitor: bigint | null = null): void {
    const id = `${key.practiceId}\u0000${key.day}\u0000${key.source}\u0000${key.dim}\u0000${key.value}`;
    let entry = this.daily.get(id);
    if (!entry) this.daily.set(id, (entry = { key, cell: emptyCell() }));
    apply(entry.cell, delta, visitor);
  }

  addHourly(key: HourlyKey, delta: Partial<Omit<Metrics, 'events'>>, visitor: bigint | null = null): void {
    const id = `${key.practiceId}\u0000${key.day}\u0000${key.hour}\u0000${key.source}`;
    let entry = this.hourly.get(id);
    if (!entry) this.hourly.set(id, (entry = { key, cell: emptyCell() }));
    apply(entry.cell, delta, visitor);
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

function apply(cell: Cell, delta: Partial<Metrics>, visitor: bigint | null): void {
  for (const name of METRIC_NAMES) cell[name] += delta[name] ?? 0;
  if (visitor !== null) cell.hashes.add(visitor);
}

const isEmpty = (cell: Cell): boolean => cell.hashes.size === 0 && METRIC_NAMES.every((m) => cell[m] === 0);

const metricsOf = (cell: Cell): Metrics => ({
  pageviews: cell.pageviews,
  visits: cell.visits,
  bounces: cell.bounces,
  engagedMs: cell.engagedMs,
  events: cell.events,
});
