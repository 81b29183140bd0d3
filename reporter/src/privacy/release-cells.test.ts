import { describe, expect, test } from 'vitest';
import { discreteLaplace, type UniformSource } from './discrete-laplace.ts';
import { COUNTRY_DOMAIN } from './iso-countries.ts';
import { confidenceHalfWidth, noiseScale, releaseCells, type TrueCounts } from './release-cells.ts';

const ONE = { num: 1n, den: 1n };
// Always the largest uniform value: the sampler then returns floor((t - 1) / s); ε = 1 → t = 1·3 = 3, +2.
const maxUniform = (n: bigint): bigint => n - 1n;
const manyPractices = (countries: Map<string, number>) => new Map([...countries.keys()].map((c) => [c, 10]));

/** Tests only: a reproducible uniform source (mulberry32 words, 53 bits, rejection-sampled). */
function seededUniform(seed: number): UniformSource {
  let state = seed >>> 0;
  const word = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const RANGE = 2n ** 53n;
  return (n) => {
    const limit = RANGE - (RANGE % n);
    for (;;) {
      const r = BigInt(word() >>> 11) * 2n ** 32n + BigInt(word());
      if (r < limit) return r % n;
    }
  };
}

/** The same true count in every cell; `practices` per country. */
const everyCell = (count: number, practices: number): TrueCounts => ({
  total: count,
  countries: new Map(COUNTRY_DOMAIN.map((c) => [c, count])),
  countryPractices: new Map(COUNTRY_DOMAIN.map((c) => [c, practices])),
});

describe('release cells', () => {
  test('the cells are the fixed domain, whatever the data', () => {
    const keys = (countries: Map<string, number>, total: number) =>
      releaseCells(
        { total, countries, countryPractices: manyPractices(countries) },
        { epsilon: ONE, suppressionThreshold: 10 },
      ).map((c) => c.country);
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
    const countries = new Map([
      ['US', 100],
      ['CA', 9],
      ['DE', 8],
    ]);
    const cells = releaseCells(
      { total: 120, countries, countryPractices: manyPractices(countries) },
      { epsilon: ONE, suppressionThreshold: 10, uniform: maxUniform },
    );
    const by = Object.fromEntries(cells.map((c) => [c.country, c]));
    // true 9 → noisy 11: published although the true count is under the threshold
    expect(by.CA).toMatchObject({ value: 11, status: 'published' });
    expect(by.DE).toMatchObject({ value: null, status: 'suppressed' }); // true 8 → noisy 10
    expect(by.US).toMatchObject({ value: 102, status: 'published' });
    expect(by.all).toMatchObject({ value: 122, status: 'published' });
    // a country with no data is noised like any other (0 + 2 → suppressed, by its noisy value)
    expect(by.FR).toMatchObject({ value: null, status: 'suppressed' });
  });

  test('a country with data from fewer than 3 practices is suppressed, decided on its noisy practice count', () => {
    const release = (practices: number) =>
      releaseCells(
        { total: 600, countries: new Map([['GB', 500]]), countryPractices: new Map([['GB', practices]]) },
        { epsilon: ONE, suppressionThreshold: 10, uniform: maxUniform },
      ).find((c) => c.country === 'GB');
    // One practice: noisy practices 1 + 2 = 3, so published; no practice: 0 + 2 < 3, suppressed although
    // its noisy count (502) is far above the threshold. The true practice count decides nothing by itself.
    expect(release(1)).toMatchObject({ value: 502, status: 'published' });
    expect(release(0)).toMatchObject({ value: null, status: 'suppressed' });
  });

  test('a published cell carries its confidence interval, clamped at 0', () => {
    const half = confidenceHalfWidth(ONE);
    const [total] = releaseCells(
      { total: 40, countries: new Map(), countryPractices: new Map() },
      { epsilon: ONE, suppressionThreshold: 10, uniform: maxUniform },
    );
    expect(total).toMatchObject({ value: 42, ciLow: 42 - half, ciHigh: 42 + half });
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

  // What the manifest says: for every true count, before suppression, the released interval holds the
  // counted value with probability ≥ 95 % over the noise; not conditionally on being published.
  const coverage = (counts: TrueCounts, threshold: number, releases: number, seed: number) => {
    const uniform = seededUniform(seed);
    let published = 0;
    let covered = 0;
    for (let i = 0; i < releases; i++)
      for (const c of releaseCells(counts, { epsilon: ONE, suppressionThreshold: threshold, uniform })) {
        if (c.status !== 'published') continue;
        published++;
        if (c.ciLow! <= counts.total && counts.total <= c.ciHigh!) covered++;
      }
    return { published, rate: covered / published };
  };
  const se = (p: number, n: number) => Math.sqrt((p * (1 - p)) / n);

  test.each([0, 1, 4, 1000])('true count %i: every cell published, coverage at least 95 %% (seeded)', (count) => {
    const { published, rate } = coverage(everyCell(count, 1000), 0, 60, 17 + count);
    expect(published).toBe(60 * 251);
    expect(rate).toBeGreaterThan(0.95 - 4 * se(0.95, published));
    if (count === 1000) {
      // Far from 0 nothing is clamped: coverage is exactly 1 - P(|Y| > h).
      const { s, t } = noiseScale(ONE);
      const q = Math.exp(-Number(s) / Number(t));
      const exact = 1 - (2 * q ** (confidenceHalfWidth(ONE) + 1)) / (1 + q);
      expect(Math.abs(rate - exact)).toBeLessThan(4 * se(exact, published));
    }
  });

  test('coverage is not conditional on publication: among published cells of a small count it is lower', () => {
    // True 5, threshold 10: a cell is published when its noisy value is 0 (interval [0, h] covers) or
    // at least 11 (noise ≥ 6, covered only up to h = 9): conditional coverage 1 - q^5 / (1 + q) ≈ 0.89.
    const { published, rate } = coverage(everyCell(5, 1000), 10, 60, 5);
    expect(published).toBeGreaterThan(1500);
    expect(rate).toBeLessThan(0.92);
    expect(rate).toBeGreaterThan(0.85);
  });
});
