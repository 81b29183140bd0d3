import { describe, expect, it } from 'vitest';
import { D, M, NO_METRIC, RollupAccumulator } from './rollup-accumulator.ts';

const key = { practiceId: 'p', day: 19737, source: 'snippet' as const };

describe('RollupAccumulator', () => {
  it('sums signed deltas per row and unions visitor hashes', () => {
    const acc = new RollupAccumulator();
    const rows = acc.day('p', 'snippet', 19737);
    rows.add(D.exit, '/a', M.visits, 1, null);
    rows.add(D.total, '', M.pageviews, 1, 5);
    acc.day('p', 'snippet', 19737).add(D.total, '', M.visits, 1, 5);
    rows.add(D.total, '', M.pageviews, 1, 5);
    rows.add(D.total, '', M.engagedMs, 300, null);
    rows.add(D.total, '', M.pageviews, 1, 4_000_000_000);
    rows.add(D.exit, '/a', M.visits, -1, null);
    rows.addHour(3, M.pageviews, 2, 6);
    rows.addHour(4, NO_METRIC, 0, 7);
    rows.addHour(5, M.bounces, 0, null);
    expect(acc.rowCount).toBe(5);
    expect(acc.dailyRows()).toEqual([
      {
        ...key,
        dim: 'total',
        value: '',
        pageviews: 3,
        visits: 1,
        bounces: 0,
        engagedMs: 300,
        events: 0,
        visitorHashes: [5, 4_000_000_000],
      },
    ]);
    expect(acc.hourlyRows()).toEqual([
      { ...key, hour: 3, pageviews: 2, visits: 0, bounces: 0, engagedMs: 0, visitorHashes: [6] },
      { ...key, hour: 4, pageviews: 0, visits: 0, bounces: 0, engagedMs: 0, visitorHashes: [7] },
    ]);
  });

  it('keeps rows apart by day, source, dimension and value', () => {
    const acc = new RollupAccumulator();
    acc.day('p', 'snippet', 19737).add(D.page, '/a', M.pageviews, 1, null);
    acc.day('p', 'snippet', 19737).add(D.page, '/b', M.pageviews, 1, null);
    acc.day('p', 'logs', 19737).add(D.page, '/a', M.pageviews, 1, null);
    acc.day('p', 'snippet', 19738).add(D.page, '/a', M.pageviews, 1, null);
    acc.day('p', 'snippet', 19737).add(D.referrer, '/a', M.visits, 1, null);
    acc.day('q', 'snippet', 19737).add(D.page, '/a', M.pageviews, 1, null);
    const rows = acc.dailyRows();
    expect(rows).toHaveLength(6);
    expect(new Set(rows.map((r) => `${r.practiceId} ${r.source} ${r.day} ${r.dim} ${r.value}`)).size).toBe(6);
  });

  it('numbers every dimension and metric once', () => {
    expect(new Set(Object.values(D)).size).toBe(Object.keys(D).length);
    expect(Object.values(M)).toEqual([0, 1, 2, 3, 4]);
  });
});
