import { describe, expect, test } from 'vitest';
import { discreteLaplace } from './discrete-laplace.ts';
import { COUNTRY_DOMAIN } from './iso-countries.ts';
import { confidenceHalfWidth, noiseScale, releaseCells } from './release-cells.ts';

const ONE = { num: 1n, den: 1n };
// Always the largest uniform value: the sampler then returns floor((t - 1) / s); ε = 1 → t = 2·2 = 4, +3.
const maxUniform = (n: bigint): bigint => n - 1n;

describe('release cells', () => {
  test('the cells are the fixed domain, whatever the data', () => {
    const keys = (countries: Map<string, number>, total: number) =>
      releaseCells({ total, countries }, { epsilon: ONE, suppressionThreshold: 10 }).map((c) => c.country);
    const empty = keys(new Map(), 0);
    expect(empty).toEqual(['all', ...COUNTRY_DOMAIN]);
    expect(empty).toHaveLength(251);
    expect(
      keys(
        new Map([
          ['US', 5000],
          ['IS', 1],
        ]),
        5001,
      ),
    ).toEqual(empty);
  });

  test('every cell is noised, and suppression reads only the noisy values', () => {
    const cells = releaseCells(
      {
        total: 120,
        countries: new Map([
          ['US', 100],
          ['CA', 8],
          ['DE', 7],
        ]),
      },
      { epsilon: ONE, suppressionThreshold: 10, uniform: maxUniform },
    );
    const by = Object.fromEntries(cells.map((c) => [c.country, c]));
    // true 8 → noisy 11: published although the true count is under the threshold
    expect(by.CA).toMatchObject({ value: 11, status: 'published' });
    expect(by.DE).toMatchObject({ value: null, status: 'suppressed' }); // true 7 → noisy 10
    expect(by.US).toMatchObject({ value: 103, status: 'published' });
    expect(by.all).toMatchObject({ value: 123, status: 'published' });
    // a country with no data is noised like any other (0 + 3 → suppressed, by its noisy value)
    expect(by.FR).toMatchObject({ value: null, status: 'suppressed' });
  });

  test('a published cell carries its confidence interval, clamped at 0', () => {
    const half = confidenceHalfWidth(ONE);
    const [total] = releaseCells(
      { total: 40, countries: new Map() },
      { epsilon: ONE, suppressionThreshold: 10, uniform: maxUniform },
    );
    expect(total).toMatchObject({ value: 43, ciLow: 43 - half, ciHigh: 43 + half });
  });
});

describe('confidence interval', () => {
  // P(Y = y) = (1 - q) / (1 + q) · q^|y|, scale b = t / s.
  const tail = (b: number, h: number) => {
    const q = Math.exp(-1 / b);
    let inside = 0;
    for (let y = -h; y <= h; y++) inside += ((1 - q) / (1 + q)) * q ** Math.abs(y);
    return 1 - inside;
  };

  test.each([
    ['1', { num: 1n, den: 1n }],
    ['0.5', { num: 1n, den: 2n }],
    ['2.25', { num: 9n, den: 4n }],
  ])('ε = %s: the smallest half-width whose two tails hold at most 5 %%', (_, epsilon) => {
    const { s, t } = noiseScale(epsilon);
    const b = Number(t) / Number(s);
    const h = confidenceHalfWidth(epsilon);
    expect(tail(b, h)).toBeLessThanOrEqual(0.05);
    if (h > 0) expect(tail(b, h - 1)).toBeGreaterThan(0.05);
  });

  test('covers the noise at least 95 % of the time', () => {
    const { s, t } = noiseScale(ONE);
    const h = BigInt(confidenceHalfWidth(ONE));
    const N = 20_000;
    let inside = 0;
    for (let i = 0; i < N; i++) {
      const y = discreteLaplace(s, t);
      if (y <= h && y >= -h) inside++;
    }
    // 0.95 minus 4 standard errors of a proportion near 0.95
    expect(inside / N).toBeGreaterThan(0.95 - 4 * Math.sqrt((0.95 * 0.05) / N));
  });
});
