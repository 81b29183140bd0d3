import { ROLLUP_TABLES, type VisitorStates } from '../contracts/rollup-schema.ts';
import { sealDeadline } from '../contracts/visitor-seal.ts';
import type { Db } from '../platform/clickhouse/clickhouse-client.ts';
import * as sqlv from '../platform/clickhouse/sql-values.ts';

const DAY_MS = 86_400_000;

export type LingeringStates = { table: string; states: number; day: string; writtenHour: number; hoursLate: number };

/**
 * Partitions of visitor states still stored past their seal deadline (sealDeadline: three hours after
 * they close, within 48 h after their salt period in every time zone): each is a visitor value that
 * outlived its salt, a finding of the privacy audit.
 */
export async function findLingeringVisitorStates(db: Db, now: Date): Promise<LingeringStates[]> {
  const found: LingeringStates[] = [];
  for (const table of [ROLLUP_TABLES.daily.name, ROLLUP_TABLES.hourly.name]) {
    const rows = await db.rows<{ states: number; d: string; wh: number }>(
      `SELECT states, toString(day) AS d, written_hour AS wh FROM ${sqlv.ident(table)} WHERE states != 0 GROUP BY states, d, wh ORDER BY d, states, wh`,
    );
    for (const r of rows) {
      const partition = {
        states: Number(r.states) as Exclude<VisitorStates, 0>,
        day: Date.parse(`${r.d}T00:00:00Z`) / DAY_MS,
        writtenHour: Number(r.wh),
      };
      const late = now.getTime() - sealDeadline(partition);
      if (late > 0)
        found.push({
          table,
          states: partition.states,
          day: r.d,
          writtenHour: partition.writtenHour,
          hoursLate: Math.ceil(late / 3_600_000),
        });
    }
  }
  return found;
}
