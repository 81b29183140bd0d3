import type { Db } from '../platform/clickhouse/clickhouse-client.ts';
import * as sqlv from '../platform/clickhouse/sql-values.ts';
import { TABLES } from '../contracts/names.ts';

/**
 * Tables whose data ages out. Each is partitioned by month first (toYYYYMM of its day, alone or as the
 * tuple's first element), so a partition id starts with its YYYYMM month.
 */
export const RETAINED_TABLES = [
  TABLES.rollupDaily,
  TABLES.rollupHourly,
  TABLES.rollupMonthlyVisitors,
  TABLES.visitorSealLedger,
  TABLES.partnerVisitorDays,
] as const;
/** SQL: the YYYYMM month of a `system.parts` row's partition. */
export const PARTITION_MONTH_SQL = 'toUInt32(substring(partition_id, 1, 6))';

/** The oldest YYYYMM month still kept when `months` months are retained (the current month counts). */
export function oldestKeptMonth(months: number, now: Date): number {
  const index = now.getUTCFullYear() * 12 + now.getUTCMonth() - (months - 1);
  return Math.floor(index / 12) * 100 + (index % 12) + 1;
}

/**
 * Drops every partition of a month older than the retention (TTL does not exist on 18.16; DROP
 * PARTITION ID works on 18.16 and current ClickHouse alike).
 */
export async function dropExpiredPartitions(
  db: Db,
  months: number,
  now = new Date(),
): Promise<Array<{ table: string; partition: number }>> {
  const cutoff = oldestKeptMonth(months, now);
  const rows = await db.rows<{ table: string; id: string; month: number }>(
    `SELECT DISTINCT table, partition_id AS id, ${PARTITION_MONTH_SQL} AS month FROM system.parts WHERE database = currentDatabase() AND active AND ${sqlv.inList('table', RETAINED_TABLES, sqlv.str)}`,
  );
  const dropped: Array<{ table: string; partition: number }> = [];
  for (const row of rows) {
    const month = Number(row.month);
    if (month >= cutoff) continue;
    await db.command(`ALTER TABLE ${sqlv.ident(row.table)} DROP PARTITION ID ${sqlv.str(row.id)}`);
    if (!dropped.some((d) => d.table === row.table && d.partition === month))
      dropped.push({ table: row.table, partition: month });
  }
  return dropped;
}
