import { esc } from '../render/escape.ts';

/** What the page's script needs to start; everything else it reads from the stats API. */
export type DashboardConfig = {
  practice: { id: string; name: string; timezone: string; cookieMode: boolean };
  /** Today in the practice's time zone: rollup days are local days. */
  today: string;
  /** The practices the caller may open, for the switcher. */
  practices: Array<{ id: string; name: string }>;
  /** The panels: the monthly report's sections, so both always show the same breakdowns. */
  panels: Array<{ key: string; title: string; dim: string; metrics: string[] }>;
};

/**
 * What the page carries: a dashboard's config, or for a share link only its token (and whether
 * it needs a password), so a protected link shows nothing of the practice before the password.
 */
export type DashboardPageConfig =
  { kind: 'dashboard'; dashboard: DashboardConfig } | { kind: 'share'; token: string; needsPassword: boolean };

/** Scripts and styles only from this origin; the config travels as inert JSON. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** JSON inside a script element: `<` escaped so no value can close the element. */
const inertJson = (value: unknown): string => JSON.stringify(value).replace(/</g, '\\u003c');

export function renderDashboardPage(page: DashboardPageConfig): string {
  const name = page.kind === 'dashboard' ? page.dashboard.practice.name : 'Shared dashboard';
  const timezone = page.kind === 'dashboard' ? `Times are in ${esc(page.dashboard.practice.timezone)}.` : '';
  const unlock =
    page.kind === 'share' && page.needsPassword
      ? `<form id="unlock" class="unlock"><h2>This dashboard is protected</h2><label>Password <input type="password" id="password" autocomplete="current-password" required></label> <button type="submit">Open</button></form>`
      : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(name)} · Confidant</title>
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard/app.css">
<script type="application/json" id="dashboard-config">${inertJson(page)}</script>
<script type="module" src="/dashboard/app.js"></script>
</head>
<body>
<header class="bar">
  <h1 id="practice-name">${esc(name)}</h1>
  <form id="controls" class="controls" aria-label="What to show"${unlock ? ' hidden' : ''}>
    <label>Practice <select id="practice"></select></label>
    <label>Period <select id="range">
      <option value="today">Today</option>
      <option value="7d">Last 7 days</option>
      <option value="30d" selected>Last 30 days</option>
      <option value="month">This month</option>
      <option value="last-month">Last month</option>
      <option value="custom">Custom</option>
    </select></label>
    <label>From <input type="date" id="from" required></label>
    <label>To <input type="date" id="to" required></label>
    <label>Compare with <select id="compare">
      <option value="previous" selected>Previous period</option>
      <option value="year">Same period a year earlier</option>
      <option value="none">Nothing</option>
    </select></label>
    <label>Source <select id="source">
      <option value="snippet" selected>Website snippet</option>
      <option value="logs">Server logs</option>
    </select></label>
    <label>Chart <select id="interval">
      <option value="day" selected>By day</option>
      <option value="hour">By hour</option>
    </select></label>
  </form>
</header>
<main>
  ${unlock}
  <p id="status" role="status" aria-live="polite"></p>
  <div id="view"${unlock ? ' hidden' : ''}>
  <p class="current"><span id="current">–</span> current visits (active in the last 5 minutes)</p>
  <p class="note">The website snippet and server logs are counted separately and never added together. <span id="timezone">${timezone}</span></p>
  <section aria-labelledby="totals-title"><h2 id="totals-title">Totals</h2><dl id="totals" class="totals"></dl></section>
  <section aria-labelledby="chart-title"><h2 id="chart-title">Over time</h2><div id="chart" class="chart"></div>
    <table id="chart-table" class="sr-table"><caption>Figures over time</caption></table></section>
  <section id="detail" class="detail" hidden aria-labelledby="detail-title"><h2 id="detail-title"></h2>
    <button type="button" id="detail-close">Close detail</button><div id="detail-chart" class="chart"></div>
    <table id="detail-table"></table></section>
  <section aria-labelledby="downloads-title"><h2 id="downloads-title">Monthly report</h2>
    <p>For <span id="report-month"></span>: <a id="report-html" href="#">HTML</a> · <a id="report-csv" href="#">CSV</a> · <a id="report-json" href="#">JSON</a></p></section>
  <div id="panels" class="panels"></div>
  </div>
</main>
</body>
</html>
`;
}
