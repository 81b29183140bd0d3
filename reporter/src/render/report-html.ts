import { createHash } from 'node:crypto';
import type { GoalBreakdownName, GoalFigures } from '../report/goal-report.ts';
import {
  GOAL_BREAKDOWN_TITLES,
  REPORT_SECTIONS,
  TOTAL_LABELS,
  type GoalReport,
  type MonthlyReport,
  type TotalKey,
} from '../report/monthly-report.ts';
import { esc, formatNumber } from './escape.ts';
import { dailyChartSvg } from './svg-chart.ts';

const METRIC_LABELS: Record<string, string> = {
  pageviews: 'Page views',
  visits: 'Visits',
  visitors: 'Visitors',
  bounces: 'Bounces',
  events: 'Count',
  engaged_ms: 'Engaged ms',
};

/** The one inline stylesheet; the CSP allows exactly this text by hash. */
export const REPORT_CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;margin:24px auto;max-width:800px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px;border-bottom:1px solid #ccc;padding-bottom:4px}
.sub{color:#555;margin:0 0 16px}.note{color:#555;font-size:12px}
table{border-collapse:collapse;width:100%}th,td{padding:4px 6px;border-bottom:1px solid #eee;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.totals{display:grid;grid-template-columns:repeat(3,1fr);gap:10px}
.tile{border:1px solid #ddd;border-radius:6px;padding:8px 10px}.tile .label{color:#555;font-size:12px}
.tile .value{font-size:22px;font-weight:600}.up{color:#1d7a35}.down{color:#b3261e}
td.key{word-break:break-all}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}table,.tile{break-inside:avoid}}
`;

export const REPORT_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(REPORT_CSS).digest('base64')}'`,
  "img-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const changeText = (pct: number | null): string => {
  if (pct === null) return '<span class="change">no comparison</span>';
  const cls = pct > 0 ? 'up' : pct < 0 ? 'down' : '';
  return `<span class="change ${cls}">${pct > 0 ? '+' : ''}${esc(formatNumber(pct))}% vs previous month</span>`;
};

const GOAL_COLUMNS = [
  ['convertingVisits', 'Converting visits'],
  ['conversions', 'Conversions'],
  ['visits', 'Visits'],
  ['conversionRatePercent', 'Conversion rate (%)'],
] as const;

const goalCells = (row: GoalFigures & { visits: number }, attrs: string): string =>
  GOAL_COLUMNS.map(([m]) => `<td class="n" ${attrs} data-metric="${m}">${esc(formatNumber(row[m] ?? null))}</td>`).join(
    '',
  );
const goalHead = (first: string): string =>
  `<tr><th>${esc(first)}</th>${GOAL_COLUMNS.map(([, label]) => `<th class="n">${esc(label)}</th>`).join('')}</tr>`;

/** The Goals section: each goal's month, then its top values by channel, campaign, entry page and the rest. */
function goalsSection(goals: readonly GoalReport[]): string {
  if (goals.length === 0)
    return '<section id="goals"><h2>Goals</h2><p class="note">No goals are set up for this practice.</p></section>';
  const summary = goals
    .map(
      (g) =>
        `<tr><td class="key">${esc(g.name ?? `${g.id} (removed)`)}</td>${goalCells(g, `data-goal="${esc(g.id)}"`)}</tr>`,
    )
    .join('');
  const details = goals
    .map((g) => {
      const tables = (Object.keys(GOAL_BREAKDOWN_TITLES) as GoalBreakdownName[])
        .map((b) => {
          const rows = g.breakdowns[b];
          const body = rows.length
            ? rows
                .map(
                  (row) =>
                    `<tr><td class="key">${esc(row.value || '(none)')}</td>${goalCells(row, `data-goal="${esc(g.id)}" data-breakdown="${b}" data-key="${esc(row.value)}"`)}</tr>`,
                )
                .join('')
            : `<tr><td colspan="${GOAL_COLUMNS.length + 1}" class="note">No converting visits this month.</td></tr>`;
          return `<table>${goalHead(GOAL_BREAKDOWN_TITLES[b])}${body}</table>`;
        })
        .join('');
      return `<h3>${esc(g.name ?? g.id)}</h3>${tables}`;
    })
    .join('');
  return `<section id="goals"><h2>Goals</h2><table>${goalHead('Goal')}${summary}</table>
<p class="note">A conversion is an event that reached the goal; a converting visit is a visit that reached it (once). The conversion rate is converting visits over visits, for each value over that value's visits. Count-only pages (booking, portal) are never linked to a visit: their goals have conversions only.</p>${details}</section>`;
}

/** The printable monthly report: server-rendered, no scripts, no external assets. */
export function renderReportHtml(r: MonthlyReport): string {
  const tiles = (Object.keys(TOTAL_LABELS) as TotalKey[])
    .map((k) => {
      const t = r.totals[k];
      return `<div class="tile"><div class="label">${esc(TOTAL_LABELS[k])}</div><div class="value" data-total="${k}">${esc(formatNumber(t.value))}</div>${changeText(t.changePercent)}</div>`;
    })
    .join('');
  const chart = dailyChartSvg(
    r.daily.map((d) => ({ label: d.day, bar: d.pageviews, line: d.visits })),
    { barLabel: 'page views', lineLabel: 'visits' },
  );
  const dailyRows = r.daily
    .map(
      (d) =>
        `<tr><td>${esc(d.day)}</td><td class="n" data-daily="${esc(d.day)}" data-metric="pageviews">${esc(formatNumber(d.pageviews))}</td><td class="n" data-daily="${esc(d.day)}" data-metric="visits">${esc(formatNumber(d.visits))}</td><td class="n" data-daily="${esc(d.day)}" data-metric="visitors">${esc(formatNumber(d.visitors))}</td></tr>`,
    )
    .join('');
  const sections = REPORT_SECTIONS.map((s) => {
    const rows = r.sections[s.key];
    const column = s.title.replace(/^Top (\w)/, (_m, c: string) => c.toUpperCase());
    const head = `<tr><th>${esc(column)}</th>${s.metrics.map((m) => `<th class="n">${esc(METRIC_LABELS[m] ?? m)}</th>`).join('')}</tr>`;
    const body = rows.length
      ? rows
          .map(
            (row) =>
              `<tr><td class="key">${esc(row.value || '(none)')}</td>${s.metrics
                .map(
                  (m) =>
                    `<td class="n" data-section="${s.key}" data-key="${esc(row.value)}" data-metric="${m}">${esc(formatNumber(row[m] ?? null))}</td>`,
                )
                .join('')}</tr>`,
          )
          .join('')
      : `<tr><td colspan="${s.metrics.length + 1}" class="note">No data this month.</td></tr>`;
    return `<section id="${s.key}"><h2>${esc(s.title)}</h2><table>${head}${body}</table></section>`;
  }).join('');

  const sourceRows = (['snippet', 'logs'] as const)
    .map(
      (src) =>
        `<tr data-source="${src}"><td>${src === 'logs' ? 'Server logs' : 'Website snippet'}</td><td class="n">${r.sources[src].pageviews}</td><td class="n">${r.sources[src].visits}</td></tr>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(`${r.practice.name} — website report ${r.month}`)}</title>
<style>${REPORT_CSS}</style></head>
<body>
<h1>${esc(r.practice.name)}: website report for ${esc(r.month)}</h1>
<p class="sub">${esc(r.period.from)} to ${esc(r.period.to)} (${esc(r.period.timezone)}), data from the ${r.source === 'logs' ? 'server logs' : 'website snippet'}. Aggregates only: no individual visitor can be seen here.</p>
<section id="totals"><h2>Totals</h2><div class="totals">${tiles}</div>
<p class="note" id="visitors-note">${esc(r.visitors.note)}</p></section>
<section id="sources"><h2>Data sources</h2><table><tr><th>Source</th><th class="n">Page views</th><th class="n">Visits</th></tr>${sourceRows}</table>
<p class="note">Practices can send both the website snippet and server logs. The two are counted separately and never added together; the figures in this report come from the ${r.source === 'logs' ? 'server logs' : 'website snippet'}.</p></section>
<section id="daily"><h2>Daily page views and visits</h2>${chart}
<details open><summary>Daily figures</summary><table><tr><th>Day</th><th class="n">Page views</th><th class="n">Visits</th><th class="n">Visitors</th></tr>${dailyRows}</table></details></section>
${sections}
${goalsSection(r.goals)}
<p class="note">Generated ${esc(r.generatedAt)} by Confidant.</p>
</body></html>
`;
}
