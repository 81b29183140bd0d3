import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  adminAuth,
  practice,
  RollupFixture,
  savePractices,
  startReporter,
  type ReporterHarness,
} from '../support/reporter-fixture.ts';

// Hand-built rollups for March 2024 (and February for the comparison). Expected figures are
// worked out by hand in the comments next to each assertion.
let h: ReporterHarness;

beforeAll(async () => {
  h = await startReporter('monthly');
  await savePractices(
    h.control,
    practice('alpha'),
    practice('beta'),
    practice('gamma', { cookieMode: true }),
    practice('delta'),
  );
  const a = (day: string, dim: string, value: string, c: object) => ({ practiceId: 'alpha', day, dim, value, ...c });
  const f = new RollupFixture()
    .daily(
      a('2024-03-01', 'total', '', { pageviews: 10, visits: 4, bounces: 1, engagedMs: 60_000, visitors: [1, 2, 3] }),
    )
    .daily(a('2024-03-02', 'total', '', { pageviews: 6, visits: 3, bounces: 2, engagedMs: 30_000, visitors: [1, 4] }))
    // a later correction (signed delta), as the processor writes when a visit goes on
    .daily(a('2024-03-02', 'total', '', { pageviews: -1, bounces: -1 }))
    .daily(a('2024-03-31', 'total', '', { pageviews: 4, visits: 2, engagedMs: 30_000, visitors: [5, 6] }))
    .daily(
      a('2024-02-10', 'total', '', { pageviews: 8, visits: 4, bounces: 2, engagedMs: 40_000, visitors: [7, 8, 9, 10] }),
    )
    .daily(a('2024-04-01', 'total', '', { pageviews: 50, visits: 50, visitors: [11] }))
    .daily({ ...a('2024-03-01', 'total', '', { pageviews: 100, visits: 90, visitors: [20] }), source: 'logs' })
    .daily({ practiceId: 'beta', day: '2024-03-05', dim: 'total', pageviews: 999, visits: 999, visitors: [30] })
    .daily({ practiceId: 'beta', day: '2024-03-05', dim: 'page', value: '/beta-secret', pageviews: 999 })
    .daily(a('2024-03-01', 'page', '/', { pageviews: 8, visitors: [1, 2] }))
    .daily(a('2024-03-01', 'page', '/contact', { pageviews: 5, visitors: [3] }))
    .daily(a('2024-03-02', 'page', '/team', { pageviews: 5, visitors: [1, 4] }))
    .daily(a('2024-03-02', 'page', '/gone', { pageviews: 2, visitors: [4] }))
    .daily(a('2024-03-02', 'page', '/gone', { pageviews: -2 }))
    .daily(a('2024-03-01', 'entry', '/', { visits: 5, bounces: 1 }))
    .daily(a('2024-03-01', 'entry', '/team', { visits: 4, bounces: 1 }))
    .daily(a('2024-03-01', 'exit', '/contact', { visits: 6 }))
    .daily(a('2024-03-01', 'exit', '/', { visits: 3 }))
    .daily(a('2024-03-01', 'referrer', '(direct)', { visits: 5 }))
    .daily(a('2024-03-01', 'referrer', 'google.com', { visits: 4 }))
    .daily(a('2024-03-01', 'utm_campaign', 'spring', { visits: 2 }))
    .daily(a('2024-03-01', 'utm_source', 'newsletter', { visits: 2 }))
    .daily(a('2024-03-01', 'utm_medium', 'email', { visits: 2 }))
    .daily(a('2024-03-01', 'exit_domain', 'maps.google.com', { events: 3 }))
    .daily(a('2024-03-01', 'download', '/forms/intake.pdf', { events: 2 }))
    .daily(a('2024-03-01', 'country', 'US', { visits: 4, pageviews: 8, visitors: [1, 2, 3] }))
    .daily(a('2024-03-02', 'country', 'US', { visits: 3, pageviews: 7, visitors: [1, 4] }))
    .daily(a('2024-03-31', 'country', 'CA', { visits: 2, pageviews: 4, visitors: [5] }))
    .daily(a('2024-03-01', 'device', 'desktop', { visits: 6, pageviews: 12, visitors: [1, 2, 3] }))
    .daily(a('2024-03-01', 'device', 'mobile', { visits: 3, pageviews: 7, visitors: [4, 5] }))
    .daily(a('2024-03-01', 'browser', 'Firefox', { visits: 5, pageviews: 10, visitors: [1, 2] }))
    .daily(a('2024-03-01', 'browser', 'Chrome', { visits: 4, pageviews: 9, visitors: [3, 4, 5] }))
    .daily(a('2024-03-01', 'os', 'Linux', { visits: 9, pageviews: 19, visitors: [1, 2, 3, 4, 5] }))
    .daily(a('2024-03-01', 'event', 'booking-click', { events: 4, visitors: [1, 2] }))
    .daily(a('2024-03-01', 'notfound', '/old-page', { pageviews: 2 }))
    .daily(a('2024-03-01', 'page_class', 'appointments', { pageviews: 3 }))
    .daily(a('2024-03-01', 'page_class', 'patient-portal', { pageviews: 1 }))
    .daily(a('2024-03-01', 'utm_term', 'knee-pain', { visits: 2 }))
    .daily(a('2024-03-01', 'utm_content', 'banner', { visits: 1 }))
    .daily(a('2024-03-01', 'action', 'call', { events: 3, visitors: [1, 2] }))
    .daily(a('2024-03-02', 'action', 'call', { events: 1, visitors: [4] }))
    .daily(a('2024-03-01', 'action', 'directions', { events: 2, visitors: [3] }))
    .daily(a('2024-03-01', 'action', 'form', { events: 5, visitors: [1, 3] }))
    .daily(a('2024-03-01', 'form', 'contact', { events: 2, visitors: [1] }))
    // Count-only booking pages: their forms carry no visitors.
    .daily(a('2024-03-01', 'form', 'appointments', { events: 3 }))
    // Scroll depth: a page view counted at 25 % and then moved to 75 % (signed deltas).
    .daily(a('2024-03-01', 'scroll', '25', { pageviews: 3 }))
    .daily(a('2024-03-01', 'scroll', '25', { pageviews: -1 }))
    .daily(a('2024-03-01', 'scroll', '75', { pageviews: 1 }))
    .daily(a('2024-03-01', 'scroll', '100', { pageviews: 4 }))
    .daily(a('2024-03-01', 'scroll_page', '/#100', { pageviews: 4 }))
    .daily(a('2024-03-01', 'screen', 'mobile', { visits: 3, pageviews: 7, visitors: [4, 5] }))
    .daily(a('2024-03-01', 'screen', 'laptop', { visits: 6, pageviews: 12, visitors: [1, 2, 3] }))
    .daily(a('2024-03-01', 'prop:plan', 'gold', { events: 2, visitors: [1, 2] }))
    .hourly({ practiceId: 'alpha', day: '2024-03-01', hour: 9, pageviews: 6, visits: 2, visitors: [1, 2] })
    .hourly({ practiceId: 'alpha', day: '2024-03-01', hour: 14, pageviews: 4, visits: 2, visitors: [3] })
    .daily({ practiceId: 'gamma', day: '2024-03-01', dim: 'total', pageviews: 2, visits: 2, visitors: [1, 2] })
    .daily({ practiceId: 'gamma', day: '2024-03-02', dim: 'total', pageviews: 2, visits: 2, visitors: [2, 3] })
    // server logs only: the report picks them without being asked
    .daily({
      practiceId: 'delta',
      day: '2024-03-03',
      dim: 'total',
      pageviews: 7,
      visits: 5,
      visitors: [1, 2],
      source: 'logs',
    })
    .daily({
      practiceId: 'delta',
      day: '2024-03-03',
      dim: 'page',
      value: '/',
      pageviews: 7,
      visitors: [1, 2],
      source: 'logs',
    });
  await f.flush(h.db);
});

