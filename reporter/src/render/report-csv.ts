import { csvField as field } from '@confidant/shared';
import {
  GOAL_BREAKDOWN_TITLES,
  REPORT_SECTIONS,
  TOTAL_LABELS,
  type MonthlyReport,
  type TotalKey,
} from '../report/monthly-report.ts';
import type { GoalBreakdownName } from '../report/goal-report.ts';

const GOAL_METRICS = ['conversions', 'convertingVisits', 'conversionRatePercent'] as const;

/** Long format, one line per figure: `section,key,metric,value`. Same object as JSON and HTML. */
export function renderReportCsv(r: MonthlyReport): string {
  const rows: Array<[string, string, string, string | number | null]> = [
    ['meta', 'practice', 'id', r.practice.id],
    ['meta', 'practice', 'name', r.practice.name],
    ['meta', 'month', 'value', r.month],
    ['meta', 'timezone', 'value', r.period.timezone],
    ['meta', 'source', 'value', r.source],
    ['meta', 'visitors', 'definition', r.visitors.definition],
  ];
  for (const src of ['snippet', 'logs'] as const) {
    rows.push(
      ['sources', src, 'pageviews', r.sources[src].pageviews],
      ['sources', src, 'visits', r.sources[src].visits],
    );
  }
  for (const k of Object.keys(TOTAL_LABELS) as TotalKey[]) {
    const t = r.totals[k];
    rows.push(
      ['totals', k, 'value', t.value],
      ['totals', k, 'previous', t.previous],
      ['totals', k, 'changePercent', t.changePercent],
    );
  }
  for (const d of r.daily) {
    rows.push(
      ['daily', d.day, 'pageviews', d.pageviews],
      ['daily', d.day, 'visits', d.visits],
      ['daily', d.day, 'visitors', d.visitors],
    );
    rows.push(['daily', d.day, 'bounces', d.bounces], ['daily', d.day, 'engagedMs', d.engagedMs]);
  }
  for (const s of REPORT_SECTIONS) {
    for (const row of r.sections[s.key]) for (const m of s.metrics) rows.push([s.key, row.value, m, row[m] ?? null]);
  }
  // Goals: `goals,<goal id>,<metric>`, and each breakdown as `goal:<goal id>:<breakdown>,<value>,<metric>`.
  for (const g of r.goals) {
    rows.push(['goals', g.id, 'name', g.name], ['goals', g.id, 'visits', g.visits]);
    for (const m of GOAL_METRICS) rows.push(['goals', g.id, m, g[m]]);
    for (const b of Object.keys(GOAL_BREAKDOWN_TITLES) as GoalBreakdownName[])
      for (const row of g.breakdowns[b])
        for (const m of [...GOAL_METRICS, 'visits'] as const) rows.push([`goal:${g.id}:${b}`, row.value, m, row[m]]);
  }
  return `section,key,metric,value\n${rows.map((row) => row.map(field).join(',')).join('\n')}\n`;
}
