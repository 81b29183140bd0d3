import { describe, expect, it } from 'vitest';
import { RollupAccumulator } from './rollup-accumulator.ts';

const key = { practiceId: 'p', day: 19737, source: 'snippet' as const };

describe('RollupAccumulator', () => {
  it('sums signed deltas per row and unions visitor hashes', () => {
    const acc = new RollupAccumulator();
    acc.addDaily('p', 'snippet', 19737, 'exit', '/a', 'visits', 1, null);
    acc.addDaily('p', 'snippet', 19737, 'total', '', 'pageviews', 1, 5);
    acc.addDaily('p', 'snippet', 19737, 'total', '', 'visits', 1, 5);
    acc.addDaily('p', 'snippet', 19737, 'total', '', 'pageviews', 1, 5);
    acc.addDaily('p', 'snippet', 19737, 'total', '', 'engagedMs', 300, null);
    acc.addDaily('p', 'snippet', 19737, 'total', '', 'pageviews', 1, 4_000_000_000);
    acc.addDaily('p', 'snippet', 19737, 'exit', '/a', 'visits', -1, null);
    acc.addHourly('p', 'snippet', 19737, 3, 'pageviews', 2, 6);
    expect(acc.rowCount).toBe(3);
    expect(acc.dailyRows()).toEqual([{ ...key, dim: 'total', value: '', pageviews: 3, visits: 1, bounces: 0, engagedMs: 300, events: 0, visitorHashes: [5, 4_000_000_000] }]);
    expect(acc.hourlyRows()).toEqual([{ ...key, hour: 3, pageviews: 2, visits: 0, bounces: 0, engagedMs: 0, visitorHashes: [6] }]);
  });

  it('keeps rows apart by day, source, dimension and value', () => {
    const acc = new RollupAccumulator();
    acc.addDaily('p', 'snippet', 19737, 'page', '/a', 'pageviews', 1, null);
    acc.addDaily('p', 'snippet', 19737, 'page', '/b', 'pageviews', 1, null);
    acc.addDaily('p', 'logs', 19737, 'page', '/a', 'pageviews', 1, null);
    acc.addDaily('p', 'snippet', 19738, 'page', '/a', 'pageviews', 1, null);
    acc.addDaily('p', 'snippet', 19737, 'referrer', '/a', 'visits', 1, null);
    expect(acc.dailyRows()).toHaveLength(5);
  });
});
