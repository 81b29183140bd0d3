import type { Db } from '../platform/clickhouse/clickhouse-client.ts';
import * as sqlv from '../platform/clickhouse/sql-values.ts';
import { TABLES } from '../contracts/names.ts';

/** Tables whose data ages out; both are partitioned by toYYYYMM(day). */
export const RETAINED_TABLES = [TABLES.rollupDaily, TABLES.rollupHourly] as const;

/** The oldest YYYYMM month still kept when `months` months are retained (the current month counts). */
export function oldestKeptMonth(months: number, now: Date): number {
  const index = now.getUTCFullYear() * 12 + now.getUTCMonth() - (months - 1);
  return Math.floor(index / 12) * 100 + (index % 12) + 1;
}

/**
 * Drops whole month partitions older than the retention (TTL does not exist on 18.16; DROP
 * PARTITION with an unquoted number works on 18.16 and current ClickHouse alike).
 */
export async function dropExpiredPartitions(
  db: Db,
  months: number,
  now = new Date(),
): Promise<Array<{ table: string; partition: number }>> {
  const cutoff = oldestKeptMonth(months, now);
  const rows = await db.rows<{ table: string; partition: string }>(
    `SELECT DISTINCT table, partition FROM system.parts WHERE database = currentDatabase() AND active AND ${sqlv.inList('table', RETAINED_TABLES, sqlv.str)}`,
  );
  const dropped: Array<{ table: string; partition: number }> = [];
  for (const row of rows) {
    const partition = Number(row.partition);
    if (!Number.isInteger(partition) || partition >= cutoff) continue;
    await db.command(`ALTER TABLE ${sqlv.ident(row.table)} DROP PARTITION ${sqlv.int(partition)}`);
    dropped.push({ table: row.table, partition });
  }
  return dropped;
}