afterAll(async () => h?.cleanup());

const get = async (url: string, headers: Record<string, string> = adminAuth) => h.app.inject({ url, headers });

describe('monthly report (JSON)', () => {
  test('totals with change against the previous month', async () => {
    const res = await get('/v1/practices/alpha/reports/monthly?month=2024-03');
    expect(res.statusCode).toBe(200);
    const r = res.json();
    expect(r.source).toBe('snippet'); // logs rows exist but the snippet has data
    // both sources shown side by side, never added: snippet 10 + 6 - 1 + 4 page views, logs 100
    expect(r.sources).toEqual({ snippet: { pageviews: 19, visits: 9 }, logs: { pageviews: 100, visits: 90 } });
    expect(r.period).toEqual({ from: '2024-03-01', to: '2024-03-31', timezone: 'America/New_York' });
    // visitors: daily uniques 3 + 2 + 2 = 7 (cookieless), February 4 → +75 %
    expect(r.visitors.definition).toBe('sum-of-daily-visitors');
    expect(r.totals.visitors).toEqual({ value: 7, previous: 4, changePercent: 75 });
    // visits 4 + 3 + 2 = 9 vs 4 → +125 %; page views 10 + 5 + 4 = 19 vs 8 → +137.5 %
    expect(r.totals.visits).toEqual({ value: 9, previous: 4, changePercent: 125 });
    expect(r.totals.pageviews).toEqual({ value: 19, previous: 8, changePercent: 137.5 });
    // bounces 1 + 1 = 2 of 9 → 22.2 %; February 2 of 4 → 50 %; (22.2 - 50) / 50 → -55.6 %
    expect(r.totals.bounceRate).toEqual({ value: 22.2, previous: 50, changePercent: -55.6 });
    // engaged 120 s over 9 visits → 13 s; February 40 s / 4 → 10 s
    expect(r.totals.avgVisitSeconds).toEqual({ value: 13, previous: 10, changePercent: 30 });
    expect(r.totals.engagedSeconds).toEqual({ value: 120, previous: 40, changePercent: 200 });
  });

  test('daily series covers every day of the month, zeros included', async () => {
    const r = (await get('/v1/practices/alpha/reports/monthly?month=2024-03')).json();
    expect(r.daily).toHaveLength(31);
    expect(r.daily[0]).toEqual({
      day: '2024-03-01',
      pageviews: 10,
      visits: 4,
      visitors: 3,
      bounces: 1,
      engagedMs: 60_000,
    });
    expect(r.daily[1]).toEqual({
      day: '2024-03-02',
      pageviews: 5,
      visits: 3,
      visitors: 2,
      bounces: 1,
      engagedMs: 30_000,
    });
    expect(r.daily[2]).toEqual({ day: '2024-03-03', pageviews: 0, visits: 0, visitors: 0, bounces: 0, engagedMs: 0 });
    expect(r.daily[30]).toEqual({
      day: '2024-03-31',
      pageviews: 4,
      visits: 2,
      visitors: 2,
      bounces: 0,
      engagedMs: 30_000,
    });
  });

  test('every section, ranked, with cancelled rows left out and no other practice', async () => {
    const s = (await get('/v1/practices/alpha/reports/monthly?month=2024-03')).json().sections;
    expect(s.pages).toEqual([
      { value: '/', pageviews: 8, visitors: 2 },
      { value: '/contact', pageviews: 5, visitors: 1 },
      { value: '/team', pageviews: 5, visitors: 2 },
    ]);
    expect(s.entryPages).toEqual([
      { value: '/', visits: 5, bounces: 1 },
      { value: '/team', visits: 4, bounces: 1 },
    ]);
    expect(s.exitPages).toEqual([
      { value: '/contact', visits: 6 },
      { value: '/', visits: 3 },
    ]);
    expect(s.referrers).toEqual([
      { value: '(direct)', visits: 5 },
      { value: 'google.com', visits: 4 },
    ]);
    expect(s.campaigns).toEqual([{ value: 'spring', visits: 2 }]);
    expect(s.campaignSources).toEqual([{ value: 'newsletter', visits: 2 }]);
    expect(s.campaignMediums).toEqual([{ value: 'email', visits: 2 }]);
    expect(s.exitDestinations).toEqual([{ value: 'maps.google.com', events: 3 }]);
    expect(s.downloads).toEqual([{ value: '/forms/intake.pdf', events: 2 }]);
    // US over two days: visits 4 + 3, page views 8 + 7, visitors {1,2,3,4}
    expect(s.countries).toEqual([
      { value: 'US', visits: 7, visitors: 4, pageviews: 15 },
      { value: 'CA', visits: 2, visitors: 1, pageviews: 4 },
    ]);
    expect(s.devices).toEqual([
      { value: 'desktop', visits: 6, visitors: 3, pageviews: 12 },
      { value: 'mobile', visits: 3, visitors: 2, pageviews: 7 },
    ]);
    expect(s.browsers).toEqual([
      { value: 'Firefox', visits: 5, visitors: 2, pageviews: 10 },
      { value: 'Chrome', visits: 4, visitors: 3, pageviews: 9 },
    ]);
    expect(s.os).toEqual([{ value: 'Linux', visits: 9, visitors: 5, pageviews: 19 }]);
    expect(s.events).toEqual([{ value: 'booking-click', events: 4, visitors: 2 }]);
    expect(s.notFound).toEqual([{ value: '/old-page', pageviews: 2 }]);
    expect(s.pageClasses).toEqual([
      { value: 'appointments', pageviews: 3 },
      { value: 'patient-portal', pageviews: 1 },
    ]);
    expect(s.campaignTerms).toEqual([{ value: 'knee-pain', visits: 2 }]);
    expect(s.campaignContent).toEqual([{ value: 'banner', visits: 1 }]);
    // calls 3 + 1 over two days, visitors 2 + 1 (summed daily uniques)
    expect(s.contacts).toEqual([
      { value: 'form', events: 5, visitors: 2 },
      { value: 'call', events: 4, visitors: 3 },
      { value: 'directions', events: 2, visitors: 1 },
    ]);
    expect(s.forms).toEqual([
      { value: 'appointments', events: 3, visitors: 0 },
      { value: 'contact', events: 2, visitors: 1 },
    ]);
    // In bucket order; 25 % is 3 - 1 = 2.
    expect(s.scrollDepth).toEqual([
      { value: '25', pageviews: 2 },
      { value: '75', pageviews: 1 },
      { value: '100', pageviews: 4 },
    ]);
    expect(s.screens).toEqual([
      { value: 'laptop', visits: 6, visitors: 3, pageviews: 12 },
      { value: 'mobile', visits: 3, visitors: 2, pageviews: 7 },
    ]);
  });

  test('limit and explicit source', async () => {
    const r = (await get('/v1/practices/alpha/reports/monthly?month=2024-03&limit=1&source=logs')).json();
    expect(r.source).toBe('logs');
    expect(r.totals.pageviews.value).toBe(100);
    const top = (await get('/v1/practices/alpha/reports/monthly?month=2024-03&limit=1')).json();
    expect(top.sections.pages).toEqual([{ value: '/', pageviews: 8, visitors: 2 }]);
  });

  test('a practice with server logs alone gets the logs report unasked', async () => {
    const r = (await get('/v1/practices/delta/reports/monthly?month=2024-03')).json();
    expect(r.source).toBe('logs');
    expect(r.sources).toEqual({ snippet: { pageviews: 0, visits: 0 }, logs: { pageviews: 7, visits: 5 } });
    expect(r.totals.pageviews.value).toBe(7);
    expect(r.totals.visitors.value).toBe(2);
    expect(r.daily.find((d: { day: string }) => d.day === '2024-03-03')).toMatchObject({ pageviews: 7, visits: 5 });
    expect(r.sections.pages).toEqual([{ value: '/', pageviews: 7, visitors: 2 }]);
  });

  test('cookie mode reports monthly unique browsers', async () => {
    const r = (await get('/v1/practices/gamma/reports/monthly?month=2024-03')).json();
    // day 1 {1,2}, day 2 {2,3}: unique over the month 3 (a daily sum would say 4)
    expect(r.visitors.definition).toBe('monthly-unique-browsers');
    expect(r.totals.visitors.value).toBe(3);
  });

  test('bad parameters are 400 with a machine-readable error', async () => {
    for (const url of [
      '/v1/practices/alpha/reports/monthly?month=2024-13',
      '/v1/practices/alpha/reports/monthly?month=March',
      '/v1/practices/alpha/reports/monthly',
      '/v1/practices/alpha/reports/monthly?month=2024-03&format=pdf',
      '/v1/practices/alpha/reports/monthly?month=2024-03&limit=0',
      '/v1/practices/alpha/reports/monthly?month=2024-03&bogus=1',
      '/v1/practices/Alpha!/reports/monthly?month=2024-03',
    ]) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error.code, url).toBe('invalid_parameter');
    }
    const missing = await get('/v1/practices/nobody/reports/monthly?month=2024-03');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: { code: 'not_found', message: 'no practice nobody' } });
  });
});

