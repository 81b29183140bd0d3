/// <reference lib="dom" />
// The dashboard page's script: it reads the stats API with the caller's own credentials and draws
// what comes back. It holds no figures of its own.
import uPlot from 'uplot';
import type { DashboardConfig, DashboardPageConfig } from './dashboard-page.ts';

type Figure = { value: number | null; previous: number | null; changePercent: number | null };
type Summary = { comparedWith: { from: string; to: string } | null; totals: Record<string, Figure> };
type Point = { date: string; hour?: number } & Record<string, number>;

const page = JSON.parse(document.getElementById('dashboard-config')!.textContent!) as DashboardPageConfig;
/** Set by `start`: the dashboard's config, inline or (for a share link) read with its token. */
let config: DashboardConfig;
/** A share link's token (or what its password unlocked); signed-in people send no header. */
let bearer: string | null = null;
const authHeaders = (): Record<string, string> => (bearer ? { authorization: `Bearer ${bearer}` } : {});
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const el = <K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string) => {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
};

const TOTALS: Array<[string, string, (n: number) => string]> = [
  ['visitors', 'Visitors', (n) => n.toLocaleString('en')],
  ['visits', 'Visits', (n) => n.toLocaleString('en')],
  ['pageviews', 'Page views', (n) => n.toLocaleString('en')],
  ['bounceRate', 'Bounce rate', (n) => `${n}%`],
  ['avgVisitSeconds', 'Engaged time per visit', (n) => `${Math.floor(n / 60)}m ${n % 60}s`],
];
const METRIC_LABELS: Record<string, string> = {
  pageviews: 'Page views',
  visits: 'Visits',
  visitors: 'Visitors',
  bounces: 'Bounces',
  events: 'Events',
  engaged_ms: 'Engaged ms',
};
const LIMIT = 10;

const controls = {
  practice: $<HTMLSelectElement>('practice'),
  range: $<HTMLSelectElement>('range'),
  from: $<HTMLInputElement>('from'),
  to: $<HTMLInputElement>('to'),
  compare: $<HTMLSelectElement>('compare'),
  source: $<HTMLSelectElement>('source'),
  interval: $<HTMLSelectElement>('interval'),
};

const iso = (d: Date) => d.toISOString().slice(0, 10);
const shift = (day: string, days: number) => iso(new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000));
const monthStart = (day: string) => `${day.slice(0, 7)}-01`;

/** A preset's days, counted back from today in the practice's time zone. */
function presetRange(preset: string): { from: string; to: string } | null {
  const today = config.today;
  if (preset === 'today') return { from: today, to: today };
  if (preset === '7d') return { from: shift(today, -6), to: today };
  if (preset === '30d') return { from: shift(today, -29), to: today };
  if (preset === 'month') return { from: monthStart(today), to: today };
  if (preset === 'last-month') {
    const last = shift(monthStart(today), -1);
    return { from: monthStart(last), to: last };
  }
  return null;
}

const api = async <T>(path: string, params: Record<string, string>): Promise<T> => {
  const res = await fetch(
    `/v1/practices/${encodeURIComponent(config.practice.id)}/${path}?${new URLSearchParams(params)}`,
    {
      credentials: 'same-origin',
      headers: { accept: 'application/json', ...authHeaders() },
    },
  );
  const body = (await res.json().catch(() => ({}))) as T & { error?: { message?: string } };
  if (!res.ok) throw new Error(body.error?.message ?? `the server answered ${res.status}`);
  return body;
};

function state() {
  return {
    from: controls.from.value,
    to: controls.to.value,
    source: controls.source.value,
    compare: controls.compare.value,
    interval: controls.interval.value,
  };
}

/** The view lives in the address, so a reload or a copied link shows the same. */
function saveToUrl(): void {
  const s = state();
  const q = new URLSearchParams({ practice: config.practice.id, range: controls.range.value, ...s });
  history.replaceState(null, '', `?${q}`);
}

