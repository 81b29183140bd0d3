import type { Db, EventSource, Goal, Practice, RollupMetric } from '@confidant/shared';
import { sectionsSql } from '../queries/breakdown.query.ts';
import { dailyTotalsSql, monthVisitorsSql, sourceTotalsSql } from '../queries/monthly-report.query.ts';
import { metricAlias, toCount, type BreakdownDimension } from '../queries/rollup-metrics.ts';
import {
  GOAL_BREAKDOWN_KEYS,
  goalBreakdowns,
  goalSummaries,
  type GoalBreakdownName,
  type GoalBreakdownRow,
  type GoalSummary,
} from './goal-report.ts';
import { monthRange, previousMonth } from './month.ts';

export const REPORT_SCHEMA_VERSION = 1;

/** The sections of the printed report: which dimension, which figures, ranked by which. */
export const REPORT_SECTIONS = [
  { key: 'pages', title: 'Top pages', dim: 'page', metrics: ['pageviews', 'visitors'], orderBy: 'pageviews' },
  { key: 'entryPages', title: 'Entry pages', dim: 'entry', metrics: ['visits', 'bounces'], orderBy: 'visits' },
  { key: 'exitPages', title: 'Exit pages', dim: 'exit', metrics: ['visits'], orderBy: 'visits' },
  { key: 'channels', title: 'Channels', dim: 'channel', metrics: ['visits', 'visitors', 'bounces'], orderBy: 'visits' },
  { key: 'referrers', title: 'Referrer domains', dim: 'referrer', metrics: ['visits'], orderBy: 'visits' },
  { key: 'campaigns', title: 'Campaigns', dim: 'utm_campaign', metrics: ['visits'], orderBy: 'visits' },
  { key: 'campaignSources', title: 'Campaign sources', dim: 'utm_source', metrics: ['visits'], orderBy: 'visits' },
  { key: 'campaignMediums', title: 'Campaign media', dim: 'utm_medium', metrics: ['visits'], orderBy: 'visits' },
  { key: 'campaignTerms', title: 'Campaign terms', dim: 'utm_term', metrics: ['visits'], orderBy: 'visits' },
  { key: 'campaignContent', title: 'Campaign content', dim: 'utm_content', metrics: ['visits'], orderBy: 'visits' },
  { key: 'exitDestinations', title: 'Exit destinations', dim: 'exit_domain', metrics: ['events'], orderBy: 'events' },
  { key: 'downloads', title: 'Downloads', dim: 'download', metrics: ['events'], orderBy: 'events' },
  {
    key: 'countries',
    title: 'Countries',
    dim: 'country',
    metrics: ['visits', 'visitors', 'pageviews'],
    orderBy: 'visits',
  },
  { key: 'devices', title: 'Devices', dim: 'device', metrics: ['visits', 'visitors', 'pageviews'], orderBy: 'visits' },
  {
    key: 'browsers',
    title: 'Browsers',
    dim: 'browser',
    metrics: ['visits', 'visitors', 'pageviews'],
    orderBy: 'visits',
  },
  { key: 'os', title: 'Operating systems', dim: 'os', metrics: ['visits', 'visitors', 'pageviews'], orderBy: 'visits' },
  { key: 'events', title: 'Custom events', dim: 'event', metrics: ['events', 'visitors'], orderBy: 'events' },
  { key: 'notFound', title: 'Pages not found (404)', dim: 'notfound', metrics: ['pageviews'], orderBy: 'pageviews' },
  { key: 'pageClasses', title: 'Page classes', dim: 'page_class', metrics: ['pageviews'], orderBy: 'pageviews' },
  {
    key: 'contacts',
    title: 'Calls, emails, directions and forms',
    dim: 'action',
    metrics: ['events', 'visitors'],
    orderBy: 'events',
  },
  { key: 'forms', title: 'Form submissions', dim: 'form', metrics: ['events', 'visitors'], orderBy: 'events' },
  // Rows in bucket order (0, 25, 50, 75, 100 %), not by count: a distribution reads top to bottom.
  { key: 'scrollDepth', title: 'Scroll depth (%)', dim: 'scroll', metrics: ['pageviews'], orderBy: 'pageviews' },
  {
    key: 'screens',
    title: 'Screen classes',
    dim: 'screen',
    metrics: ['visits', 'visitors', 'pageviews'],
    orderBy: 'visits',
  },
] as const satisfies ReadonlyArray<{
  key: string;
  title: string;
  dim: BreakdownDimension;
  metrics: readonly RollupMetric[];
  orderBy: RollupMetric;
}>;

export type SectionKey = (typeof REPORT_SECTIONS)[number]['key'];
export type SectionRow = { value: string } & Partial<Record<RollupMetric, number>>;
export type TotalFigure = { value: number | null; previous: number | null; changePercent: number | null };
export type TotalKey = 'visitors' | 'visits' | 'pageviews' | 'bounceRate' | 'avgVisitSeconds' | 'engagedSeconds';
export type ReportDayRow = {
  day: string;
  pageviews: number;
  visits: number;
  visitors: number;
  bounces: number;
  engagedMs: number;
};

