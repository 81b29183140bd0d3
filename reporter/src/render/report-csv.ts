import { csvField as field } from '@confidant/shared';
import { REPORT_SECTIONS, TOTAL_LABELS, type MonthlyReport, type TotalKey } from '../report/monthly-report.ts';

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
  return `section,key,metric,value\n${rows.map((row) => row.map(field).join(',')).join('\n')}\n`;
}
