/**
 * Reads: the monthly report and the dashboard's queries for a median and the largest of 1,000
 * practices whose traffic follows Zipf's law, over 13 months, from the rollups (our model) and from a
 * raw per-event table holding the same events (the Plausible/Umami model), alternating, in one run;
 * the bytes each takes on disk; and the reported visitors against an exact count.
 *
 * ClickHouse generates the events itself (`INSERT … SELECT`, a month a statement, ≤ 10 M rows), and
 * the rollups are computed from the raw table through `rollup_ingest_v3` as the processor writes
 * them: closed days as sealed counts (`states` 0), the last two days as open visitor states
 * (`states` 1), which the real sealer then turns into counts.
 */
import { isDeepStrictEqual } from 'node:util';
import { createClient } from '@clickhouse/client';
import {
  PORTABLE_SETTINGS,
  PracticeStore,
  ROLLUP_TABLES,
  TABLES,
  sqlv,
  type Db,
  type Practice,
} from '@confidant/shared';
import { sealClosedVisitorStates } from '@confidant/processor';
import {
  breakdownSql,
  buildMonthlyReport,
  dailyTotalsSql,
  timeseriesSql,
  type MonthlyReport,
} from '@confidant/reporter';
import { readsLargestMonthly } from './bench.config.ts';
import { openNamespace, type Namespace } from './support/namespace.ts';
import { fmt, median, quantile, sleep } from './support/stats.ts';
import type { Bench, BenchContext, Row } from './support/result.ts';

const RAW = 'bench_raw_events';
const SESSIONS = 'bench_sessions';
const PLAN = 'bench_practice_months';
const PRACTICES = 1000;
/** Zipf exponent: with 1,000 practices the largest has about 36 % of all traffic. */
const ZIPF_S = 1.4;
const MONTHS = 13;
/** Days at the end whose visitor states are still open (daily salt), as the processor leaves them. */
const OPEN_DAYS = 2;
/** Events per plan row: bounds the rows one source block expands to. */
const PLAN_CHUNK = 100_000;
const MAX_ROWS_PER_STATEMENT = 10_000_000;
const SLOW = { max_execution_time: 1800 };
const PAGE_VIEW_TYPES = `('pageview', 'notfound')`;
/** The processor's rule (processor/src/session/sessionizer.ts): a one-page visit with less engaged time is a bounce. */
const BOUNCE_ENGAGED_MS = 10_000;

/** `weights` spread over 100 slots, for `arrayElement(…, hash % 100 + 1)`. */
function weighted(weights: Array<[string, number]>): string[] {
  const total = weights.reduce((a, [, w]) => a + w, 0);
  const out: string[] = [];
  let acc = 0;
  for (const [v, w] of weights) {
    acc += w;
    while (out.length < Math.round((100 * acc) / total)) out.push(v);
  }
  return out;
}
const pick = (values: readonly string[], hash: string) =>
  `arrayElement([${values.map((v) => sqlv.str(v)).join(', ')}], (${hash} % ${values.length}) + 1)`;

const HOURS = weighted(
  Array.from({ length: 24 }, (_, h): [string, number] => [
    String(h),
    h < 6 ? 1 : h < 8 ? 3 : h < 12 ? 9 : h < 17 ? 8 : h < 21 ? 5 : 2,
  ]),
);
const SECTIONS = ['/services', '/team', '/conditions', '/blog', '/insurance', '/locations', '/patients', '/about'];
const REFERRERS = weighted([
  ['', 40],
  ['google.com', 30],
  ['bing.com', 6],
  ['facebook.com', 5],
  ['healthgrades.com', 4],
  ['zocdoc.com', 4],
  ['duckduckgo.com', 3],
  ['yelp.com', 3],
  ['webmd.com', 3],
  ['instagram.com', 2],
]);
const COUNTRIES = weighted([
  ['US', 72],
  ['CA', 8],
  ['MX', 5],
  ['GB', 4],
  ['DE', 3],
  ['IN', 3],
  ['FR', 2],
  ['PH', 2],
  ['BR', 1],
]);
const BROWSERS = weighted([
  ['Chrome', 50],
  ['Safari', 33],
  ['Edge', 8],
  ['Samsung Internet', 5],
  ['Firefox', 4],
]);
const OPERATING_SYSTEMS = weighted([
  ['iOS', 35],
  ['Android', 25],
  ['Windows', 25],
  ['macOS', 12],
  ['Linux', 3],
]);
const DEVICES = weighted([
  ['mobile', 62],
  ['desktop', 34],
  ['tablet', 4],
]);
// Index-aligned: a campaign's source, medium and name.
const UTM = {
  source: ['newsletter', 'facebook', 'google', 'newsletter'],
  medium: ['email', 'social', 'cpc', 'email'],
  campaign: ['flu-shots', 'new-patients', 'telehealth', 'checkup-reminder'],
};
const OUTBOUND = [
  'maps.example.org',
  'portal.insurer.example',
  'pharmacy.example',
  'lab.example',
  'telehealth.example',
];
const DOWNLOADS = ['/files/intake.pdf', '/files/consent.pdf', '/files/prep-colonoscopy.pdf', '/files/price-list.pdf'];
const EVENTS = ['book-click', 'call-click', 'map-click', 'form-submit'];

type Month = { index: number; from: number; to: number; days: number; label: string; first: string; last: string };
type PlanRow = {
  practice_id: string;
  rank: number;
  m: number;
  first: number;
  cnt: number;
  events: number;
  pages: number;
  pool: number;
};

const isoDay = (epochS: number) => new Date(epochS * 1000).toISOString().slice(0, 10);
const pagesOf = (rank: number) => Math.round(12 + 300 / Math.sqrt(rank));
const practiceId = (rank: number) => `practice-${String(rank).padStart(4, '0')}`;

