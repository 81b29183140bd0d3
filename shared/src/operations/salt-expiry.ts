import type { Db } from '../platform/clickhouse/clickhouse-client.ts';
import * as sqlv from '../platform/clickhouse/sql-values.ts';

/**
 * Visitor-key salts live in one ClickHouse `Memory` table per period (`collector_salt_dYYYYMMDD`,
 * `collector_salt_mYYYYMM`) in the salt database (CLICKHOUSE_SALT_DATABASE), which only the salts user
 * reaches; dropping a period's table destroys its only copy. The collectors drop expired ones in their
 * maintenance, and so does `confidant salts expire` (run beside them, as the salts user), so that a salt
 * never outlives its period by more than the grace (the policy allows 48 h) when no collector runs.
 * The functions below work on the database `db` is connected to: the salt database.
 */
export const SALT_TABLE_PREFIX = 'collector_salt_';
export const SALT_PERIOD_RE = /^(d\d{8}|m\d{6})$/;
/** Salts are deleted this long after their period ends. */
export const SALT_GRACE_MS = 3_600_000;

/** End (epoch ms, UTC) of a salt period id (`d20250131`, `m202501`). */
export function saltPeriodIdEnd(id: string): number {
  const y = Number(id.slice(1, 5));
  const m = Number(id.slice(5, 7)) - 1;
  return id[0] === 'd' ? Date.UTC(y, m, Number(id.slice(7, 9)) + 1) : Date.UTC(y, m + 1, 1);
}

/** Periods whose salt table exists in `db`'s database (the salt database). */
export async function storedSaltPeriods(db: Db): Promise<string[]> {
  const rows = await db.rows<{ name: string }>(
    `SELECT name FROM system.tables WHERE database = currentDatabase() AND name LIKE ${sqlv.likePrefix(SALT_TABLE_PREFIX)} ORDER BY name`,
  );
  return rows.map((r) => r.name.slice(SALT_TABLE_PREFIX.length)).filter((p) => SALT_PERIOD_RE.test(p));
}

/** True once a period's salt must no longer exist: its end plus the grace has passed. */
export function saltPeriodExpired(id: string, now: number): boolean {
  return saltPeriodIdEnd(id) + SALT_GRACE_MS <= now;
}

/** Drops every salt table past its period plus the grace; returns the periods dropped. */
export async function dropExpiredSalts(db: Db, now: number = Date.now()): Promise<string[]> {
  const dropped: string[] = [];
  for (const id of await storedSaltPeriods(db)) {
    if (!saltPeriodExpired(id, now)) continue;
    await db.command(`DROP TABLE IF EXISTS ${sqlv.ident(SALT_TABLE_PREFIX + id)}`);
    dropped.push(id);
  }
  return dropped;
}