export type MonthlyReport = {
  schemaVersion: number;
  practice: { id: string; name: string; timezone: string; cookieMode: boolean };
  month: string;
  period: { from: string; to: string; timezone: string };
  source: EventSource;
  /** Both sources side by side for the month; the report's figures come from `source` alone, never from their sum. */
  sources: Record<EventSource, { pageviews: number; visits: number }>;
  visitors: { definition: 'sum-of-daily-visitors' | 'monthly-unique-browsers'; note: string };
  totals: Record<TotalKey, TotalFigure>;
  daily: ReportDayRow[];
  sections: Record<SectionKey, SectionRow[]>;
  /** Each goal's month, with its top values by entry page, channel, referrer, campaign, country and device. */
  goals: GoalReport[];
  generatedAt: string;
};

export type GoalReport = GoalSummary & { breakdowns: Record<GoalBreakdownName, GoalBreakdownRow[]> };

export const GOAL_BREAKDOWN_TITLES: Record<GoalBreakdownName, string> = {
  channel: 'Channel',
  campaign: 'Campaign',
  entry: 'Entry page',
  referrer: 'Referrer domain',
  country: 'Country',
  device: 'Device',
};

export const TOTAL_LABELS: Record<TotalKey, string> = {
  visitors: 'Visitors',
  visits: 'Visits',
  pageviews: 'Page views',
  bounceRate: 'Bounce rate (%)',
  avgVisitSeconds: 'Average engaged time per visit (s)',
  engagedSeconds: 'Total engaged time (s)',
};

export type Sums = { visitors: number; visits: number; pageviews: number; bounces: number; engagedMs: number };

const round1 = (x: number): number => Math.round(x * 10) / 10;

/** Figures derived from sums; null when there were no visits to divide by. */
export function figures(s: Sums): Record<TotalKey, number | null> {
  return {
    visitors: s.visitors,
    visits: s.visits,
    pageviews: s.pageviews,
    bounceRate: s.visits > 0 ? round1((100 * s.bounces) / s.visits) : null,
    avgVisitSeconds: s.visits > 0 ? Math.round(s.engagedMs / s.visits / 1000) : null,
    engagedSeconds: Math.round(s.engagedMs / 1000),
  };
}

export const change = (cur: number | null, prev: number | null): number | null =>
  cur === null || prev === null || prev === 0 ? null : round1((100 * (cur - prev)) / prev);

export type ReportOptions = {
  limit: number;
  source?: EventSource;
  now?: Date;
  /** The practice's goals (default: none; goals with stored counts are reported by id). */
  goals?: readonly Goal[];
};

export async function buildMonthlyReport(
  db: Db,
  practice: Practice,
  month: string,
  options: ReportOptions,
): Promise<MonthlyReport> {
  const range = monthRange(month);
  const prevRange = monthRange(previousMonth(month));
  // A handful of queries, not one per section, all at once: on a busy server each query has a fixed
  // cost. Which source the report shows is read alongside; unless the caller named it, the snippet's
  // figures are read meanwhile and read again only when the practice turns out to have logs alone.
  const readFigures = (source: EventSource) => {
    const filter = { practiceId: practice.id, source, from: range.from, to: range.to };
    const prevFilter = { ...filter, from: prevRange.from, to: prevRange.to };
    return Promise.all([
      readDaily(db, { ...filter, from: prevRange.from }),
      practice.cookieMode ? readMonthVisitors(db, filter) : Promise.resolve(null),
      practice.cookieMode ? readMonthVisitors(db, prevFilter) : Promise.resolve(null),
      db.rows<Record<string, string>>(sectionsSql({ ...filter, sections: REPORT_SECTIONS, limit: options.limit })),
    ]);
  };
  const likely: EventSource = options.source ?? 'snippet';
  const [sources, likelyFigures] = await Promise.all([
    readSources(db, practice.id, range.from, range.to),
    readFigures(likely),
  ]);
  const source = options.source ?? pickSource(sources);
  const [bothMonths, unique, prevUnique, topRows] = source === likely ? likelyFigures : await readFigures(source);
  const daily = bothMonths.filter((d) => d.day >= range.from);
  const prevDaily = bothMonths.filter((d) => d.day <= prevRange.to);
  const sectionRows = REPORT_SECTIONS.map((s) => topRows.filter((r) => r.d === s.dim));
  const scrollRows = sectionRows[REPORT_SECTIONS.findIndex((s) => s.dim === 'scroll')]!;
  scrollRows.sort((a, b) => Number(a.v) - Number(b.v));
  const goals = await readGoals(db, { practiceId: practice.id, source, from: range.from, to: range.to }, options);

  const byDay = new Map(daily.map((d) => [d.day, d]));
  const filled = range.days.map(
    (day) => byDay.get(day) ?? { day, pageviews: 0, visits: 0, visitors: 0, bounces: 0, engagedMs: 0 },
  );
  const sum = (rows: ReportDayRow[], visitors: number | null): Sums => ({
    visitors: visitors ?? rows.reduce((a, r) => a + r.visitors, 0),
    visits: rows.reduce((a, r) => a + r.visits, 0),
    pageviews: rows.reduce((a, r) => a + r.pageviews, 0),
    bounces: rows.reduce((a, r) => a + r.bounces, 0),
    engagedMs: rows.reduce((a, r) => a + r.engagedMs, 0),
  });
  const cur = figures(sum(filled, unique?.get(MONTH_TOTAL) ?? (unique ? 0 : null)));
  const prev = figures(sum(prevDaily, prevUnique?.get(MONTH_TOTAL) ?? (prevUnique ? 0 : null)));
  const totals = Object.fromEntries(
    (Object.keys(TOTAL_LABELS) as TotalKey[]).map((k) => [
      k,
      { value: cur[k], previous: prev[k], changePercent: change(cur[k], prev[k]) },
    ]),
  ) as Record<TotalKey, TotalFigure>;

  const sections = Object.fromEntries(
    REPORT_SECTIONS.map((s, i) => [
      s.key,
      sectionRows[i]!.map((r) => {
        const row: SectionRow = { value: r.v ?? '' };
        for (const m of s.metrics) row[m] = toCount(r[metricAlias(m)]);
        // Cookie mode: a row's visitors over the month are unique browsers, not a sum of days.
        if (unique && 'visitors' in row) row.visitors = unique.get(monthKey(s.dim, row.value)) ?? 0;
        return row;
      }),
    ]),
  ) as Record<SectionKey, SectionRow[]>;

  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    practice: { id: practice.id, name: practice.name, timezone: practice.timezone, cookieMode: practice.cookieMode },
    month,
    period: { from: range.from, to: range.to, timezone: practice.timezone },
    source,
    sources,
    visitors: practice.cookieMode
      ? {
          definition: 'monthly-unique-browsers',
          note: 'Visitors are unique browsers over the month (cookie mode; the visitor key changes each month).',
        }
      : {
          definition: 'sum-of-daily-visitors',
          note: 'Cookieless mode: visitors are counted per day and the days are added up, so someone who came on three days counts three times.',
        },
    totals,
    daily: filled,
    sections,
    goals,
    generatedAt: (options.now ?? new Date()).toISOString(),
  };
}