/** 13 whole months ending with the last complete one. */
function monthsEndingLastMonth(now: Date): Month[] {
  return Array.from({ length: MONTHS }, (_, index) => {
    const from = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - MONTHS + index, 1) / 1000;
    const to = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - MONTHS + index + 1, 1) / 1000;
    return {
      index,
      from,
      to,
      days: (to - from) / 86_400,
      label: isoDay(from).slice(0, 7),
      first: isoDay(from),
      last: isoDay(to - 86_400),
    };
  });
}

/**
 * Events per practice and month: rank r gets largest / r^s, growing 12 % over the year; pages per
 * site and the visitor pool (about three visits per visitor a month) grow with the practice.
 */
function plan(largest: number, months: Month[]): { rows: PlanRow[]; perPractice: Map<number, number[]> } {
  const rows: PlanRow[] = [];
  const perPractice = new Map<number, number[]>();
  for (let rank = 1; rank <= PRACTICES; rank++) {
    const base = largest / rank ** ZIPF_S;
    const pages = pagesOf(rank);
    const pool = Math.max(2, Math.round(base / 12));
    const counts: number[] = [];
    for (const m of months) {
      const events = Math.max(8, Math.round(base * (0.88 + (0.12 * m.index) / (MONTHS - 1))));
      counts.push(events);
      for (let first = 0; first < events; first += PLAN_CHUNK)
        rows.push({
          practice_id: practiceId(rank),
          rank,
          m: m.index,
          first,
          cnt: Math.min(PLAN_CHUNK, events - first),
          events,
          pages,
          pool,
        });
    }
    perPractice.set(rank, counts);
  }
  return { rows, perPractice };
}

const CREATE_PLAN = `CREATE TABLE ${PLAN} (practice_id String, rank UInt32, m UInt32, first UInt32, cnt UInt32, events UInt32, pages UInt32, pool UInt64) ENGINE = Log`;

/** Per-event rows as an events table stores them: one row per hit, visitor and session ids, every dimension. */
const CREATE_RAW = `CREATE TABLE ${RAW} (
  practice_id String, ts DateTime('UTC'), session_id UInt64, visitor UInt64,
  type Enum8('pageview' = 1, 'engagement' = 2, 'outbound' = 3, 'download' = 4, 'event' = 5, 'notfound' = 6),
  page String, referrer_domain String, utm_source String, utm_medium String, utm_campaign String,
  target String, name String, engaged_ms UInt32, country String, browser String, os String, device String
) ENGINE = MergeTree() PARTITION BY toYYYYMM(ts) ORDER BY (practice_id, toDate(ts), session_id, ts)`;

/** One row per visit, reconstructed from the raw events once, so each rollup reads it rather than re-sessionizing. */
const CREATE_SESSIONS = `CREATE TABLE ${SESSIONS} (
  practice_id String, session_id UInt64, ts_start DateTime('UTC'), visitor UInt64, entry String, exit_page String,
  referrer String, us String, um String, uc String, country String, browser String, os String, device String, bounce UInt8
) ENGINE = MergeTree() PARTITION BY toYYYYMM(ts_start) ORDER BY (practice_id, ts_start)`;

/**
 * The events of month `m` for the plan rows of ranks [lo, hi]. Event i of a practice's month belongs
 * to visit i/4 (the first event a page view); visits are spread over the month's days in order,
 * each in one hour (business hours weighted), 45 s between its events; a visit's visitor is drawn
 * from the practice's pool, so visitors come back on other days and months. Pages per site follow
 * Zipf too (log-uniform index); 45 % of visits bounce (no second page view).
 */
function generateSql(m: Month, lo: number, hi: number): string {
  const pageIndex = `least(pages, greatest(1, toUInt32(exp((intHash32(ek) % 1000000) / 1000000 * log(pages + 1)))))`;
  const utm = `(step = 0 AND intHash32(sk * 7) % 100 < 8)`;
  const campaign = (values: string[]) => `if(${utm}, ${pick(values, 'intHash32(sk * 13)')}, '')`;
  return `INSERT INTO ${RAW}
SELECT practice_id, toDateTime(${m.from} + day_index * 86400 + toUInt32(hr) * 3600 + intHash32(sk) % 3000 + step * 45, 'UTC'), sk, vis, ty,
  if(ty = 'notfound', concat('/old/page-', toString(ek % 40)), if(pidx = 1, '/', concat(${pick(SECTIONS, 'pidx')}, '/', toString(pidx)))),
  if(step = 0, ${pick(REFERRERS, 'intHash32(sk * 5)')}, ''), ${campaign(UTM.source)}, ${campaign(UTM.medium)}, ${campaign(UTM.campaign)},
  multiIf(ty = 'outbound', ${pick(OUTBOUND, 'ek')}, ty = 'download', ${pick(DOWNLOADS, 'ek')}, ''),
  if(ty = 'event', ${pick(EVENTS, 'ek')}, ''),
  if(ty = 'engagement', toUInt32(ek % 60000), toUInt32(0)),
  ${pick(COUNTRIES, 'intHash32(vis)')}, ${pick(BROWSERS, 'intHash32(vis * 3)')}, ${pick(OPERATING_SYSTEMS, 'intHash32(vis * 7)')}, ${pick(DEVICES, 'intHash32(vis * 11)')}
FROM (
  SELECT practice_id, sk, ek, step, day_index, hr, vis, ${pageIndex} AS pidx,
    multiIf(step = 0, 'pageview',
      bounce, multiIf(ek % 100 < 55, 'engagement', ek % 100 < 70, 'outbound', ek % 100 < 80, 'download', 'event'),
      multiIf(ek % 100 < 62, 'pageview', ek % 100 < 78, 'engagement', ek % 100 < 84, 'outbound', ek % 100 < 88, 'download', ek % 100 < 96, 'event', 'notfound')) AS ty
  FROM (
    SELECT practice_id, pages, i % 4 AS step,
      intHash64(rank * 1000000000000 + m * 10000000000 + intDiv(i, 4)) AS sk, intHash64(sk + step + 1) AS ek,
      intDiv(intDiv(i, 4) * ${m.days}, intDiv(events + 3, 4)) AS day_index, ${pick(HOURS, 'sk')} AS hr,
      intHash32(sk * 3) % 100 < 45 AS bounce, intHash64(rank * 1000000000000 + sk % pool) AS vis
    FROM (SELECT practice_id, rank, m, events, pages, pool, first + arrayJoin(range(cnt)) AS i FROM ${PLAN}
      WHERE m = ${m.index} AND rank BETWEEN ${lo} AND ${hi})
  )
)`;
}

