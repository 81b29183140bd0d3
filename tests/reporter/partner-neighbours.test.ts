// Differential privacy on neighbouring datasets, against the real partner rows: a month D and the same
// month with one more visitor-day (D'), written as the processor writes them and sealed by its sealer.
// The visitor-day is added in every way the release could see it more than once: three local days
// (it is one UTC day), both sources, re-delivered batches, a second batch after a restart, a late
// import, a write landing after the seal. The stored counts move by at most the sensitivity the noise
// is calibrated to, the released cells are the same set, and over many releases (a seeded random
// source: the same draws on every run) each cell's output distribution on D and D' is within e^ε.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { EventEnvelope } from '@confidant/shared';
import {
  MIN_PRACTICES,
  monthCounts,
  releaseCells,
  VISITOR_DAY_SENSITIVITY,
  type ReleaseCell,
  type TrueCounts,
} from '@confidant/reporter';
import { sealableAt, sealPartner, visit, writePartnerBatch } from '../support/partner-events.ts';
import { startReporter, type ReporterHarness } from '../support/reporter-fixture.ts';
import { seededUniform } from '../support/seeded-uniform.ts';

const EPSILON = { num: 1n, den: 1n };
// Three measurements (total, country, country practices) of ε/3 each. The total cell reads one of
// them; a country cell two (its count, and its practice count for suppression).
const TOTAL_EPSILON = 1 / 3;
const COUNTRY_EPSILON = 2 / 3;
const THRESHOLD = 10;
const RELEASES = 2000;
const PRACTICES = ['p1', 'p2', 'p3', 'p4'];
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

/** The same month of data in every month seeded (p4 is in cookie mode). */
function baseMonth(month: number): EventEnvelope[] {
  const at = (day: number, hour: number) => Date.UTC(2024, month - 1, day, hour);
  return [
    ...range(1, 40).map((n) => visit('p1', n, at(10, 9), { country: n <= 30 ? 'US' : 'CA' })),
    ...range(1, 45).map((n) => visit('p1', n, at(10, 9), { country: n <= 30 ? 'US' : 'CA', source: 'logs' })),
    ...range(1, 25).map((n) => visit('p1', n, at(11, 9), { country: 'US' })),
    ...range(1, 30).map((n) => visit('p2', n, at(10, 9), { country: 'US' })),
    ...range(1, 20).map((n) => visit('p3', n, at(12, 9), { country: 'FR' })),
    ...range(1, 9).map((n) => visit('p4', n, at(12, 9), { country: 'NZ', visitorPeriod: 'month' })),
  ];
}

/**
 * One visitor-day (visitor 777 at p1 on 2024-04-10) from a country nobody else came from, seen from
 * 01:00 to 23:00 UTC (three local days for a practice whose time zone changed that day), by the
 * snippet and the logs, in a batch delivered twice and in another after a restart; then imported
 * late, and once more in a write that lands after the seal.
 */
async function oneVisitorDay(h: ReporterHarness): Promise<void> {
  const at = (hour: number) => Date.UTC(2024, 3, 10, hour);
  const batch = [
    visit('p1', 777, at(1), { country: 'IS' }),
    visit('p1', 777, at(2), { country: 'IS', source: 'logs' }),
  ];
  await writePartnerBatch(h, batch);
  await writePartnerBatch(h, batch);
  await writePartnerBatch(h, [visit('p1', 777, at(23), { country: 'IS' })]);
  await writePartnerBatch(h, [visit('p1', 777, at(12), { country: 'IS', source: 'logs' })], sealableAt('2024-04-10'));
}

let h: ReporterHarness;
let d: TrueCounts;
let dPrime: TrueCounts;
let cookieNeighbour: TrueCounts;

beforeAll(async () => {
  h = await startReporter('neighbours');
  // one batch per UTC day, written while the day is open
  for (const month of [3, 4, 5])
    for (const day of [10, 11, 12])
      await writePartnerBatch(
        h,
        baseMonth(month).filter((e) => new Date(e.ts).getUTCDate() === day),
      );
  await oneVisitorDay(h);
  // D + one cookie visitor-day seen from two countries
  for (const country of ['IS', 'GB'])
    await writePartnerBatch(h, [visit('p4', 888, Date.UTC(2024, 4, 12, 9), { country, visitorPeriod: 'month' })]);
  await sealPartner(h);
  await writePartnerBatch(h, [visit('p1', 777, Date.UTC(2024, 3, 10, 5), { country: 'IS' })], Date.UTC(2024, 3, 10, 6));
  await sealPartner(h);
  d = await monthCounts(h.db, PRACTICES, '2024-03');
  dPrime = await monthCounts(h.db, PRACTICES, '2024-04');
  cookieNeighbour = await monthCounts(h.db, PRACTICES, '2024-05');
}, 60_000);
afterAll(async () => h?.cleanup());

const l1 = (a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>) => {
  let sum = 0;
  for (const c of new Set([...a.keys(), ...b.keys()])) sum += Math.abs((a.get(c) ?? 0) - (b.get(c) ?? 0));
  return sum;
};

