import { describe, expect, it } from 'vitest';
import { RollupAccumulator } from './rollup-accumulator.ts';

const key = { practiceId: 'p', day: 19737, source: 'snippet' as const };

describe('RollupAccumulator', () => {
  it('sums signed deltas per row and unions visitor hashes', () => {
    const acc = new RollupAccumulator();
    acc.addDaily({ ...key, dim: 'exit', value: '/a' }, { visits: 1 });
    acc.addDaily({ ...key, dim: 'total', value: '' }, { pageviews: 1, visits: 1 }, 5n);
    acc.addDaily({ ...key, dim: 'total', value: '' }, { pageviews: 1, engagedMs: 300 }, 5n);
    acc.addDaily({ ...key, dim: 'total', value: '' }, { pageviews: 1 }, 6n);
    acc.addDaily({ ...key, dim: 'exit', value: '/a' }, { visits: -1 });
    acc.addHourly({ ...key, hour: 3 }, { pageviews: 2 }, 6n);
    expect(acc.rowCount).toBe(3);
    expect(acc.dailyRows()).toEqual([{ ...key, dim: 'total', value: '', pageviews: 3, visits: 1, bounces: 0, engagedMs: 300, events: 0, visitorHashes: [5n, 6n] }]);
    expect(acc.hourlyRows()).toEqual([{ ...key, hour: 3, pageviews: 2, visits: 0, bounces: 0, engagedMs: 0, visitorHashes: [6n] }]);
  });

  it('keeps rows apart by day, source, dimension and value', () => {
    const acc = new RollupAccumulator();
    acc.addDaily({ ...key, dim: 'page', value: '/a' }, { pageviews: 1 });
    acc.addDaily({ ...key, dim: 'page', value: '/b' }, { pageviews: 1 });
    acc.addDaily({ ...key, source: 'logs', dim: 'page', value: '/a' }, { pageviews: 1 });
    acc.addDaily({ ...key, day: key.day + 1, dim: 'page', value: '/a' }, { pageviews: 1 });
    expect(acc.dailyRows()).toHaveLength(4);
  });
});