const monthWhere = (m: Month, column: string) =>
  `${column} >= ${sqlv.dateTime(m.from)} AND ${column} < ${sqlv.dateTime(m.to)}`;

const INGEST = sqlv.ident(TABLES.rollupIngest);
const INGEST_COLUMNS =
  'kind, practice_id, day, hour, source, dim, value, states, written_hour, pageviews, visits, bounces, engaged_ms, events, visitor_hashes, visitor_count';

/** A row one event or visit adds to: `[dim, value, …counts, counts its visitor]`, skipped when dim is ''. */
type Contribution = string[];
const contributions = (items: Contribution[]) =>
  `arrayFilter(x -> x.1 != '', [${items.map((c) => `tuple(${c.join(', ')})`).join(', ')}])`;
const when = (condition: string, dim: string) => `if(${condition}, ${sqlv.str(dim)}, '')`;

/**
 * The rollups the processor writes for month `m`, computed from the raw events and the visits,
 * row for row as processor/src/pipeline/aggregate.step.ts adds them; one scan of the events and
 * one of the visits fan each out to its rows (`arrayJoin`). A row with visitors carries open
 * states (`states` 1, the row's visitor values) on the last OPEN_DAYS days and otherwise the sealed
 * count (`states` 0, uniq of the row's visitor values: what the sealer's uniqArrayMerge gives).
 */
function rollupSqls(m: Month, openFrom: string): string[] {
  const open = `d >= ${sqlv.date(openFrom)}`;
  const isPv = `type IN ${PAGE_VIEW_TYPES}`;
  const pv = `toInt64(${isPv})`;
  const engaged = 'toInt64(engaged_ms)';
  const one = 'toInt64(1)';
  const zero = 'toInt64(0)';
  const yes = 'toUInt8(1)';
  const no = 'toUInt8(0)';
  const technology = ['country', 'browser', 'os', 'device'];
  // Row-keyed visitor values under the day's salt, as the processor stores them: no value repeats across rows or days.
  const keyed = (kind: string, extra = '') => `cityHash64(visitor, d, ${sqlv.str(kind)}, dm, v${extra})`;
  // Per event: [dim, value, page views, engaged ms, events, counts its visitor].
  const eventRows = contributions([
    ["'total'", "''", pv, engaged, `toInt64(type IN ('outbound', 'download', 'event'))`, yes],
    [when(`type IN ('pageview', 'notfound', 'engagement')`, 'page'), 'page', pv, engaged, zero, `toUInt8(${isPv})`],
    [when(`type = 'notfound'`, 'notfound'), 'page', one, zero, zero, no],
    [when(`type = 'outbound'`, 'exit_domain'), 'target', zero, zero, one, no],
    [when(`type = 'download'`, 'download'), 'target', zero, zero, one, no],
    [when(`type = 'event'`, 'event'), 'name', zero, zero, one, yes],
    ...technology.map((t) => [when(isPv, t), t, one, zero, zero, yes]),
  ]);
  // Per visit: [dim, value, visits, bounces].
  const bounce = 'toInt64(bounce)';
  const visitRows = contributions([
    ["'total'", "''", one, bounce],
    ["'entry'", 'entry', one, bounce],
    ["'exit'", 'exit_page', one, zero],
    ["'referrer'", `if(referrer = '', '(direct)', referrer)`, one, zero],
    [when(`us != ''`, 'utm_source'), 'us', one, zero],
    [when(`um != ''`, 'utm_medium'), 'um', one, zero],
    [when(`uc != ''`, 'utm_campaign'), 'uc', one, zero],
    ...technology.map((t) => [`'${t}'`, t, one, zero]),
  ]);
  const insert = `INSERT INTO ${INGEST} (${INGEST_COLUMNS})`;
  const visitors = (kind: string, extra = '', counted = 'counted') =>
    `groupUniqArrayIf(${keyed(kind, extra)}, ${open} AND ${counted}), toUInt64(uniqIf(${keyed(kind, extra)}, NOT ${open} AND ${counted}))`;
  return [
    `INSERT INTO ${SESSIONS} SELECT practice_id, session_id, min(ts), any(visitor), argMinIf(page, ts, ${isPv}), argMaxIf(page, ts, ${isPv}),
      argMin(referrer_domain, ts), argMin(utm_source, ts), argMin(utm_medium, ts), argMin(utm_campaign, ts),
      any(country), any(browser), any(os), any(device), countIf(${isPv}) <= 1 AND sum(engaged_ms) < ${BOUNCE_ENGAGED_MS}
     FROM ${RAW} WHERE ${monthWhere(m, 'ts')} GROUP BY practice_id, session_id`,
    `${insert} SELECT 'daily', practice_id, d, 0, 'snippet', dm, v, toUInt8(${open}), toUInt32(0),
       sum(x.3), toInt64(0), toInt64(0), sum(x.4), sum(x.5), ${visitors('daily', '', 'x.6 = 1')}
     FROM (SELECT practice_id, visitor, toDate(ts) AS d, arrayJoin(${eventRows}) AS x, x.1 AS dm, x.2 AS v
       FROM ${RAW} WHERE ${monthWhere(m, 'ts')}) AS e
     GROUP BY practice_id, d, dm, v`,
    `${insert} SELECT 'daily', practice_id, d, 0, 'snippet', dm, v, toUInt8(0), toUInt32(0),
       toInt64(0), sum(x.3), sum(x.4), toInt64(0), toInt64(0), emptyArrayUInt64(), toUInt64(0)
     FROM (SELECT practice_id, toDate(ts_start) AS d, arrayJoin(${visitRows}) AS x, x.1 AS dm, x.2 AS v
       FROM ${SESSIONS} WHERE ${monthWhere(m, 'ts_start')}) AS s
     GROUP BY practice_id, d, dm, v`,
    // Hourly: every event's visitor, page views and engaged time where they happen; visits where they start.
    `${insert} SELECT 'hourly', practice_id, d, h, 'snippet', '', '', toUInt8(${open}), toUInt32(0),
       toInt64(countIf(${isPv})), toInt64(0), toInt64(0), toInt64(sum(engaged_ms)), toInt64(0), ${visitors('hourly', ', h', '1')}
     FROM (SELECT practice_id, visitor, type, engaged_ms, toDate(ts) AS d, toHour(ts) AS h, '' AS dm, '' AS v
       FROM ${RAW} WHERE ${monthWhere(m, 'ts')}) AS e
     GROUP BY practice_id, d, h`,
    `${insert} SELECT 'hourly', practice_id, d, h, 'snippet', '', '', toUInt8(0), toUInt32(0),
       toInt64(0), toInt64(count()), toInt64(sum(bounce)), toInt64(0), toInt64(0), emptyArrayUInt64(), toUInt64(0)
     FROM (SELECT practice_id, bounce, toDate(ts_start) AS d, toHour(ts_start) AS h FROM ${SESSIONS} WHERE ${monthWhere(m, 'ts_start')}) AS s
     GROUP BY practice_id, d, h`,
    // What the seals of the closed days added to each row's month (daily salt: the sum of its days).
    `INSERT INTO ${INGEST} (kind, practice_id, day, source, dim, value, visitor_count)
     SELECT 'monthly', practice_id, toStartOfMonth(day) AS mon, source, dim, value, toUInt64(sumMerge(visitors_closed)) AS n
     FROM ${sqlv.ident(ROLLUP_TABLES.daily.name)} WHERE states = 0 AND day BETWEEN ${sqlv.date(m.first)} AND ${sqlv.date(m.last)}
     GROUP BY practice_id, mon, source, dim, value HAVING n > 0`,
  ];
}