function loadFromUrl(): void {
  const q = new URLSearchParams(location.search);
  for (const key of ['range', 'compare', 'source', 'interval'] as const) {
    const v = q.get(key);
    if (v && Array.from(controls[key].options).some((o) => o.value === v)) controls[key].value = v;
  }
  const preset = presetRange(controls.range.value);
  controls.from.value = preset?.from ?? q.get('from') ?? shift(config.today, -29);
  controls.to.value = preset?.to ?? q.get('to') ?? config.today;
}

function renderTotals(summary: Summary): void {
  const dl = $('totals');
  dl.replaceChildren();
  for (const [key, label, show] of TOTALS) {
    const f = summary.totals[key]!;
    const box = el('div', undefined, 'total');
    box.append(el('dt', label));
    const dd = el('dd', f.value === null ? '–' : show(f.value));
    dd.dataset.total = key;
    box.append(dd);
    if (summary.comparedWith) {
      const change =
        f.changePercent === null ? 'no comparison' : `${f.changePercent > 0 ? '+' : ''}${f.changePercent}%`;
      const was = f.previous === null ? '–' : show(f.previous);
      box.append(el('dd', `${change} (was ${was})`, 'change'));
    }
    dl.append(box);
  }
}

let chart: uPlot | null = null;
let detailChart: uPlot | null = null;

function drawChart(target: HTMLElement, old: uPlot | null, xs: number[], series: Array<[string, number[], boolean]>) {
  old?.destroy();
  const width = Math.max(320, target.clientWidth || 800);
  return new uPlot(
    {
      width,
      height: 260,
      series: [
        {},
        ...series.map(([label, , dashed], i) => ({
          label,
          stroke: ['#2563eb', '#16a34a', '#9333ea'][i % 3],
          width: 2,
          ...(dashed ? { dash: [6, 4] } : {}),
        })),
      ],
      axes: [{}, { size: 60 }],
      // Points are the practice's local days and hours, written as UTC: show them as they are.
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    },
    [xs, ...series.map(([, values]) => values)],
    target,
  );
}

/** The chart's figures as a table too, for screen readers and for copying. */
function renderChartTable(table: HTMLTableElement, points: Point[], metrics: string[]): void {
  const caption = table.caption ?? table.createCaption();
  table.replaceChildren(caption);
  const head = table.createTHead().insertRow();
  for (const h of ['Date', ...metrics.map((m) => METRIC_LABELS[m] ?? m)]) head.append(el('th', h));
  const body = table.createTBody();
  for (const p of points) {
    const row = body.insertRow();
    row.append(el('td', p.hour === undefined ? p.date : `${p.date} ${String(p.hour).padStart(2, '0')}:00`));
    for (const m of metrics) row.append(el('td', String(p[m] ?? 0), 'n'));
  }
}

const toX = (p: Point) => Date.parse(`${p.date}T${String(p.hour ?? 0).padStart(2, '0')}:00:00Z`) / 1000;

async function renderChart(summary: Summary): Promise<void> {
  const s = state();
  const metrics = ['visitors', 'pageviews'];
  const params = { from: s.from, to: s.to, source: s.source, interval: s.interval, metrics: metrics.join(',') };
  const [cur, prev] = await Promise.all([
    api<{ points: Point[] }>('stats/timeseries', params),
    summary.comparedWith
      ? api<{ points: Point[] }>('stats/timeseries', { ...params, ...summary.comparedWith })
      : Promise.resolve(null),
  ]);
  const xs = cur.points.map(toX);
  const series: Array<[string, number[], boolean]> = metrics.map((m) => [
    METRIC_LABELS[m]!,
    cur.points.map((p) => p[m] ?? 0),
    false,
  ]);
  // The comparison lines up day by day (or hour by hour) from the start of each range.
  if (prev) series.push([`Visitors (compared)`, xs.map((_, i) => prev.points[i]?.visitors ?? 0), true]);
  chart = drawChart($('chart'), chart, xs, series);
  renderChartTable($<HTMLTableElement>('chart-table'), cur.points, metrics);
}

