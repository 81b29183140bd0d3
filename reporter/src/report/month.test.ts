import { describe, expect, test } from 'vitest';
import { daysBetween, isDay, isMonth, monthRange, previousMonth } from './month.ts';
import { microToString, parseDecimal, toMicro } from '../privacy/rational.ts';

describe('months', () => {
  test('ranges cover every local day, leap years included', () => {
    expect(monthRange('2024-02')).toMatchObject({ from: '2024-02-01', to: '2024-02-29', year: 2024 });
    expect(monthRange('2023-02').days).toHaveLength(28);
    expect(monthRange('2024-12').to).toBe('2024-12-31');
  });

  test('previous month wraps the year', () => {
    expect(previousMonth('2024-01')).toBe('2023-12');
    expect(previousMonth('2024-10')).toBe('2024-09');
  });

  test('validation', () => {
    expect(['2024-00', '2024-13', '24-01', '2024-1', ''].map(isMonth)).toEqual([false, false, false, false, false]);
    expect(isDay('2024-02-30')).toBe(false);
    expect(isDay('2024-02-29')).toBe(true);
    expect(daysBetween('2024-02-28', '2024-03-01')).toEqual(['2024-02-28', '2024-02-29', '2024-03-01']);
  });
});

describe('exact epsilon arithmetic', () => {
  test('decimals become exact rationals and micro-units', () => {
    expect(parseDecimal('0.1')).toEqual({ num: 1n, den: 10n });
    expect(toMicro(parseDecimal('12'))).toBe(12_000_000n);
    expect(microToString(toMicro(parseDecimal('0.125')) * 3n)).toBe('0.375');
    expect(() => parseDecimal('1e3')).toThrow();
  });
});