type Period = { from: string; to: string };

const epochOf = (day: string) => Date.parse(`${day}T00:00:00Z`) / 1000;
const rawWhere = (id: string, p: Period) =>
  `practice_id = ${sqlv.str(id)} AND ts >= ${sqlv.dateTime(epochOf(p.from))} AND ts < ${sqlv.dateTime(epochOf(p.to) + 86_400)}`;

/** Visits as the raw model reconstructs them from the events at read time. */
const rawSessions = (where: string) =>
  `(SELECT min(ts) AS start, argMinIf(page, ts, type IN ${PAGE_VIEW_TYPES}) AS entry, argMaxIf(page, ts, type IN ${PAGE_VIEW_TYPES}) AS exit_page,
    argMin(referrer_domain, ts) AS ref, argMin(utm_source, ts) AS us, argMin(utm_medium, ts) AS um, argMin(utm_campaign, ts) AS uc,
    countIf(type IN ${PAGE_VIEW_TYPES}) <= 1 AND sum(engaged_ms) < ${BOUNCE_ENGAGED_MS} AS bounce FROM ${RAW} WHERE ${where} GROUP BY session_id) AS s`;

/** Totals per day over `p` from the raw table: the events' figures and the visits' in parallel. */
const rawDailyTotals = (id: string, p: Period) => {
  const where = rawWhere(id, p);
  return [
    `SELECT toDate(ts) AS d, countIf(type IN ${PAGE_VIEW_TYPES}) AS pv, uniq(visitor) AS vis, sum(engaged_ms) AS eng, countIf(type IN ('outbound', 'download', 'event')) AS ev FROM ${RAW} WHERE ${where} GROUP BY d ORDER BY d`,
    `SELECT toDate(start) AS d, count() AS visits, sum(bounce) AS bounces FROM ${rawSessions(where)} GROUP BY d ORDER BY d`,
  ];
};

/** The monthly report's queries against the raw table: both months' daily totals and the 16 sections. */
function rawReportSqls(id: string, month: Period, previous: Period): string[] {
  const where = rawWhere(id, month);
  const top = (select: string, from: string, filter: string, order: string) =>
    `SELECT ${select} FROM ${from} WHERE ${filter} GROUP BY v ORDER BY ${order} DESC, v LIMIT 10`;
  const sessions = rawSessions(where);
  return [
    ...rawDailyTotals(id, { from: previous.from, to: month.to }),
    top(`page AS v, count() AS pv, uniq(visitor) AS vis`, RAW, `${where} AND type IN ${PAGE_VIEW_TYPES}`, 'pv'),
    top(`entry AS v, count() AS visits, sum(bounce) AS b`, sessions, `entry != ''`, 'visits'),
    top(`exit_page AS v, count() AS visits`, sessions, `exit_page != ''`, 'visits'),
    top(`if(ref = '', '(direct)', ref) AS v, count() AS visits`, sessions, '1', 'visits'),
    ...(['uc', 'us', 'um'] as const).map((c) => top(`${c} AS v, count() AS visits`, sessions, `${c} != ''`, 'visits')),
    ...(['outbound', 'download'] as const).map((t) =>
      top(`target AS v, count() AS ev`, RAW, `${where} AND type = ${sqlv.str(t)}`, 'ev'),
    ),
    ...(['country', 'device', 'browser', 'os'] as const).map((c) =>
      top(
        `${c} AS v, uniqIf(session_id, type IN ${PAGE_VIEW_TYPES}) AS visits, uniqIf(visitor, type IN ${PAGE_VIEW_TYPES}) AS vis, countIf(type IN ${PAGE_VIEW_TYPES}) AS pv`,
        RAW,
        where,
        'visits',
      ),
    ),
    top(`name AS v, count() AS ev, uniq(visitor) AS vis`, RAW, `${where} AND type = 'event'`, 'ev'),
    top(`page AS v, count() AS pv`, RAW, `${where} AND type = 'notfound'`, 'pv'),
    // Page classes: the raw model filters pages by pattern at read time.
    top(
      `page AS v, count() AS pv`,
      RAW,
      `${where} AND type = 'pageview' AND match(page, '^/(portal|appointments|booking|symptom-checker)/')`,
      'pv',
    ),
  ];
}

