/**
 * A two-generation cache: approximately LRU at the cost of one or two Map lookups. When the
 * young generation fills, it becomes the old one and the previous old one is dropped, so
 * memory stays bounded by 2 × `size` and hot keys survive by being promoted on access.
 * In memory only: the caches holding user agents and addresses never outlive the process.
 */
export class BoundedCache<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();

  constructor(private readonly size: number) {}

  get(key: K): V | undefined {
    const v = this.young.get(key);
    if (v !== undefined) return v;
    const o = this.old.get(key);
    if (o !== undefined) this.set(key, o);
    return o;
  }

  set(key: K, value: V): void {
    if (this.young.size >= this.size) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }

  /** The cached value, computing and storing it on a miss. */
  through(key: K, compute: (key: K) => V): V {
    let v = this.get(key);
    if (v === undefined) {
      v = compute(key);
      this.set(key, v);
    }
    return v;
  }

  clear(): void {
    this.young.clear();
    this.old.clear();
  }
}