type Histogram = Map<string, number>;
/** A cell's released output: suppressed, or its value in buckets of 4 (events of the output space). */
const outcome = (c: ReleaseCell) => (c.status === 'suppressed' ? 'S' : `v${Math.floor(c.value! / 4)}`);

function histograms(counts: TrueCounts, seed: number): { cells: string[][]; byCell: Map<string, Histogram> } {
  const uniform = seededUniform(seed);
  const byCell = new Map<string, Histogram>();
  const cells: string[][] = [];
  for (let i = 0; i < RELEASES; i++) {
    const release = releaseCells(counts, { epsilon: EPSILON, suppressionThreshold: THRESHOLD, uniform });
    cells.push(release.map((c) => c.country));
    for (const c of release) {
      const h = byCell.get(c.country) ?? new Map<string, number>();
      h.set(outcome(c), (h.get(outcome(c)) ?? 0) + 1);
      byCell.set(c.country, h);
    }
  }
  return { cells, byCell };
}

/**
 * The largest amount by which |ln(P_D(o) / P_D'(o))| exceeds `epsilon` over outcomes seen at least 100
 * times under both, less 4 standard errors of the estimated log ratio (sqrt(1/a + 1/b) bounds it for
 * two independent counts a and b). Positive: the distributions are further apart than e^epsilon.
 */
function excess(a: Histogram, b: Histogram, epsilon: number): number {
  let worst = -Infinity;
  for (const [o, na] of a) {
    const nb = b.get(o) ?? 0;
    if (na < 100 || nb < 100) continue;
    worst = Math.max(worst, Math.abs(Math.log(na / nb)) - epsilon - 4 * Math.sqrt(1 / na + 1 / nb));
  }
  return worst;
}

describe('neighbouring datasets: one visitor-day more', () => {
  test('moves each measurement of the stored counts by at most its sensitivity', () => {
    // p1 max(40, 45) + 25, p2 30, p3 20, p4 9 cookies
    expect(d.total).toBe(129);
    expect(Object.fromEntries(d.countries)).toEqual({ US: 85, CA: 15, FR: 20 });
    // however often and however late it was seen: +1 in the total, +1 in one country, +1 practice there
    expect(dPrime.total - d.total).toBe(1);
    expect(l1(d.countries, dPrime.countries)).toBe(1);
    expect(dPrime.countries.get('IS')).toBe(1);
    expect(l1(d.countryPractices, dPrime.countryPractices)).toBe(1);
    for (const moved of [dPrime.total - d.total, l1(d.countries, dPrime.countries)])
      expect(moved).toBeLessThanOrEqual(VISITOR_DAY_SENSITIVITY);
    // A cookie (monthly key) can show up in several countries a day: the processor writes it to the
    // total only, so the country measurements do not move.
    expect(cookieNeighbour.total - d.total).toBe(1);
    expect(l1(d.countries, cookieNeighbour.countries)).toBe(0);
    expect(l1(d.countryPractices, cookieNeighbour.countryPractices)).toBe(0);
    expect(d.countries.get('NZ')).toBeUndefined();
  });

  test('the released cells are the same set, and each cell is within e^ε over many releases', () => {
    const onD = histograms(d, 1);
    const onDPrime = histograms(dPrime, 2);
    for (let i = 0; i < RELEASES; i++) expect(onDPrime.cells[i]).toEqual(onD.cells[0]);
    // the cells the visitor-day changed, and ones it did not
    for (const country of ['all', 'IS', 'US', 'FR', 'GB']) {
      const a = onD.byCell.get(country)!;
      const b = onDPrime.byCell.get(country)!;
      const epsilon = country === 'all' ? TOTAL_EPSILON : COUNTRY_EPSILON;
      expect(excess(a, b, epsilon), country).toBeLessThanOrEqual(0);
      expect(excess(b, a, epsilon), country).toBeLessThanOrEqual(0);
    }
    // The changed cells really moved (the check compares something): IS is never 0 + noise alone.
    expect(onDPrime.byCell.get('IS')).not.toEqual(onD.byCell.get('IS'));
  }, 120_000);

  test('the same check rejects a contribution four times the bound the noise was calibrated to', () => {
    const beyond: TrueCounts = { ...d, total: d.total + 4 * VISITOR_DAY_SENSITIVITY };
    const onD = histograms(d, 3);
    const onBeyond = histograms(beyond, 4);
    expect(excess(onD.byCell.get('all')!, onBeyond.byCell.get('all')!, TOTAL_EPSILON)).toBeGreaterThan(0);
  }, 120_000);

  test(`a country with data from fewer than ${MIN_PRACTICES} practices is mostly suppressed, by its noisy practice count`, () => {
    // FR has one practice (p3) and 20 visitor-days, far above the threshold: its value alone would
    // nearly always be published.
    const fr = histograms(d, 5).byCell.get('FR')!;
    expect((fr.get('S') ?? 0) / RELEASES).toBeGreaterThan(0.6);
  }, 120_000);
});