const queryAll = (db: Db, queries: string[]) => Promise.all(queries.map((q) => db.rows(q)));

/** A view of `db` whose queries go to system.query_log under `prefix-n`, to read what they scanned. */
function loggedDb(db: Db, prefix: string): Db {
  let n = 0;
  return {
    ...db,
    async rows<T>(query: string) {
      const r = await db.client.query({
        query,
        format: 'JSONEachRow',
        query_id: `${prefix}-${n++}`,
        clickhouse_settings: { log_queries: 1 },
      });
      return (await r.json()) as T[];
    },
  };
}

type Scan = { queries: number; rows: number; bytes: number };
async function scanned(db: Db, prefix: string): Promise<Scan> {
  await db.command('SYSTEM FLUSH LOGS');
  const [row] = await db.rows<{ q: string; r: string; b: string }>(
    `SELECT toString(count()) AS q, toString(sum(read_rows)) AS r, toString(sum(read_bytes)) AS b FROM system.query_log WHERE type = 2 AND query_id LIKE ${sqlv.str(`${prefix}-%`)}`,
  );
  return { queries: Number(row?.q ?? 0), rows: Number(row?.r ?? 0), bytes: Number(row?.b ?? 0) };
}

async function bytesOnDisk(db: Db, tables: string[]): Promise<{ bytes: number; parts: number }> {
  const [row] = await db.rows<{ b: string; n: string }>(
    `SELECT toString(sum(bytes_on_disk)) AS b, toString(count()) AS n FROM system.parts WHERE active AND database = ${sqlv.str(db.database)} AND ${sqlv.inList('table', tables, sqlv.str)}`,
  );
  return { bytes: Number(row?.b ?? 0), parts: Number(row?.n ?? 0) };
}

/** One measured read: ours through the reporter, the raw table's equivalent. */
type Case = {
  label: string;
  ours: (db: Db) => Promise<unknown>;
  raw: (db: Db) => Promise<unknown>;
  /** p95 goal in ms, or null for a context row. */
  p95Goal: number | null;
};

type Subject = { role: 'median' | 'largest'; rank: number; practice: Practice; monthEvents: number };

function casesFor(s: Subject, month: Month, previous: Month, dashboard: { current: Period; previous: Period }): Case[] {
  const id = s.practice.id;
  const filter = { practiceId: id, source: 'snippet' as const, ...dashboard.current };
  const who = `${s.role} practice`;
  const dashGoal = s.role === 'median' ? 30 : null;
  return [
    {
      label: `monthly report, ${who}`,
      ours: (db) => buildMonthlyReport(db, s.practice, month.label, { limit: 10, source: 'snippet' }),
      raw: (db) =>
        queryAll(
          db,
          rawReportSqls(id, { from: month.first, to: month.last }, { from: previous.first, to: previous.last }),
        ),
      p95Goal: s.role === 'median' ? 50 : 150,
    },
    {
      label: `dashboard timeseries (30 days by day), ${who}`,
      ours: (db) =>
        db.rows(timeseriesSql({ ...filter, interval: 'day', metrics: ['pageviews', 'visits', 'visitors'] })),
      raw: (db) =>
        queryAll(db, [
          `SELECT toDate(ts) AS d, countIf(type IN ${PAGE_VIEW_TYPES}) AS pv, uniq(session_id) AS visits, uniq(visitor) AS vis FROM ${RAW} WHERE ${rawWhere(id, dashboard.current)} GROUP BY d ORDER BY d`,
        ]),
      p95Goal: dashGoal,
    },
    {
      label: `dashboard breakdown (top pages, 30 days), ${who}`,
      ours: (db) =>
        db.rows(
          breakdownSql({
            ...filter,
            dimension: 'page',
            metrics: ['pageviews', 'visitors'],
            orderBy: 'pageviews',
            limit: 10,
          }),
        ),
      raw: (db) =>
        queryAll(db, [
          `SELECT page AS v, count() AS pv, uniq(visitor) AS vis FROM ${RAW} WHERE ${rawWhere(id, dashboard.current)} AND type IN ${PAGE_VIEW_TYPES} GROUP BY v ORDER BY pv DESC, v LIMIT 10`,
        ]),
      p95Goal: dashGoal,
    },
    {
      label: `dashboard totals with previous 30 days, ${who}`,
      ours: (db) => db.rows(dailyTotalsSql({ ...filter, from: dashboard.previous.from })),
      raw: (db) => queryAll(db, rawDailyTotals(id, { from: dashboard.previous.from, to: dashboard.current.to })),
      p95Goal: dashGoal,
    },
  ];
}