async function readGoals(
  db: Db,
  f: { practiceId: string; source: EventSource; from: string; to: string },
  options: ReportOptions,
): Promise<GoalReport[]> {
  const summaries = await goalSummaries(db, f, options.goals ?? []);
  return Promise.all(
    summaries.map(async (g) => ({
      ...g,
      breakdowns: await goalBreakdowns(db, f, g.id, GOAL_BREAKDOWN_KEYS, options.limit),
    })),
  );
}

async function readSources(db: Db, practiceId: string, from: string, to: string): Promise<MonthlyReport['sources']> {
  const rows = await db.rows<{ src: string; m_pageviews: string; m_visits: string }>(
    sourceTotalsSql({ practiceId, from, to }),
  );
  const of = (src: EventSource) => {
    const row = rows.find((r) => r.src === src);
    return { pageviews: toCount(row?.m_pageviews), visits: toCount(row?.m_visits) };
  };
  return { snippet: of('snippet'), logs: of('logs') };
}

/** The snippet when it has data for the period, else server logs. */
function pickSource(sources: MonthlyReport['sources']): EventSource {
  return sources.snippet.pageviews === 0 && sources.logs.pageviews > 0 ? 'logs' : 'snippet';
}

export async function readDaily(
  db: Db,
  f: { practiceId: string; source: EventSource; from: string; to: string },
): Promise<ReportDayRow[]> {
  const rows = await db.rows<Record<string, string>>(dailyTotalsSql(f));
  return rows.map((r) => ({
    day: r.d!,
    pageviews: toCount(r.m_pageviews),
    visits: toCount(r.m_visits),
    visitors: toCount(r.m_visitors),
    bounces: toCount(r.m_bounces),
    engagedMs: toCount(r.m_engaged_ms),
  }));
}

export const monthKey = (dim: string, value: string) => `${dim}\u0000${value}`;
export const MONTH_TOTAL = monthKey('total', '');
/** The rows whose visitors a cookie-mode month counts as unique browsers: the total and the sections that show visitors. */
const MONTH_VISITOR_DIMS = [
  'total',
  ...new Set(
    REPORT_SECTIONS.filter((s) => (s.metrics as readonly RollupMetric[]).includes('visitors')).map((s) => s.dim),
  ),
] as const;

/** A cookie-mode month's unique visitors by `dim\0value`. */
export async function readMonthVisitors(
  db: Db,
  f: { practiceId: string; source: EventSource; from: string; to: string },
): Promise<Map<string, number>> {
  const rows = await db.rows<{ d: string; v: string; m_visitors: string }>(
    monthVisitorsSql({ ...f, dims: MONTH_VISITOR_DIMS }),
  );
  return new Map(rows.map((r) => [monthKey(r.d, r.v), toCount(r.m_visitors)]));
}