describe('stats', () => {
  test('daily timeseries fills gaps', async () => {
    const r = (
      await get('/v1/practices/alpha/stats/timeseries?from=2024-03-01&to=2024-03-03&metrics=pageviews,visits,visitors')
    ).json();
    expect(r.points).toEqual([
      { date: '2024-03-01', pageviews: 10, visits: 4, visitors: 3 },
      { date: '2024-03-02', pageviews: 5, visits: 3, visitors: 2 },
      { date: '2024-03-03', pageviews: 0, visits: 0, visitors: 0 },
    ]);
  });

  test('hourly timeseries has 24 slots per day', async () => {
    const r = (
      await get(
        '/v1/practices/alpha/stats/timeseries?from=2024-03-01&to=2024-03-01&interval=hour&metrics=pageviews,visitors',
      )
    ).json();
    expect(r.points).toHaveLength(24);
    expect(r.points[9]).toEqual({ date: '2024-03-01', hour: 9, pageviews: 6, visitors: 2 });
    expect(r.points[14]).toEqual({ date: '2024-03-01', hour: 14, pageviews: 4, visitors: 1 });
    expect(r.points.filter((p: { pageviews: number }) => p.pageviews > 0)).toHaveLength(2);
  });

  test('breakdown by dimension, ordered and limited', async () => {
    const r = (
      await get(
        '/v1/practices/alpha/stats/breakdown?from=2024-03-01&to=2024-03-31&dimension=page&metrics=pageviews,visitors&limit=2',
      )
    ).json();
    expect(r.rows).toEqual([
      { value: '/', pageviews: 8, visitors: 2 },
      { value: '/contact', pageviews: 5, visitors: 1 },
    ]);
    const byVisitors = (
      await get(
        '/v1/practices/alpha/stats/breakdown?from=2024-03-01&to=2024-03-31&dimension=browser&metrics=visits&orderBy=visitors',
      )
    ).json();
    expect(byVisitors.rows.map((x: { value: string }) => x.value)).toEqual(['Chrome', 'Firefox']);
  });

  test("a breakdown's default metrics follow its dimension", async () => {
    const rows = async (dimension: string) =>
      (await get(`/v1/practices/alpha/stats/breakdown?from=2024-03-01&to=2024-03-31&dimension=${dimension}`)).json();
    expect(await rows('event')).toMatchObject({
      metrics: ['events', 'visitors'],
      rows: [{ value: 'booking-click', events: 4, visitors: 2 }],
    });
    expect((await rows('action')).rows[0]).toEqual({ value: 'form', events: 5, visitors: 2 });
    expect((await rows('prop:plan')).rows).toEqual([{ value: 'gold', events: 2, visitors: 2 }]);
    expect((await rows('scroll_page')).rows).toEqual([{ value: '/#100', pageviews: 4 }]);
    expect((await rows('page')).rows.slice(0, 2)).toEqual([
      { value: '/', pageviews: 8, visitors: 2 },
      { value: '/contact', pageviews: 5, visitors: 1 },
    ]);
    expect((await rows('screen')).metrics).toEqual(['visits', 'pageviews']);
    expect((await rows('prop:Plan')).error.message).toMatch(/prop:<key>/);
  });

  test('validation: unknown dimension, range too long, reversed range, hourly events', async () => {
    const cases: Array<[string, RegExp]> = [
      ['/v1/practices/alpha/stats/breakdown?from=2024-03-01&to=2024-03-31&dimension=ip', /dimension/],
      ['/v1/practices/alpha/stats/breakdown?from=2023-01-01&to=2024-03-31&dimension=page', /range too long/],
      ['/v1/practices/alpha/stats/timeseries?from=2024-03-01&to=2024-04-15&interval=hour', /range too long/],
      ['/v1/practices/alpha/stats/timeseries?from=2024-03-05&to=2024-03-01', /before/],
      ['/v1/practices/alpha/stats/timeseries?from=2024-02-30&to=2024-03-01', /from/],
      ['/v1/practices/alpha/stats/timeseries?from=2024-03-01&to=2024-03-02&interval=hour&metrics=events', /events/],
      ['/v1/practices/alpha/stats/timeseries?from=2024-03-01&to=2024-03-02&metrics=pageviews,secret', /metrics/],
    ];
    for (const [url, message] of cases) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error.code).toBe('invalid_parameter');
      expect(res.json().error.message, url).toMatch(message);
    }
  });
});