async function timeOnce(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** Where two JSON values first differ, for an error message. */
function firstDifference(a: unknown, b: unknown, path = '$'): string {
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null)
    return `${path}: ${JSON.stringify(a)} then ${JSON.stringify(b)}`;
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const [x, y] = [(a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]];
    if (!isDeepStrictEqual(x, y)) return firstDifference(x, y, `${path}.${key}`);
  }
  return `${path}: equal`;
}

const withoutClock = (r: MonthlyReport) => ({ ...r, generatedAt: '' });

async function generate(
  ctx: BenchContext,
  ns: Namespace,
  months: Month[],
  rows: PlanRow[],
): Promise<{ seconds: number; statements: number }> {
  const db = ns.db;
  // Its own client: a month's statement can outlast the services' 60-second request timeout on a busy machine.
  const long = createClient({
    url: ns.config.clickhouse.url,
    username: ns.config.clickhouse.user,
    password: ns.config.clickhouse.password,
    database: db.database,
    request_timeout: SLOW.max_execution_time * 1000,
    clickhouse_settings: { ...PORTABLE_SETTINGS, ...SLOW },
  });
  const slow = (query: string) => long.command({ query });
  // Few plan rows a block: each expands to up to PLAN_CHUNK events.
  const expand = (query: string) => long.command({ query, clickhouse_settings: { max_block_size: '16' } });
  await db.command(CREATE_PLAN);
  await db.command(CREATE_RAW);
  await db.command(CREATE_SESSIONS);
  for (let i = 0; i < rows.length; i += 5000) await db.insert(PLAN, rows.slice(i, i + 5000));
  const openFrom = isoDay(months.at(-1)!.to - OPEN_DAYS * 86_400);
  const t0 = Date.now();
  let statements = 0;
  for (const m of months) {
    const t = Date.now();
    // Ranks in groups of at most MAX_ROWS_PER_STATEMENT events.
    const byRank = new Map<number, number>();
    for (const r of rows) if (r.m === m.index) byRank.set(r.rank, r.events);
    let lo = 1;
    let sum = 0;
    for (let rank = 1; rank <= PRACTICES; rank++) {
      const n = byRank.get(rank)!;
      if (sum + n > MAX_ROWS_PER_STATEMENT && sum > 0) {
        await expand(generateSql(m, lo, rank - 1));
        statements++;
        lo = rank;
        sum = 0;
      }
      sum += n;
    }
    await expand(generateSql(m, lo, PRACTICES));
    statements++;
    const generated = Date.now() - t;
    for (const q of rollupSqls(m, openFrom)) {
      await slow(q);
      statements++;
    }
    ctx.log(
      `${m.label}: events in ${Math.round(generated / 1000)} s, rollups in ${Math.round((Date.now() - t - generated) / 1000)} s`,
    );
  }
  await db.command(`DROP TABLE ${SESSIONS}`);
  await long.close();
  return { seconds: (Date.now() - t0) / 1000, statements };
}

/** Raw and rollup totals agree per practice and month (page views, visits, bounces, engaged time, events). */
async function checkSameEvents(db: Db, ranks: number[]): Promise<string> {
  const ids = sqlv.inList('practice_id', ranks.map(practiceId), sqlv.str);
  const raw = await db.rows<Record<string, string>>(
    `SELECT practice_id AS p, toString(toYYYYMM(ts)) AS mon, toString(countIf(type IN ${PAGE_VIEW_TYPES})) AS pv, toString(sum(engaged_ms)) AS eng,
       toString(countIf(type IN ('outbound', 'download', 'event'))) AS ev, toString(uniqExact(session_id)) AS visits
     FROM ${RAW} WHERE ${ids} GROUP BY p, mon ORDER BY p, mon`,
  );
  const rollup = await db.rows<Record<string, string>>(
    `SELECT practice_id AS p, toString(toYYYYMM(day)) AS mon, toString(sumMerge(pageviews)) AS pv, toString(sumMerge(engaged_ms)) AS eng,
       toString(sumMerge(events)) AS ev, toString(sumMerge(visits)) AS visits
     FROM ${sqlv.ident(ROLLUP_TABLES.daily.name)} WHERE ${ids} AND dim = 'total' GROUP BY p, mon ORDER BY p, mon`,
  );
  if (!isDeepStrictEqual(raw, rollup))
    throw new Error(
      `rollups and raw events differ: raw ${JSON.stringify(raw.slice(0, 3))}… rollups ${JSON.stringify(rollup.slice(0, 3))}…`,
    );
  const pv = raw.reduce((a, r) => a + Number(r.pv), 0);
  return `${raw.length} practice-months of ${ranks.length} practices (ranks ${ranks.join(', ')}), ${fmt(pv)} page views`;
}

/** The month's visitors as the report gives them against the exact count: cookieless, the sum of each day's exact unique visitors. */
async function visitorError(
  db: Db,
  report: MonthlyReport,
  month: Month,
): Promise<{ reported: number; exact: number; error: number }> {
  const [row] = await db.rows<{ n: string }>(
    `SELECT toString(sum(n)) AS n FROM (SELECT toDate(ts) AS d, uniqExact(visitor) AS n FROM ${RAW} WHERE ${rawWhere(report.practice.id, { from: month.first, to: month.last })} GROUP BY d) AS days`,
  );
  const exact = Number(row?.n ?? 0);
  const reported = report.totals.visitors.value ?? 0;
  return { reported, exact, error: exact ? Math.abs(reported - exact) / exact : 0 };
}

