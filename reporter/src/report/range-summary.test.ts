import { afterEach, describe, expect, it, vi } from 'vitest';
import { comparisonRange } from './range-summary.ts';

describe('comparisonRange', () => {
  it('takes the days just before a range of the same length', () => {
    expect(comparisonRange({ from: '2024-04-10', to: '2024-04-16' }, 'previous')).toEqual({
      from: '2024-04-03',
      to: '2024-04-09',
    });
    expect(comparisonRange({ from: '2024-03-01', to: '2024-03-01' }, 'previous')).toEqual({
      from: '2024-02-29',
      to: '2024-02-29',
    });
  });

  it('compares a whole month with the whole previous month, whatever their lengths', () => {
    expect(comparisonRange({ from: '2024-03-01', to: '2024-03-31' }, 'previous')).toEqual({
      from: '2024-02-01',
      to: '2024-02-29',
    });
    expect(comparisonRange({ from: '2024-01-01', to: '2024-01-31' }, 'previous')).toEqual({
      from: '2023-12-01',
      to: '2023-12-31',
    });
  });

  it('takes the same dates a year earlier, and the whole month for a whole month', () => {
    expect(comparisonRange({ from: '2024-02-10', to: '2024-02-29' }, 'year')).toEqual({
      from: '2023-02-10',
      to: '2023-02-28',
    });
    expect(comparisonRange({ from: '2024-02-01', to: '2024-02-29' }, 'year')).toEqual({
      from: '2023-02-01',
      to: '2023-02-28',
    });
  });

  it('has nothing to compare with when asked for none', () => {
    expect(comparisonRange({ from: '2024-02-10', to: '2024-02-29' }, 'none')).toBeNull();
  });
});

describe('comparisonRange whatever the time zone of the process', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it.each(['UTC', 'Europe/Berlin', 'America/New_York', 'Pacific/Auckland'])('is calendar arithmetic in %s', (tz) => {
    vi.stubEnv('TZ', tz);
    // Ten days across the end of summer time (27 October 2024 in Europe, 3 November in America).
    expect(comparisonRange({ from: '2024-11-05', to: '2024-11-14' }, 'previous')).toEqual({
      from: '2024-10-26',
      to: '2024-11-04',
    });
    expect(comparisonRange({ from: '2024-04-01', to: '2024-04-10' }, 'previous')).toEqual({
      from: '2024-03-22',
      to: '2024-03-31',
    });
    expect(comparisonRange({ from: '2024-02-29', to: '2024-03-05' }, 'year')).toEqual({
      from: '2023-02-28',
      to: '2023-03-05',
    });
  });
});
