import { randomBytes } from 'node:crypto';
import { sqlv, type Db } from '@confidant/shared';

export type SaltKind = 'daily' | 'monthly';

/** Where visitor-key salts come from; the key of an event uses the salt of its receive time. */
export interface SaltSource {
  saltFor(kind: SaltKind, ts: number): Promise<Buffer>;
}

/** Salts are deleted this long after their period ends (the policy allows up to 48 h). */
export const SALT_GRACE_MS = 3_600_000;

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

function periodEnd(id: string): number {
  const y = Number(id.slice(1, 5));
  const m = Number(id.slice(5, 7)) - 1;
  return id[0] === 'd' ? Date.UTC(y, m, Number(id.slice(7, 9)) + 1) : Date.UTC(y, m + 1, 1);
}

const TABLE_PREFIX = 'collector_salt_';
const PERIOD_RE = /^(d\d{8}|m\d{6})$/;

/**
 * Salts live in ClickHouse `Memory` tables, one per period: never written to disk (so
 * never in a backup), shared by every collector, and kept across collector restarts.
 * Each collector also holds the live salts in memory and re-creates a table that a
 * ClickHouse restart emptied. When several collectors create a salt at once, everyone
 * adopts the earliest-created one. A period's table is dropped SALT_GRACE_MS after the
 * period ends, which destroys the salt: DROP of a Memory table frees the only copy.
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
      if (periodEnd(id) + SALT_GRACE_MS <= this.now()) {
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

  /** Periods whose salt table currently exists (for tests and the privacy page). */
  async storedPeriods(): Promise<string[]> {
    const rows = await this.db.rows<{ name: string }>(
      `SELECT name FROM system.tables WHERE database = currentDatabase() AND name LIKE ${sqlv.likePrefix(TABLE_PREFIX)} ORDER BY name`,
    );
    return rows.map((r) => r.name.slice(TABLE_PREFIX.length)).filter((p) => PERIOD_RE.test(p));
  }

  async purgeExpired(): Promise<string[]> {
    const dropped: string[] = [];
    for (const id of await this.storedPeriods()) {
      if (periodEnd(id) + SALT_GRACE_MS > this.now()) continue;
      await this.db.command(`DROP TABLE IF EXISTS ${sqlv.ident(TABLE_PREFIX + id)}`);
      this.cache.delete(id);
      dropped.push(id);
    }
    return dropped;
  }

  private async load(id: string): Promise<Buffer> {
    const salt = await this.publish(id, randomBytes(32));
    this.cache.set(id, salt);
    return salt;
  }

  /** Inserts `candidate` unless the table already has a salt; returns the earliest one stored. */
  private async publish(id: string, candidate: Buffer): Promise<Buffer> {
    const table = sqlv.ident(TABLE_PREFIX + id);
    await this.db.command(`CREATE TABLE IF NOT EXISTS ${table} (salt String, created_at UInt64) ENGINE = Memory`);
    const earliest = async () =>
      (await this.db.rows<{ salt: string }>(`SELECT salt FROM ${table} ORDER BY created_at, salt LIMIT 1`))[0]?.salt;
    let stored = await earliest();
    if (!stored) {
      await this.db.command(
        `INSERT INTO ${table} (salt, created_at) VALUES (${sqlv.str(candidate.toString('hex'))}, ${sqlv.int(this.now())})`,
      );
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