describe('formats agree', () => {
  const url = '/v1/practices/alpha/reports/monthly?month=2024-03';

  function parseCsv(text: string): string[][] {
    return text
      .trim()
      .split('\n')
      .map((line) =>
        [...line.matchAll(/("(?:[^"]|"")*"|[^,]*)(?:,|$)/g)]
          .map((m) => m[1]!.replace(/^"|"$/g, '').replace(/""/g, '"'))
          .slice(0, 4),
      );
  }

  test('CSV carries the same numbers as JSON', async () => {
    const json = (await get(url)).json();
    const res = await get(`${url}&format=csv`);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    const rows = parseCsv(res.body);
    expect(rows[0]).toEqual(['section', 'key', 'metric', 'value']);
    const lookup = new Map(rows.slice(1).map(([s, k, m, v]) => [`${s}|${k}|${m}`, v]));
    for (const [k, t] of Object.entries(json.totals) as Array<
      [string, { value: number | null; previous: number | null }]
    >) {
      expect(lookup.get(`totals|${k}|value`), k).toBe(t.value === null ? '' : String(t.value));
      expect(lookup.get(`totals|${k}|previous`), k).toBe(t.previous === null ? '' : String(t.previous));
    }
    for (const d of json.daily) expect(lookup.get(`daily|${d.day}|pageviews`)).toBe(String(d.pageviews));
    for (const src of ['snippet', 'logs']) {
      expect(lookup.get(`sources|${src}|pageviews`)).toBe(String(json.sources[src].pageviews));
      expect(lookup.get(`sources|${src}|visits`)).toBe(String(json.sources[src].visits));
    }
    let sectionFigures = 0;
    for (const [section, list] of Object.entries(json.sections) as Array<
      [string, Array<Record<string, string | number>>]
    >) {
      for (const row of list) {
        for (const [metric, value] of Object.entries(row)) {
          if (metric === 'value') continue;
          expect(lookup.get(`${section}|${row.value}|${metric}`), `${section} ${row.value} ${metric}`).toBe(
            String(value),
          );
          sectionFigures++;
        }
      }
    }
    expect(rows.filter((r) => !['meta', 'totals', 'daily', 'sources', 'section'].includes(r[0]!))).toHaveLength(
      sectionFigures,
    );
    // Accept negotiation gives the same body
    const negotiated = await h.app.inject({ url, headers: { ...adminAuth, accept: 'text/csv' } });
    expect(negotiated.body.replace(/generated.*\n/, '')).toBe(res.body.replace(/generated.*\n/, ''));
  });

  test('HTML shows the same numbers, with a strict CSP and SVG chart', async () => {
    const json = (await get(url)).json();
    const res = await h.app.inject({ url, headers: { ...adminAuth, accept: 'text/html' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(String(res.headers['content-security-policy'])).toMatch(
      /default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'/,
    );
    const html = res.body;
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    expect(html).toContain('<svg');
    expect((html.match(/<rect class="bar"/g) ?? []).length).toBe(31);
    const fmt = (n: number | null) => (n === null ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: 1 }));
    for (const [k, t] of Object.entries(json.totals) as Array<[string, { value: number | null }]>) {
      expect(html, k).toContain(`data-total="${k}">${fmt(t.value)}</div>`);
    }
    for (const row of json.sections.countries) {
      expect(html).toContain(
        `data-section="countries" data-key="${row.value}" data-metric="visits">${fmt(row.visits)}</td>`,
      );
    }
    expect(html).toContain(json.visitors.note.replace(/'/g, '&#39;'));
    expect(html).toContain(
      `<tr data-source="logs"><td>Server logs</td><td class="n">${json.sources.logs.pageviews}</td>`,
    );
    expect(html).not.toContain('beta-secret');
  });
});
