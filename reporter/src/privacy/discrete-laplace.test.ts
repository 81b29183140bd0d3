import { describe, expect, test } from 'vitest';
import { bernoulliExp, cryptoUniform, discreteLaplace, discreteLaplaceVariance } from './discrete-laplace.ts';

describe('discrete Laplace sampler', () => {
  // Scale 3 (s = 1, t = 3): q = e^(-1/3), variance 2q / (1 - q)^2 ≈ 17.83, P(0) = (1 - q) / (1 + q).
  const N = 200_000;
  const draws = Array.from({ length: N }, () => Number(discreteLaplace(1n, 3n)));
  const q = Math.exp(-1 / 3);

  test('mean is 0 within 4 standard errors', () => {
    const mean = draws.reduce((a, b) => a + b, 0) / N;
    const se = Math.sqrt(discreteLaplaceVariance(3) / N);
    expect(Math.abs(mean)).toBeLessThan(4 * se);
  });

  test('variance matches theory within 3 %', () => {
    const variance = draws.reduce((a, b) => a + b * b, 0) / N;
    expect(variance / discreteLaplaceVariance(3)).toBeGreaterThan(0.97);
    expect(variance / discreteLaplaceVariance(3)).toBeLessThan(1.03);
  });

  test('probability mass matches exp(-|y|/scale) and is symmetric', () => {
    const count = (y: number) => draws.filter((d) => d === y).length;
    const p0 = (1 - q) / (1 + q);
    for (const y of [0, 1, 2, 5]) {
      const expected = N * p0 * q ** y;
      const sd = Math.sqrt(expected);
      expect(Math.abs(count(y) - expected), `y=${y}`).toBeLessThan(5 * sd);
      if (y > 0) expect(Math.abs(count(y) - count(-y)), `±${y}`).toBeLessThan(5 * Math.sqrt(2 * expected));
    }
  });

  test('a fractional scale (s = 2, t = 3, scale 1.5) has the right variance', () => {
    const n = 100_000;
    let sumSq = 0;
    for (let i = 0; i < n; i++) sumSq += Number(discreteLaplace(2n, 3n)) ** 2;
    expect(sumSq / n / discreteLaplaceVariance(1.5)).toBeGreaterThan(0.96);
    expect(sumSq / n / discreteLaplaceVariance(1.5)).toBeLessThan(1.04);
  });

  test('Bernoulli(exp(-γ)) for γ below and above 1', () => {
    for (const [num, den] of [
      [1n, 2n],
      [5n, 2n],
    ] as const) {
      const n = 100_000;
      let hits = 0;
      for (let i = 0; i < n; i++) if (bernoulliExp(num, den)) hits++;
      const p = Math.exp(-Number(num) / Number(den));
      expect(Math.abs(hits / n - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n));
    }
  });

  test('uniform integers beyond 2^48 stay in range and cover it', () => {
    const n = 2n ** 70n + 3n;
    const xs = Array.from({ length: 2000 }, () => cryptoUniform(n));
    expect(xs.every((x) => x >= 0n && x < n)).toBe(true);
    expect(xs.some((x) => x > n / 2n)).toBe(true);
    expect(xs.some((x) => x < n / 2n)).toBe(true);
  });

  test('rejects invalid parameters', () => {
    expect(() => discreteLaplace(0n, 1n)).toThrow(RangeError);
    expect(() => bernoulliExp(-1n, 1n)).toThrow(RangeError);
    expect(() => cryptoUniform(0n)).toThrow(RangeError);
  });
});
