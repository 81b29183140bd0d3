/**
 * A Map bounded by entry count (least recently written first out) and by age, where age is
 * measured in event time so replays behave like the original run.
 */
export class BoundedMap<V extends { lastAt: number }> {
  private readonly entries = new Map<string, V>();

  constructor(
    private readonly maxEntries: number,
    private readonly maxAgeMs: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  /**
   * Drops entries older than `maxAgeMs` before `now` (event time), walking from the least
   * recently written and stopping at the first recent one: cost is proportional to what is evicted.
   */
  evictOlderThan(now: number): number {
    let evicted = 0;
    for (const [key, value] of this.entries) {
      if (value.lastAt >= now - this.maxAgeMs) break;
      this.entries.delete(key);
      evicted++;
    }
    return evicted;
  }
}

/**
 * Uncommitted writes over a BoundedMap: a batch reads through it and writes into it; the
 * writes reach the map only when the batch's insert succeeded, so a retried batch starts
 * again from the committed state.
 */
export class Overlay<V extends { lastAt: number }> {
  private readonly pending = new Map<string, V>();

  constructor(private readonly base: BoundedMap<V>) {}

  get(key: string): V | undefined {
    return this.pending.get(key) ?? this.base.get(key);
  }

  set(key: string, value: V): void {
    this.pending.set(key, value);
  }

  commit(): void {
    for (const [key, value] of this.pending) this.base.set(key, value);
    this.pending.clear();
  }
}