function downloadLink(panel: DashboardConfig['panels'][number]): HTMLAnchorElement {
  const s = state();
  const q = new URLSearchParams({
    from: s.from,
    to: s.to,
    source: s.source,
    dimension: panel.dim,
    metrics: panel.metrics.join(','),
    limit: '1000',
  });
  const a = el('a', `CSV of ${panel.title}`, 'csv');
  a.href = `/v1/practices/${encodeURIComponent(config.practice.id)}/stats/breakdown.csv?${q}`;
  downloadWithToken(a);
  return a;
}

async function renderPanel(panel: DashboardConfig['panels'][number], box: HTMLElement, limit: number): Promise<void> {
  const s = state();
  const data = await api<{ rows: Array<Record<string, string | number>> }>('stats/breakdown', {
    from: s.from,
    to: s.to,
    source: s.source,
    dimension: panel.dim,
    metrics: panel.metrics.join(','),
    limit: String(limit),
  });
  const table = el('table');
  const head = table.createTHead().insertRow();
  head.append(el('th', panel.title));
  for (const m of panel.metrics) head.append(el('th', METRIC_LABELS[m] ?? m, 'n'));
  const body = table.createTBody();
  for (const r of data.rows) {
    const row = body.insertRow();
    const cell = row.insertCell();
    const open = el('button', String(r.value), 'value');
    open.type = 'button';
    open.addEventListener('click', () => void showDetail(panel, String(r.value)));
    cell.append(open);
    for (const m of panel.metrics) row.append(el('td', Number(r[m] ?? 0).toLocaleString('en'), 'n'));
  }
  const parts: HTMLElement[] = [el('h2', panel.title)];
  parts.push(data.rows.length ? table : el('p', 'Nothing in this period.', 'empty'));
  const tools = el('p', undefined, 'tools');
  if (data.rows.length === limit && limit < 100) {
    const more = el('button', 'Show more');
    more.type = 'button';
    more.addEventListener('click', () => void renderPanel(panel, box, 100).catch(showError));
    tools.append(more, ' ');
  }
  tools.append(downloadLink(panel));
  parts.push(tools);
  box.replaceChildren(...parts);
}

async function showDetail(panel: DashboardConfig['panels'][number], value: string): Promise<void> {
  const s = state();
  const data = await api<{ points: Point[] }>('stats/value-series', {
    from: s.from,
    to: s.to,
    source: s.source,
    dimension: panel.dim,
    value,
  });
  const section = $('detail');
  section.hidden = false;
  $('detail-title').textContent = `${panel.title}: ${value}`;
  const metric = panel.metrics.includes('events')
    ? 'events'
    : panel.metrics.includes('pageviews')
      ? 'pageviews'
      : 'visits';
  detailChart = drawChart($('detail-chart'), detailChart, data.points.map(toX), [
    [METRIC_LABELS[metric]!, data.points.map((p) => p[metric] ?? 0), false],
  ]);
  renderChartTable($<HTMLTableElement>('detail-table'), data.points, [metric]);
  section.scrollIntoView();
}

function renderReportLinks(): void {
  const month = controls.to.value.slice(0, 7);
  $('report-month').textContent = month;
  for (const format of ['html', 'csv', 'json']) {
    const q = new URLSearchParams({ month, format, source: controls.source.value });
    $<HTMLAnchorElement>(`report-${format}`).href =
      `/v1/practices/${encodeURIComponent(config.practice.id)}/reports/monthly?${q}`;
  }
}

/** With a share token a plain link would go without it: fetch with the header, then save what came. */
function downloadWithToken(a: HTMLAnchorElement): void {
  a.addEventListener('click', (e) => {
    if (!bearer) return;
    e.preventDefault();
    void fetch(a.href, { headers: authHeaders() })
      .then(async (res) => {
        if (!res.ok) throw new Error(`the server answered ${res.status}`);
        const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'download';
        const save = el('a');
        save.href = URL.createObjectURL(await res.blob());
        save.download = name;
        save.click();
        URL.revokeObjectURL(save.href);
      })
      .catch(showError);
  });
}

function showError(error: unknown): void {
  $('status').textContent = `Could not load: ${error instanceof Error ? error.message : String(error)}`;
}

