/**
 * A Map bounded by entry count and by age (in event time, so replays behave like the original
 * run), kept as two generations: writes go to the young one; when it is `maxAgeMs` old, or holds
 * half of `maxEntries`, the old generation is dropped whole and the young one becomes old. An
 * entry therefore lives between `maxAgeMs` and twice that after its last write (less only when
 * the count bound forces an early turn). Dropping whole Maps avoids deleting from the head of a
 * Map, which V8 pays for on every later iteration.
 */
export class BoundedMap<V extends { lastAt: number }> {
  private young = new Map<string, V>();
  private old = new Map<string, V>();
  private youngSince: number | null = null;

  constructor(
    private readonly maxEntries: number,
    private readonly maxAgeMs: number,
  ) {}

  get size(): number {
    return this.young.size + this.old.size;
  }

  get(key: string): V | undefined {
    return this.young.get(key) ?? this.old.get(key);
  }

  /** Every entry, each key once (a key lives in one generation at a time). */
  *entries(): IterableIterator<[string, V]> {
    yield* this.young;
    yield* this.old;
  }

  set(key: string, value: V): void {
    if (this.young.size >= this.maxEntries / 2) this.turn(value.lastAt);
    this.youngSince ??= value.lastAt;
    this.young.set(key, value);
    this.old.delete(key);
  }

  /** Turns the generations when the young one has aged past `maxAgeMs` at `now` (event time); returns the entries dropped. */
  evictOlderThan(now: number): number {
    return this.youngSince !== null && now - this.youngSince >= this.maxAgeMs ? this.turn(now) : 0;
  }

  private turn(now: number): number {
    const dropped = this.old.size;
    this.old = this.young;
    this.young = new Map();
    this.youngSince = now;
    return dropped;
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