export const multiTenantReadsBench: Bench = {
  name: 'reads',
  async run(ctx) {
    const ns = await openNamespace('reads');
    const db = ns.db;
    try {
      const months = monthsEndingLastMonth(new Date());
      const month = months.at(-1)!;
      const previous = months.at(-2)!;
      const largestMonthly = ctx.smoke ? 30_000 : readsLargestMonthly;
      const { rows: planRows, perPractice } = plan(largestMonthly, months);
      const total = [...perPractice.values()].reduce((a, c) => a + c.reduce((x, y) => x + y, 0), 0);
      ctx.log(`${fmt(total)} events for ${PRACTICES} practices over ${MONTHS} months`);
      const generation = await generate(ctx, ns, months, planRows);

      // The median practice by volume (ranks are by volume) and the largest, registered for the report.
      const store = new PracticeStore(ns.control);
      const subjects: Subject[] = [];
      for (const [role, rank] of [
        ['median', PRACTICES / 2],
        ['largest', 1],
      ] as const) {
        const practice = await store.save({
          id: practiceId(rank),
          siteKey: `site-key-${rank}`,
          name: `Practice ${rank}`,
          domains: [`practice-${rank}.example`],
          timezone: 'UTC',
        });
        subjects.push({ role, rank, practice, monthEvents: perPractice.get(rank)!.at(-1)! });
      }
      const same = await checkSameEvents(db, [1, 2, 10, 100, PRACTICES / 2, PRACTICES]);
      ctx.log(`raw and rollups agree: ${same}`);

      const dashboard = {
        current: { from: isoDay(month.to - 30 * 86_400), to: month.last },
        previous: { from: isoDay(month.to - 60 * 86_400), to: isoDay(month.to - 31 * 86_400) },
      };
      const cases = subjects.flatMap((s) => casesFor(s, month, previous, dashboard));
      const oursRuns = ctx.smoke ? 10 : 40;
      const rawBudgetMs = ctx.smoke ? 3_000 : 45_000;
      // Warm-up: each read three times, the raw one once, which also sets how often the raw one runs.
      const rawRuns: number[] = [];
      for (const c of cases) {
        for (let i = 0; i < 3; i++) await c.ours(db);
        const first = await timeOnce(() => c.raw(db));
        rawRuns.push(Math.max(5, Math.min(oursRuns, Math.floor(rawBudgetMs / Math.max(first, 1)))));
      }
      const ours = cases.map((): number[] => []);
      const raw = cases.map((): number[] => []);
      for (let i = 0; i < oursRuns; i++)
        for (const [k, c] of cases.entries()) {
          ours[k]!.push(await timeOnce(() => c.ours(db)));
          if (i < rawRuns[k]!) raw[k]!.push(await timeOnce(() => c.raw(db)));
        }

      // What each read scanned (one more run of each, logged).
      const scans: Array<{ ours: Scan; raw: Scan }> = [];
      for (const [k, c] of cases.entries()) {
        const tag = `bench-reads-${ns.config.clickhouse.database}-${k}`;
        await c.ours(loggedDb(db, `${tag}-ours`));
        await c.raw(loggedDb(db, `${tag}-raw`));
        scans.push({ ours: await scanned(db, `${tag}-ours`), raw: await scanned(db, `${tag}-raw`) });
      }

      const reports = await Promise.all(
        subjects.map((s) => buildMonthlyReport(db, s.practice, month.label, { limit: 10, source: 'snippet' })),
      );
      const visitors = await Promise.all(reports.map((r) => visitorError(db, r, month)));

      await sleep(1000);
      const rollupTables = [ROLLUP_TABLES.daily.name, ROLLUP_TABLES.hourly.name, TABLES.rollupMonthlyVisitors];
      const rollupDisk = await bytesOnDisk(db, rollupTables);
      const rawDisk = await bytesOnDisk(db, [RAW]);

      // The real sealer on the open days of every practice; the reports read the same afterwards.
      const [openBefore] = await db.rows<{ n: string }>(
        `SELECT toString(count()) AS n FROM ${sqlv.ident(ROLLUP_TABLES.daily.name)} WHERE states != 0`,
      );
      const sealStart = performance.now();
      // As the sealer runs two days after the month (the last day's daily salt closed, plus its margin).
      const sealNow = (month.to + 2 * 86_400 + 2 * 3_600) * 1000;
      const sealed = await sealClosedVisitorStates({ db, clickhouse: ns.config.clickhouse, now: () => sealNow });
      const sealMs = performance.now() - sealStart;
      const [openAfter] = await db.rows<{ n: string }>(
        `SELECT toString(count()) AS n FROM (SELECT states FROM ${sqlv.ident(ROLLUP_TABLES.daily.name)} WHERE states != 0 UNION ALL SELECT states FROM ${sqlv.ident(ROLLUP_TABLES.hourly.name)} WHERE states != 0) AS open_states`,
      );
      if (Number(openAfter?.n) !== 0) throw new Error(`${openAfter?.n} rows of open states left after sealing`);
      for (const [i, s] of subjects.entries()) {
        const after = await buildMonthlyReport(db, s.practice, month.label, { limit: 10, source: 'snippet' });
        if (!isDeepStrictEqual(withoutClock(after), withoutClock(reports[i]!)))
          throw new Error(
            `the ${s.role} practice's report changed when its states were sealed: ${firstDifference(withoutClock(reports[i]!), withoutClock(after))}`,
          );
      }

      const benchRows: Row[] = [];
      for (const [k, c] of cases.entries()) {
        benchRows.push({
          metric: `${c.label}, p50`,
          unit: 'ms',
          ours: ours[k]!,
          baseline: raw[k]!,
          baselineLabel: 'raw events table',
          better: 'lower',
          goal: '≥ 20× faster',
          met: median(raw[k]!) / median(ours[k]!) >= 20,
        });
        benchRows.push({
          metric: `${c.label}, p95`,
          unit: 'ms',
          ours: ours[k]!,
          quantile: 0.95,
          baseline: raw[k]!,
          baselineLabel: 'raw events table',
          better: 'lower',
          goal: c.p95Goal === null ? '–' : `≤ ${c.p95Goal} ms`,
          met: c.p95Goal === null ? null : quantile(ours[k]!, 0.95) <= c.p95Goal,
        });
      }
      benchRows.push({
        metric: 'bytes on disk, all practices',
        unit: 'MiB',
        ours: [rollupDisk.bytes / 1048576],
        baseline: [rawDisk.bytes / 1048576],
        baselineLabel: 'raw events table',
        better: 'lower',
        goal: '≥ 20× fewer bytes',
        met: rawDisk.bytes / rollupDisk.bytes >= 20,
      });
      for (const [k, c] of cases.entries())
        if (c.label.startsWith('monthly report'))
          benchRows.push({
            metric: `bytes read per ${c.label} (system.query_log)`,
            unit: 'MiB',
            ours: [scans[k]!.ours.bytes / 1048576],
            baseline: [scans[k]!.raw.bytes / 1048576],
            baselineLabel: 'raw events table',
            better: 'lower',
            goal: '–',
            met: null,
          });
      for (const [i, s] of subjects.entries())
        benchRows.push({
          metric: `reported visitors vs exact, ${s.role} practice, ${month.label}`,
          unit: '% error',
          ours: [100 * visitors[i]!.error],
          baseline: null,
          better: 'lower',
          goal: '≤ 1 %',
          met: visitors[i]!.error <= 0.01,
        });
      benchRows.push({
        metric: `sealing the open states of ${PRACTICES} practices (${sealed.length} day partitions)`,
        unit: 's',
        ours: [sealMs / 1000],
        baseline: null,
        better: 'lower',
        goal: '–',
        met: null,
      });

      const scanLine = cases
        .map(
          (c, k) =>
            `${c.label}: ${scans[k]!.ours.queries} queries read ${fmt(scans[k]!.ours.rows)} rows / ${fmt(scans[k]!.ours.bytes / 1024)} KiB (raw: ${scans[k]!.raw.queries} queries, ${fmt(scans[k]!.raw.rows)} rows / ${fmt(scans[k]!.raw.bytes / 1024)} KiB)`,
        )
        .join('; ');
      const missed = benchRows.some((r) => r.met === false);
      return {
        rows: benchRows,
        details: [
          `${fmt(total)} events for ${PRACTICES} practices over ${MONTHS} months (${months[0]!.label} to ${month.label}); practice of rank r gets ${fmt(largestMonthly)} / r^${ZIPF_S} events a month (Zipf), growing 12 % over the year: the largest ${fmt(subjects[1]!.monthEvents)} in ${month.label}, the median (rank ${PRACTICES / 2}) ${fmt(subjects[0]!.monthEvents)}. Four events a visit (the first a page view; 45 % of visits bounce), visits spread over the days and weighted to business hours, visitors drawn from a per-practice pool (about three visits each a month, so they come back on other days), pages per site Zipf too (${pagesOf(1)} pages for the largest, ${pagesOf(PRACTICES)} for the smallest), weighted countries, browsers, systems, devices, referrers, campaigns, outbound links, downloads and custom events.`,
          `Generated by ClickHouse (\`INSERT … SELECT\` from a 1,000-practice plan with \`arrayJoin(range(n))\`, ≤ 10 M rows a statement) in ${fmt(generation.seconds)} s, ${generation.statements} statements. The rollups were computed from the raw table through \`rollup_ingest_v3\`, row for row as the processor's aggregate step adds them (visits reconstructed once per month): closed days as sealed counts (\`states\` 0, the row's uniq visitors, plus what the seals add to \`rollup_monthly_visitors\`), the last ${OPEN_DAYS} days (${isoDay(month.to - OPEN_DAYS * 86_400)} on) as open daily-salt states (\`states\` 1). Checked: raw and rollups give the same page views, visits, engaged time and events for ${same}.`,
          `Ours: \`buildMonthlyReport\` for ${month.label} (totals and daily rows of the month and the previous one, the 16 sections); the dashboard's \`timeseriesSql\` (day, page views, visits, visitors), \`breakdownSql\` (top 10 pages by page views, with visitors) and \`dailyTotalsSql\` over ${dashboard.previous.from} – ${dashboard.current.to} (the totals and the previous 30 days'), each ${oursRuns} times after 3 warm-ups, alternating with the raw baseline. p50/p95 are over those requests; the spread is min–max.`,
          `Baseline: the same figures from \`${RAW}\`, a plain MergeTree with one row per event ordered by practice, day, session (as Plausible and Umami store events), visits reconstructed from the events by each query, the report's queries in parallel like ours; ${rawRuns.join('/')} runs (in the order of the rows; fewer where one run is long) after one warm-up.`,
          `Bytes: active parts in \`system.parts\` as merged at measurement time: rollups (${rollupTables.join(', ')}; ${rollupDisk.parts} parts) ${fmt(rollupDisk.bytes / 1048576)} MiB, raw ${fmt(rawDisk.bytes / 1048576)} MiB (${rawDisk.parts} parts). What one run of each read scanned (system.query_log): ${scanLine}.`,
          `Visitors: the report's (cookieless: the sum of the days' unique visitors) against the sum over the month's days of \`uniqExact(visitor)\` on the raw table: median practice ${fmt(visitors[0]!.reported)} vs ${fmt(visitors[0]!.exact)}, largest ${fmt(visitors[1]!.reported)} vs ${fmt(visitors[1]!.exact)}.`,
          `Sealing: \`sealClosedVisitorStates\` (the processor's sealer) on the ${Number(openBefore?.n)} daily rows of open states of all ${PRACTICES} practices (${sealed.length} partitions of daily and hourly rollups) took ${fmt(sealMs / 1000)} s; afterwards no open states were left and both practices' reports were identical to those before.`,
        ],
        bottleneck: missed ? [`What the reads scanned: ${scanLine}.`, ''] : [],
      };
    } finally {
      await ns.cleanup();
    }
  },
};
