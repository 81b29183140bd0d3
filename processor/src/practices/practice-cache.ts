import { compileGoals, type Goal, type Practice } from '@confidant/shared';
import type { PracticeInfo } from '../pipeline/resolve-practice.step.ts';

/** Each property key's declared values, across the practice's declared events (as the collector spells them). */
export function declaredPropValues(practice: Practice): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const event of practice.events)
    for (const [key, values] of Object.entries(event.props)) {
      let set = out.get(key);
      if (!set) out.set(key, (set = new Set()));
      for (const value of values) set.add(value);
    }
  return out;
}

/**
 * The practice registry as the processor needs it, held in memory. Refreshed on a timer and
 * on demand when a batch names a practice it does not know (at most every `missRefreshMs`).
 * While the control plane is away a stale list still serves every practice it holds; only a batch
 * naming a practice it does not hold waits (rather than dead-lettering events of a new practice).
 */
export class PracticeCache {
  private practices = new Map<string, PracticeInfo>();
  private loadedAt: number | null = null;
  private loading: Promise<void> | null = null;

  private readonly maxAgeMs: number;
  private readonly missRefreshMs: number;
  private readonly now: () => number;
  private readonly onStale: (error: unknown) => void;
  private readonly goals: () => Promise<ReadonlyMap<string, readonly Goal[]>>;

  constructor(
    private readonly list: () => Promise<Practice[]>,
    options: {
      maxAgeMs?: number;
      missRefreshMs?: number;
      now?: () => number;
      /** A refresh failed and the last list serves on. */
      onStale?: (error: unknown) => void;
      /** Every practice's goals, loaded with the list (default: none). */
      goals?: () => Promise<ReadonlyMap<string, readonly Goal[]>>;
    } = {},
  ) {
    this.maxAgeMs = options.maxAgeMs ?? 60_000;
    this.missRefreshMs = options.missRefreshMs ?? 5_000;
    this.now = options.now ?? Date.now;
    this.onStale = options.onStale ?? (() => {});
    this.goals = options.goals ?? (async () => new Map());
  }

  get(id: string): PracticeInfo | undefined {
    return this.practices.get(id);
  }

  /** Makes sure the cache is fresh enough for a batch naming these practices. */
  async prepare(ids: Iterable<string>): Promise<void> {
    const age = this.loadedAt === null ? Infinity : this.now() - this.loadedAt;
    const missing = [...ids].some((id) => !this.practices.has(id));
    if (!(age > this.maxAgeMs || (missing && age > this.missRefreshMs))) return;
    try {
      await this.refresh();
    } catch (error) {
      if (this.loadedAt === null || missing) throw error;
      this.onStale(error);
    }
  }

  refresh(): Promise<void> {
    this.loading ??= Promise.all([this.list(), this.goals()])
      .then(([list, goals]) => {
        this.practices = new Map(
          list.map((p) => [
            p.id,
            {
              id: p.id,
              timeZone: p.timezone,
              domains: p.domains,
              cookieMode: p.cookieMode,
              declaredPropValues: declaredPropValues(p),
              goals: compileGoals(goals.get(p.id) ?? []),
            },
          ]),
        );
        this.loadedAt = this.now();
      })
      .finally(() => {
        this.loading = null;
      });
    return this.loading;
  }
}
