import type { Db, EventSource, Practice } from '@confidant/shared';
import { daysBetween } from './month.ts';
import {
  change,
  figures,
  MONTH_TOTAL,
  readDaily,
  readMonthVisitors,
  TOTAL_LABELS,
  type ReportDayRow,
  type Sums,
  type TotalFigure,
  type TotalKey,
} from './monthly-report.ts';

export type Comparison = 'previous' | 'year' | 'none';
export type DayRange = { from: string; to: string };

export type RangeSummary = {
  practiceId: string;
  source: EventSource;
  range: DayRange;
  compare: Comparison;
  /** The range the figures are compared with, or null without a comparison. */
  comparedWith: DayRange | null;
  visitors: { definition: 'sum-of-daily-visitors' | 'monthly-unique-browsers' };
  totals: Record<TotalKey, TotalFigure>;
};

const iso = (d: Date): string => d.toISOString().slice(0, 10);
const utcDay = (day: string): Date => new Date(`${day}T00:00:00Z`);
// Calendar arithmetic in UTC: date-fns would count in the process's time zone and lose or gain a day across DST.
const subDays = (d: Date, days: number): Date => new Date(d.getTime() - days * 86_400_000);
/** The same date a year earlier; 29 February becomes 28 February. */
const subYears = (d: Date, years: number): Date => {
  const y = d.getUTCFullYear() - years;
  const lastDay = new Date(Date.UTC(y, d.getUTCMonth() + 1, 0)).getUTCDate();
  return new Date(Date.UTC(y, d.getUTCMonth(), Math.min(d.getUTCDate(), lastDay)));
};

/**
 * The range before `r` of the same length (the previous calendar month for a whole month, so both
 * sides count visitors the same way), or the same dates a year earlier.
 */
export function comparisonRange(r: DayRange, compare: Comparison): DayRange | null {
  if (compare === 'none') return null;
  const whole = isWholeMonth(r);
  if (compare === 'year') {
    const from = iso(subYears(utcDay(r.from), 1));
    return whole ? monthOf(from) : { from, to: iso(subYears(utcDay(r.to), 1)) };
  }
  if (whole) return monthOf(iso(subDays(utcDay(r.from), 1)));
  const days = daysBetween(r.from, r.to).length;
  return { from: iso(subDays(utcDay(r.from), days)), to: iso(subDays(utcDay(r.from), 1)) };
}

/** The calendar month of `day`, first to last day. */
function monthOf(day: string): DayRange {
  const d = utcDay(day);
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0));
  return { from: `${day.slice(0, 7)}-01`, to: iso(last) };
}

/** Whether `r` is exactly one calendar month. */
function isWholeMonth(r: DayRange): boolean {
  const m = monthOf(r.from);
  return m.from === r.from && m.to === r.to;
}

/**
 * Totals of a day range and of the range it is compared with. Visitors are the sum of daily
 * visitors, except for a cookie-mode practice's whole calendar month: its unique browsers, as in
 * the monthly report.
 */
export async function buildRangeSummary(
  db: Db,
  practice: Practice,
  q: DayRange & { source: EventSource; compare: Comparison },
): Promise<RangeSummary> {
  const comparedWith = comparisonRange(q, q.compare);
  // Decided by the asked range alone: a comparison range may be a whole month when the asked one is not.
  const month = practice.cookieMode && isWholeMonth(q);
  const read = async (r: DayRange): Promise<Sums> => {
    const filter = { practiceId: practice.id, source: q.source, from: r.from, to: r.to };
    const [days, unique] = await Promise.all([
      readDaily(db, filter),
      month ? readMonthVisitors(db, filter) : Promise.resolve(null),
    ]);
    const total = (k: keyof Omit<ReportDayRow, 'day'>) => days.reduce((a, d) => a + d[k], 0);
    return {
      visitors: unique ? (unique.get(MONTH_TOTAL) ?? 0) : total('visitors'),
      visits: total('visits'),
      pageviews: total('pageviews'),
      bounces: total('bounces'),
      engagedMs: total('engagedMs'),
    };
  };
  const [cur, prev] = await Promise.all([
    read({ from: q.from, to: q.to }),
    comparedWith ? read(comparedWith) : Promise.resolve(null),
  ]);
  const now = figures(cur);
  const before = prev ? figures(prev) : null;
  const totals = Object.fromEntries(
    (Object.keys(TOTAL_LABELS) as TotalKey[]).map((k) => [
      k,
      { value: now[k], previous: before ? before[k] : null, changePercent: before ? change(now[k], before[k]) : null },
    ]),
  ) as Record<TotalKey, TotalFigure>;
  return {
    practiceId: practice.id,
    source: q.source,
    range: { from: q.from, to: q.to },
    compare: q.compare,
    comparedWith,
    visitors: {
      definition: month ? 'monthly-unique-browsers' : 'sum-of-daily-visitors',
    },
    totals,
  };
}