let generation = 0;
async function refresh(): Promise<void> {
  if (!controls.from.value || !controls.to.value || controls.from.value > controls.to.value) {
    $('status').textContent = 'Choose a start date on or before the end date.';
    return;
  }
  const mine = ++generation;
  saveToUrl();
  renderReportLinks();
  $('status').textContent = 'Loading…';
  try {
    const s = state();
    const summary = await api<Summary>('stats/summary', {
      from: s.from,
      to: s.to,
      source: s.source,
      compare: s.compare,
    });
    if (mine !== generation) return;
    renderTotals(summary);
    const panels = $('panels');
    panels.replaceChildren();
    await Promise.all([
      renderChart(summary),
      ...config.panels.map((p) => {
        const box = el('section', undefined, 'panel');
        box.dataset.panel = p.key;
        panels.append(box);
        return renderPanel(p, box, LIMIT);
      }),
    ]);
    if (mine === generation) $('status').textContent = `Showing ${s.from} to ${s.to}.`;
  } catch (error) {
    if (mine === generation) showError(error);
  }
}

/** Current visits: polled on their own, since the processors publish them every half minute. */
async function refreshCurrent(): Promise<void> {
  try {
    const now = await api<{ visits: number }>('stats/current', { source: controls.source.value });
    $('current').textContent = now.visits.toLocaleString('en');
  } catch {
    $('current').textContent = '–';
  }
}

/** Wires the controls and shows the first view. */
function start(dashboard: DashboardConfig): void {
  config = dashboard;
  $('practice-name').textContent = config.practice.name;
  $('timezone').textContent = `Times are in ${config.practice.timezone}.`;
  for (const format of ['html', 'csv', 'json']) downloadWithToken($<HTMLAnchorElement>(`report-${format}`));
  for (const p of config.practices) {
    const option = el('option', p.name);
    option.value = p.id;
    option.selected = p.id === config.practice.id;
    controls.practice.append(option);
  }
  // One practice (a share link, a practice's own key): nothing to switch.
  controls.practice.parentElement!.hidden = config.practices.length < 2;
  controls.practice.addEventListener('change', () => {
    location.search = `?${new URLSearchParams({ practice: controls.practice.value })}`;
  });
  controls.range.addEventListener('change', () => {
    const preset = presetRange(controls.range.value);
    if (preset) {
      controls.from.value = preset.from;
      controls.to.value = preset.to;
    }
    void refresh();
  });
  for (const input of [controls.from, controls.to]) {
    input.addEventListener('change', () => {
      controls.range.value = 'custom';
      void refresh();
    });
  }
  for (const select of [controls.compare, controls.source, controls.interval])
    select.addEventListener('change', () => void refresh());
  $('detail-close').addEventListener('click', () => {
    $('detail').hidden = true;
  });
  $('controls').addEventListener('submit', (e) => e.preventDefault());
  $('controls').hidden = false;
  $('view').hidden = false;
  loadFromUrl();
  void refresh();
  void refreshCurrent();
  setInterval(() => void refreshCurrent(), 30_000);
  controls.source.addEventListener('change', () => void refreshCurrent());
}

/** A share link: its token reads the config; a protected one first trades its password for an unlock. */
async function openShared(token: string): Promise<void> {
  bearer = token;
  const res = await fetch('/v1/dashboard/config', { headers: { accept: 'application/json', ...authHeaders() } });
  const body = (await res.json().catch(() => ({}))) as DashboardConfig & { error?: { message?: string } };
  if (!res.ok) throw new Error(body.error?.message ?? `the server answered ${res.status}`);
  start(body);
}

if (page.kind === 'dashboard') start(page.dashboard);
else if (!page.needsPassword) openShared(page.token).catch(showError);
else {
  const form = $<HTMLFormElement>('unlock');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    $('status').textContent = 'Checking…';
    void (async () => {
      const res = await fetch('/v1/share-links/unlock', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ token: page.token, password: $<HTMLInputElement>('password').value }),
      });
      const body = (await res.json().catch(() => ({}))) as { accessToken?: string; error?: { message?: string } };
      if (!res.ok || !body.accessToken) throw new Error(body.error?.message ?? `the server answered ${res.status}`);
      form.hidden = true;
      await openShared(body.accessToken);
    })().catch(showError);
  });
}
