import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  adminAuth,
  practice,
  RollupFixture,
  savePractices,
  startReporter,
  type ReporterHarness,
} from '../support/reporter-fixture.ts';

// /stats/summary for a cookie-mode practice: a range and the range it is compared with must count
// visitors the same way, even when only one of them happens to be a whole calendar month.
let h: ReporterHarness;
const summary = async (from: string, to: string, compare: string) => {
  const res = await h.app.inject({
    url: `/v1/practices/gamma/stats/summary?from=${from}&to=${to}&compare=${compare}`,
    headers: adminAuth,
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
};

beforeAll(async () => {
  h = await startReporter('range-summary');
  await savePractices(h.control, practice('gamma', { cookieMode: true }));
  const g = (day: string, visitors: number[]) => ({
    practiceId: 'gamma',
    day,
    dim: 'total',
    pageviews: 2,
    visits: 2,
    visitors,
  });
  await new RollupFixture()
    // February 2023 (a whole month of 28 days): days {1,2} and {2,3}: 3 unique browsers, 4 as a daily sum.
    .daily(g('2023-02-01', [1, 2]))
    .daily(g('2023-02-02', [2, 3]))
    // February 2024 (29 days): the same shape, 3 unique, 4 as a daily sum.
    .daily(g('2024-02-01', [4, 5]))
    .daily(g('2024-02-02', [5, 6]))
    // March 2024: one visitor on two days: 2 as a daily sum.
    .daily(g('2024-03-01', [7]))
    .daily(g('2024-03-02', [7]))
    .flush(h.db);
});

afterAll(async () => h?.cleanup());

describe('a cookie-mode range compared with a whole month it is not itself', () => {
  test('a year earlier: 1 to 28 February 2024 against February 2023 (whole, not a leap year)', async () => {
    const s = await summary('2024-02-01', '2024-02-28', 'year');
    expect(s.comparedWith).toEqual({ from: '2023-02-01', to: '2023-02-28' });
    expect(s.visitors.definition).toBe('sum-of-daily-visitors');
    expect(s.totals.visitors).toEqual({ value: 4, previous: 4, changePercent: 0 });
  });

  test('the previous period: 1 to 29 March 2024 against February 2024 (whole, 29 days)', async () => {
    const s = await summary('2024-03-01', '2024-03-29', 'previous');
    expect(s.comparedWith).toEqual({ from: '2024-02-01', to: '2024-02-29' });
    expect(s.visitors.definition).toBe('sum-of-daily-visitors');
    expect(s.totals.visitors).toEqual({ value: 2, previous: 4, changePercent: -50 });
  });

  test('a whole month still counts unique browsers on both sides, as the monthly report does', async () => {
    const s = await summary('2024-02-01', '2024-02-29', 'year');
    expect(s.visitors.definition).toBe('monthly-unique-browsers');
    expect(s.totals.visitors).toEqual({ value: 3, previous: 3, changePercent: 0 });
    const report = await h.app.inject({ url: '/v1/practices/gamma/reports/monthly?month=2024-02', headers: adminAuth });
    expect(report.json().totals.visitors.value).toBe(3);
  });
});

test('a comparison that would reach before 1970 (where no rollup can be) is a 400, not a 500', async () => {
  for (const q of ['from=1970-01-05&to=1970-01-10', 'from=1970-03-01&to=1970-03-31&compare=year']) {
    const res = await h.app.inject({ url: `/v1/practices/gamma/stats/summary?${q}`, headers: adminAuth });
    expect(res.statusCode, q).toBe(400);
    expect(res.json().error.code, q).toBe('invalid_parameter');
  }
  const none = await h.app.inject({
    url: '/v1/practices/gamma/stats/summary?from=1970-01-05&to=1970-01-10&compare=none',
    headers: adminAuth,
  });
  expect(none.statusCode).toBe(200);
});
