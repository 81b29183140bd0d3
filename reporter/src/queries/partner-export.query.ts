import { PARTNER_VISITOR_DAYS_TABLE, sqlv, TABLES } from '@confidant/shared';

export type PartnerExportParams = {
  practiceIds: string[];
  /** The month's UTC days. */
  from: string;
  to: string;
  /** Most one practice-day adds to a cell (below 65,536, where a sealed unique count is still exact). */
  cap: number;
};

/**
 * Visitor-days of a month from the sealed partner rows (migration 0033): per practice, UTC salt day
 * and cell the larger source (a visitor seen by the snippet and in the logs is one visitor-day),
 * clamped to [0, cap], summed over practices and days; and per cell the practices with data in it.
 * Only sealed counts are read: open states are not yet deduplicated. One visitor-day changes one
 * practice-day of the `all` cell and of one country cell by at most 1, and the practices of one
 * country cell by at most 1.
 */
export function partnerExportSql(p: PartnerExportParams): string {
  const perSource =
    `SELECT practice_id, day, cell, source, toInt64(${PARTNER_VISITOR_DAYS_TABLE.sealedMerge}) AS n FROM ${sqlv.ident(PARTNER_VISITOR_DAYS_TABLE.name)}` +
    ` WHERE sealed = 1 AND ${sqlv.inList('practice_id', p.practiceIds, sqlv.str)}` +
    ` AND day BETWEEN ${sqlv.date(p.from)} AND ${sqlv.date(p.to)} GROUP BY practice_id, day, cell, source`;
  const perDay = `SELECT practice_id, day, cell, max(n) AS c FROM (${perSource}) AS per_source GROUP BY practice_id, day, cell`;
  return (
    `SELECT cell, toString(sum(greatest(toInt64(0), least(c, toInt64(${sqlv.int(p.cap)}))))) AS visitor_days,` +
    ` toString(uniqExactIf(practice_id, c > 0)) AS practices FROM (${perDay}) AS per_day GROUP BY cell ORDER BY cell`
  );
}

/** Days of the range whose partner states are not sealed yet (their counts are not final). */
export function partnerOpenDaysSql(from: string, to: string): string {
  return (
    `SELECT count() AS n FROM ${sqlv.ident(TABLES.partnerVisitorDays)} WHERE sealed = 0` +
    ` AND day BETWEEN ${sqlv.date(from)} AND ${sqlv.date(to)}`
  );
}

/** When the processor began writing partner rows (null: never). */
export const partnerDataSinceSql = (): string =>
  `SELECT toString(min(started_at)) AS since, count() AS n FROM ${sqlv.ident(TABLES.partnerVisitorDaysSince)}`;
