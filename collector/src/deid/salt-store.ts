import { randomBytes } from 'node:crypto';
import {
  dropExpiredSalts,
  SALT_TABLE_PREFIX,
  saltPeriodExpired,
  sqlv,
  storedSaltPeriods,
  type Db,
} from '@confidant/shared';

export type SaltKind = 'daily' | 'monthly';

/** Where visitor-key salts come from; the key of an event uses the salt of its receive time. */
export interface SaltSource {
  saltFor(kind: SaltKind, ts: number): Promise<Buffer>;
}

export type Period = { id: string; endsAt: number };

/** UTC day (`d20250131`) or UTC month (`m202501`) containing `ts`, and when it ends. */
export function periodOf(kind: SaltKind, ts: number): Period {
  const d = new Date(ts);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const pad = (n: number) => String(n).padStart(2, '0');
  if (kind === 'daily') {
    return { id: `d${y}${pad(m + 1)}${pad(d.getUTCDate())}`, endsAt: Date.UTC(y, m, d.getUTCDate() + 1) };
  }
  return { id: `m${y}${pad(m + 1)}`, endsAt: Date.UTC(y, m + 1, 1) };
}

/**
 * Salts live in ClickHouse `Memory` tables, one per period, in the salt database (`db` is
 * connected to it as the salts user): never written to disk (so never in a backup), shared
 * by every collector, and kept across collector restarts. Each collector also holds the live
 * salts in memory and re-creates a table that a ClickHouse restart emptied. When several
 * collectors create a salt at once, everyone adopts the earliest-created one. A period's
 * table is dropped SALT_GRACE_MS after the period ends, which destroys the salt: DROP of a
 * Memory table frees the only copy. A period already past that point (an import of an old
 * day's log) gets a fresh salt that is never stored nor cached: the caller holds it for as
 * long as it uses it (one import), and no other can recompute its keys.
 */
export class ClickHouseSaltStore implements SaltSource {
  private readonly cache = new Map<string, Buffer>();
  private readonly inflight = new Map<string, Promise<Buffer>>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  async saltFor(kind: SaltKind, ts: number): Promise<Buffer> {
    const { id } = periodOf(kind, ts);
    if (saltPeriodExpired(id, this.now())) return randomBytes(32);
    const cached = this.cache.get(id);
    if (cached) return cached;
    let pending = this.inflight.get(id);
    if (!pending) {
      pending = this.load(id).finally(() => this.inflight.delete(id));
      this.inflight.set(id, pending);
    }
    return pending;
  }

  /** Re-publishes live salts (after a ClickHouse restart), converges on the earliest, drops expired ones. */
  async maintain(): Promise<void> {
    for (const [id, salt] of this.cache) {
      if (saltPeriodExpired(id, this.now())) {
        this.cache.delete(id);
        continue;
      }
      this.cache.set(id, await this.publish(id, salt));
    }
    await this.purgeExpired();
  }

  start(intervalMs: number, onError: (error: unknown) => void): void {
    this.timer = setInterval(() => void this.maintain().catch(onError), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Periods whose salt table currently exists in the salt database (for tests and the privacy page). */
  storedPeriods(): Promise<string[]> {
    return storedSaltPeriods(this.db);
  }

  async purgeExpired(): Promise<string[]> {
    const dropped = await dropExpiredSalts(this.db, this.now());
    for (const id of dropped) this.cache.delete(id);
    return dropped;
  }

  private async load(id: string): Promise<Buffer> {
    const salt = await this.publish(id, randomBytes(32));
    this.cache.set(id, salt);
    return salt;
  }

  /** Inserts `candidate` unless the table already has a salt; returns the earliest one stored. */
  private async publish(id: string, candidate: Buffer): Promise<Buffer> {
    const name = SALT_TABLE_PREFIX + id;
    const table = sqlv.ident(name);
    await this.db.command(`CREATE TABLE IF NOT EXISTS ${table} (salt String, created_at UInt64) ENGINE = Memory`);
    const earliest = async () =>
      (await this.db.rows<{ salt: string }>(`SELECT salt FROM ${table} ORDER BY created_at, salt LIMIT 1`))[0]?.salt;
    let stored = await earliest();
    if (!stored) {
      await this.db.insert(name, [{ salt: candidate.toString('hex'), created_at: this.now() }]);
      stored = await earliest();
    }
    return stored ? Buffer.from(stored, 'hex') : candidate;
  }
}

/** A process-local salt source for unit tests and single-process tools. */
export class MemorySaltStore implements SaltSource {
  private readonly salts = new Map<string, Buffer>();

  async saltFor(kind: SaltKind, ts: number): Promise<Buffer> {
    const { id } = periodOf(kind, ts);
    let salt = this.salts.get(id);
    if (!salt) {
      salt = randomBytes(32);
      this.salts.set(id, salt);
    }
    return salt;
  }
}
