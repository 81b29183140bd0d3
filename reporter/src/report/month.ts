import { sqlv } from '@confidant/shared';

/**
 * Calendar months as day ranges. Rollup days are already the practice's local dates, so a
 * month in the practice's time zone is simply its first to last local day.
 */
export type MonthRange = { month: string; year: number; from: string; to: string; days: string[] };

const MONTH_RE = /^(\d{4})-(0[1-9]|1[0-2])$/;

export const isMonth = (text: string): boolean =>
  MONTH_RE.test(text) && Number(text.slice(0, 4)) >= 1970 && Number(text.slice(0, 4)) <= 2100;

export function monthRange(month: string): MonthRange {
  if (!isMonth(month)) throw new RangeError(`not a YYYY-MM month: ${month}`);
  const year = Number(month.slice(0, 4));
  const m = Number(month.slice(5, 7));
  const last = new Date(Date.UTC(year, m, 0)).getUTCDate();
  const days = Array.from({ length: last }, (_, i) => `${month}-${String(i + 1).padStart(2, '0')}`);
  return { month, year, from: days[0]!, to: days[last - 1]!, days };
}

export function previousMonth(month: string): string {
  const year = Number(month.slice(0, 4));
  const m = Number(month.slice(5, 7));
  return m === 1 ? `${year - 1}-12` : `${year}-${String(m - 1).padStart(2, '0')}`;
}

/** Every date from `from` to `to` inclusive (both valid YYYY-MM-DD). */
export function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000)
    out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

/** A real calendar date written YYYY-MM-DD (the SQL helper's own check). */
export const isDay = (text: string): boolean => sqlv.isIsoDate(text);
