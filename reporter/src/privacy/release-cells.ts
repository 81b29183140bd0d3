import { cryptoUniform, discreteLaplace, type UniformSource } from './discrete-laplace.ts';
import { COUNTRY_DOMAIN } from './iso-countries.ts';
import type { Rational } from './rational.ts';
import { suppressCells } from './suppression.ts';

/**
 * The released cells and their noise: a fixed domain (decided without the data), discrete Laplace
 * noise on every cell, and suppression only on the noisy values (post-processing).
 */

/** What every cell counts: visitor-days, i.e. distinct visitor keys per practice-local day, summed. */
export const RELEASE_METRIC = 'visitor_days';

/**
 * What one visitor-day (one visitor key: a daily salt's day) adds to a measurement, at most. It is
 * counted at most once per practice-local day row (a row's unique count), and a UTC salt day overlaps
 * at most two local days. Its key includes the IP address (cookieless), so it has one country.
 */
export const VISITOR_DAY_SENSITIVITY = 2;

/** The measurements of one release, each with an equal share of its epsilon (sequential composition). */
export const MEASUREMENTS = ['total', 'country'] as const;
export type Measurement = (typeof MEASUREMENTS)[number];

/** Confidence level of the interval given with every cell. */
export const CONFIDENCE_LEVEL = 0.95;

export type TrueCounts = { total: number; countries: ReadonlyMap<string, number> };

export type ReleaseCell = {
  /** `all` for the total. */
  country: string;
  value: number | null;
  status: 'published' | 'suppressed';
  /** The interval that holds the true count with probability CONFIDENCE_LEVEL, from the noise alone. */
  ciLow: number | null;
  ciHigh: number | null;
};

export type NoiseParams = { epsilon: Rational; suppressionThreshold: number; uniform?: UniformSource };

/** Scale of the noise on one cell, Δ / (ε / k), as a rational t/s for the sampler. */
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
 * Every cell of the domain, noised; then cells whose noisy value is from 1 to the threshold are
 * suppressed, with complementary suppression against the noisy total. Which cells exist never
 * depends on the data; which are suppressed depends on noisy values only.
 */
export function releaseCells(counts: TrueCounts, p: NoiseParams): ReleaseCell[] {
  const uniform = p.uniform ?? cryptoUniform;
  const noisy = new Map<string, number>();
  const publishable = (v: bigint): number => Number(v < 0n ? 0n : v);
  noisy.set(TOTAL_KEY, publishable(noisyCount(counts.total, p.epsilon, uniform)));
  for (const c of COUNTRY_DOMAIN)
    noisy.set(countryKey(c), publishable(noisyCount(counts.countries.get(c) ?? 0, p.epsilon, uniform)));
  const { suppressed } = suppressCells({
    cells: noisy,
    groups: [[...COUNTRY_DOMAIN.map(countryKey), TOTAL_KEY]],
    threshold: p.suppressionThreshold,
  });
  const half = confidenceHalfWidth(p.epsilon);
  const cell = (key: string, country: string): ReleaseCell => {
    if (suppressed.has(key)) return { country, value: null, status: 'suppressed', ciLow: null, ciHigh: null };
    const value = noisy.get(key)!;
    return { country, value, status: 'published', ciLow: Math.max(0, value - half), ciHigh: value + half };
  };
  return [cell(TOTAL_KEY, 'all'), ...COUNTRY_DOMAIN.map((c) => cell(countryKey(c), c))];
}
