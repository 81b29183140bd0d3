import { cryptoUniform, discreteLaplace, type UniformSource } from './discrete-laplace.ts';
import { COUNTRY_DOMAIN } from './iso-countries.ts';
import type { Rational } from './rational.ts';
import { suppressCells } from './suppression.ts';

/**
 * The released cells and their noise: a fixed domain (decided without the data), discrete Laplace
 * noise on every cell, and suppression only on the noisy values (post-processing).
 */

/** What every cell counts: visitor-days, i.e. distinct visitor keys per practice and UTC salt day, summed. */
export const RELEASE_METRIC = 'visitor_days';

/**
 * What one visitor-day (one visitor key on one UTC day of its salt) adds to a measurement, at most,
 * by construction of the partner rows (migration 0033): it is one value in one practice-day row of
 * the `all` cell, and of one country cell (daily-salt keys only); the larger source is taken; late
 * data is left out; a practice-day is sealed once. So it adds at most 1 to the total, 1 to one
 * country (L1 over the country vector) and 1 to the practices with data in that one country.
 */
export const VISITOR_DAY_SENSITIVITY = 1;

/** The measurements of one release, each with an equal share of its epsilon (sequential composition). */
export const MEASUREMENTS = ['total', 'country', 'country_practices'] as const;
export type Measurement = (typeof MEASUREMENTS)[number];

/** Fewer practices than this with data in a cell and it would describe one site (decided on noisy counts). */
export const MIN_PRACTICES = 3;

/** Confidence level of the interval given with every cell. */
export const CONFIDENCE_LEVEL = 0.95;

export type TrueCounts = {
  total: number;
  countries: ReadonlyMap<string, number>;
  /** Practices with at least one visitor-day in the country. */
  countryPractices: ReadonlyMap<string, number>;
};

export type ReleaseCell = {
  /** `all` for the total. */
  country: string;
  value: number | null;
  status: 'published' | 'suppressed';
  /**
   * [max(0, value - h), value + h]: holds the true count with probability at least
   * CONFIDENCE_LEVEL over the noise, for every true count, before suppression (see the manifest).
   */
  ciLow: number | null;
  ciHigh: number | null;
};

export type NoiseParams = { epsilon: Rational; suppressionThreshold: number; uniform?: UniformSource };

/** Scale of the noise on one cell, Δ / (ε / k) for k measurements, as a rational t/s for the sampler. */
export function noiseScale(epsilon: Rational): { s: bigint; t: bigint } {
  return { s: epsilon.num, t: BigInt(VISITOR_DAY_SENSITIVITY * MEASUREMENTS.length) * epsilon.den };
}

/** One noisy count: the true count plus a discrete Laplace draw of the release's scale. */
export function noisyCount(count: number, epsilon: Rational, uniform: UniformSource = cryptoUniform): bigint {
  const { s, t } = noiseScale(epsilon);
  return BigInt(count) + discreteLaplace(s, t, uniform);
}

/**
 * Smallest h with P(|Y| > h) ≤ 1 - level for the discrete Laplace Y of the release's scale b:
 * P(|Y| > h) = 2·q^(h+1) / (1 + q), q = e^(-1/b). Exact up to double rounding at the boundary,
 * which the final checks settle.
 */
export function confidenceHalfWidth(epsilon: Rational, level = CONFIDENCE_LEVEL): number {
  const { s, t } = noiseScale(epsilon);
  const q = Math.exp(-Number(s) / Number(t));
  const tail = (h: number) => (2 * q ** (h + 1)) / (1 + q);
  let h = Math.max(0, Math.ceil(Math.log(((1 - level) * (1 + q)) / 2) / Math.log(q)) - 1);
  while (h > 0 && tail(h - 1) <= 1 - level) h -= 1;
  while (tail(h) > 1 - level) h += 1;
  return h;
}

const TOTAL_KEY = 'total|all';
const countryKey = (c: string) => `country|${c}`;

/**
 * Every cell of the domain, noised, and every country's number of practices with data, noised. Then,
 * on the noisy values only (post-processing): a country whose noisy practice count is under
 * MIN_PRACTICES is suppressed, and so is every cell whose noisy value is from 1 to the threshold,
 * with complementary suppression against the noisy total. Which cells exist never depends on the
 * data; which are suppressed depends on noisy values only.
 */
export function releaseCells(counts: TrueCounts, p: NoiseParams): ReleaseCell[] {
  const uniform = p.uniform ?? cryptoUniform;
  const noisy = new Map<string, number>();
  const publishable = (v: bigint): number => Number(v < 0n ? 0n : v);
  noisy.set(TOTAL_KEY, publishable(noisyCount(counts.total, p.epsilon, uniform)));
  for (const c of COUNTRY_DOMAIN)
    noisy.set(countryKey(c), publishable(noisyCount(counts.countries.get(c) ?? 0, p.epsilon, uniform)));
  const fewPractices = new Set<string>();
  for (const c of COUNTRY_DOMAIN)
    if (noisyCount(counts.countryPractices.get(c) ?? 0, p.epsilon, uniform) < BigInt(MIN_PRACTICES))
      fewPractices.add(countryKey(c));
  const { suppressed } = suppressCells({
    cells: noisy,
    groups: [[...COUNTRY_DOMAIN.map(countryKey), TOTAL_KEY]],
    threshold: p.suppressionThreshold,
    alsoSuppressed: fewPractices,
  });
  const half = confidenceHalfWidth(p.epsilon);
  const cell = (key: string, country: string): ReleaseCell => {
    if (suppressed.has(key)) return { country, value: null, status: 'suppressed', ciLow: null, ciHigh: null };
    const value = noisy.get(key)!;
    return { country, value, status: 'published', ciLow: Math.max(0, value - half), ciHigh: value + half };
  };
  return [cell(TOTAL_KEY, 'all'), ...COUNTRY_DOMAIN.map((c) => cell(countryKey(c), c))];
}
