import type { Practice } from '@confidant/shared';
import type { PracticeInfo } from '../pipeline/resolve-practice.step.ts';

/**
 * The practice registry as the processor needs it, held in memory. Refreshed on a timer and
 * on demand when a batch names a practice it does not know (at most every `missRefreshMs`).
 */
export class PracticeCache {
  private practices = new Map<string, PracticeInfo>();
  private loadedAt = 0;
  private loading: Promise<void> | null = null;

  constructor(
    private readonly list: () => Promise<Practice[]>,
    private readonly maxAgeMs = 60_000,
    private readonly missRefreshMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(id: string): PracticeInfo | undefined {
    return this.practices.get(id);
  }

  /** Makes sure the cache is fresh enough for a batch naming these practices. */
  async prepare(ids: Iterable<string>): Promise<void> {
    const age = this.now() - this.loadedAt;
    const missing = [...ids].some((id) => !this.practices.has(id));
    if (age > this.maxAgeMs || (missing && age > this.missRefreshMs)) await this.refresh();
  }

  refresh(): Promise<void> {
    this.loading ??= this.list()
      .then((list) => {
        this.practices = new Map(list.map((p) => [p.id, { id: p.id, timeZone: p.timezone, domains: p.domains }]));
        this.loadedAt = this.now();
      })
      .finally(() => {
        this.loading = null;
      });
    return this.loading;
  }
}
