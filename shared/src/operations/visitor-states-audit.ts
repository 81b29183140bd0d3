import { TABLES } from '../contracts/names.ts';
import { partnerDayClosesAt } from '../contracts/partner-days.ts';
import { ROLLUP_TABLES, type VisitorStates } from '../contracts/rollup-schema.ts';
import { SEAL_MARGIN_MS, sealDeadline } from '../contracts/visitor-seal.ts';
import type { Db } from '../platform/clickhouse/clickhouse-client.ts';
import * as sqlv from '../platform/clickhouse/sql-values.ts';

const DAY_MS = 86_400_000;

/** `states` is 0 for partner_visitor_days, whose states are kept by UTC day alone. */
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
  // Partner visitor-days: open states of a UTC day are due sealed (or dropped) 3 h after it closes.
  const partner = await db.rows<{ d: string }>(
    `SELECT DISTINCT toString(day) AS d FROM ${sqlv.ident(TABLES.partnerVisitorDays)} WHERE sealed = 0 ORDER BY d`,
  );
  for (const { d } of partner) {
    const late = now.getTime() - (partnerDayClosesAt(Date.parse(`${d}T00:00:00Z`) / DAY_MS) + 3 * SEAL_MARGIN_MS);
    if (late > 0)
      found.push({
        table: TABLES.partnerVisitorDays,
        states: 0,
        day: d,
        writtenHour: 0,
        hoursLate: Math.ceil(late / 3_600_000),
      });
  }
  return found;
}
