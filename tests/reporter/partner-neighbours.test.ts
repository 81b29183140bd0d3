// Differential privacy on neighbouring datasets, against the real rollups: a month D and the same
// month with one more visitor-day (D'). The stored counts move by at most the sensitivity the noise
// is calibrated to, the released cells are the same set, and over many releases (a seeded random
// source: the same draws on every run) each cell's output distribution on D and D' is within e^ε.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  monthCounts,
  releaseCells,
  VISITOR_DAY_SENSITIVITY,
  type ReleaseCell,
  type TrueCounts,
} from '@confidant/reporter';
import {
  practice,
  RollupFixture,
  savePractices,
  startReporter,
  type ReporterHarness,
} from '../support/reporter-fixture.ts';
import { seededUniform } from '../support/seeded-uniform.ts';

const EPSILON = { num: 1n, den: 1n };
// Two measurements (total, country) of ε/2 each: a cell's own distribution moves by at most e^(ε/2).
const CELL_EPSILON = 0.5;
const THRESHOLD = 10;
const RELEASES = 2000;
const PRACTICES = [
  { id: 'p1', cookieMode: false },
  { id: 'p2', cookieMode: false },
  { id: 'p3', cookieMode: false },
  { id: 'p4', cookieMode: true },
];
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

/** The same month of data in every month seeded; `extra` adds rows on top. */
function baseMonth(f: RollupFixture, month: string): void {
  const day = (d: number) => `${month}-${String(d).padStart(2, '0')}`;
  f.daily({ practiceId: 'p1', day: day(10), dim: 'total', visitors: range(1, 40) });
  f.daily({ practiceId: 'p1', day: day(10), dim: 'total', visitors: range(1, 45), source: 'logs' });
  f.daily({ practiceId: 'p1', day: day(11), dim: 'total', visitors: range(1, 25) });
  f.daily({ practiceId: 'p2', day: day(10), dim: 'total', sealedVisitors: 30 });
  f.daily({ practiceId: 'p3', day: day(12), dim: 'total', visitors: range(1, 20) });
  f.daily({ practiceId: 'p4', day: day(12), dim: 'total', visitors: range(1, 9), monthlySalt: true });
  f.daily({ practiceId: 'p1', day: day(10), dim: 'country', value: 'US', visitors: range(1, 30) });
  f.daily({ practiceId: 'p1', day: day(10), dim: 'country', value: 'CA', visitors: range(31, 10) });
  f.daily({ practiceId: 'p1', day: day(11), dim: 'country', value: 'US', visitors: range(1, 25) });
  f.daily({ practiceId: 'p2', day: day(10), dim: 'country', value: 'US', sealedVisitors: 30 });
  f.daily({ practiceId: 'p3', day: day(12), dim: 'country', value: 'FR', visitors: range(1, 20) });
  f.daily({ practiceId: 'p4', day: day(12), dim: 'country', value: 'NZ', visitors: range(1, 9), monthlySalt: true });
}

/**
 * One visitor-day (visitor value 777) from a country nobody else came from: its UTC salt day overlaps
 * two of the practice's local days, and both the snippet and the logs saw it.
 */
function oneVisitorDay(f: RollupFixture, month: string): void {
  for (const day of [`${month}-10`, `${month}-11`])
    for (const source of ['snippet', 'logs'] as const) {
      f.daily({ practiceId: 'p1', day, dim: 'total', visitors: [777], source });
      f.daily({ practiceId: 'p1', day, dim: 'country', value: 'IS', visitors: [777], source });
    }
}

let h: ReporterHarness;
let d: TrueCounts;
let dPrime: TrueCounts;
let cookieNeighbour: TrueCounts;

beforeAll(async () => {
  h = await startReporter('neighbours');
  await savePractices(
    h.control,
    ...PRACTICES.map((p) => practice(p.id, { shareWithPartners: true, cookieMode: p.cookieMode })),
  );
  const f = new RollupFixture();
  baseMonth(f, '2024-03'); // D
  baseMonth(f, '2024-04'); // D' = D + one visitor-day
  oneVisitorDay(f, '2024-04');
  baseMonth(f, '2024-05'); // D + one cookie visitor-day seen from two countries
  f.daily({ practiceId: 'p4', day: '2024-05-12', dim: 'total', visitors: [888], monthlySalt: true });
  for (const country of ['IS', 'GB'])
    f.daily({
      practiceId: 'p4',
      day: '2024-05-12',
      dim: 'country',
      value: country,
      visitors: [888],
      monthlySalt: true,
    });
  await f.flush(h.db);
  d = await monthCounts(h.db, PRACTICES, '2024-03');
  dPrime = await monthCounts(h.db, PRACTICES, '2024-04');
  cookieNeighbour = await monthCounts(h.db, PRACTICES, '2024-05');
}, 60_000);
afterAll(async () => h?.cleanup());

const l1 = (a: TrueCounts, b: TrueCounts) => {
  let sum = 0;
  for (const c of new Set([...a.countries.keys(), ...b.countries.keys()]))
    sum += Math.abs((a.countries.get(c) ?? 0) - (b.countries.get(c) ?? 0));
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
  test('moves each measurement of the stored rollups by at most its sensitivity', () => {
    // caps and the larger-source rule included: two local days, +1 each, whatever the sources
    expect(dPrime.total - d.total).toBe(2);
    expect(l1(d, dPrime)).toBe(2);
    expect(dPrime.total - d.total).toBeLessThanOrEqual(VISITOR_DAY_SENSITIVITY);
    expect(l1(d, dPrime)).toBeLessThanOrEqual(VISITOR_DAY_SENSITIVITY);
    // A cookie (monthly key) can show up in several countries a day: such practices count in the
    // total only, so the country measurement does not move.
    expect(cookieNeighbour.total - d.total).toBe(1);
    expect(l1(d, cookieNeighbour)).toBe(0);
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
      expect(excess(a, b, CELL_EPSILON), country).toBeLessThanOrEqual(0);
      expect(excess(b, a, CELL_EPSILON), country).toBeLessThanOrEqual(0);
    }
    // The changed cells really moved (the check compares something): IS is never 0 + noise alone.
    expect(onDPrime.byCell.get('IS')).not.toEqual(onD.byCell.get('IS'));
  }, 120_000);

  test('the same check rejects a contribution four times the bound the noise was calibrated to', () => {
    const beyond: TrueCounts = {
      total: d.total + 4 * VISITOR_DAY_SENSITIVITY,
      countries: new Map([...d.countries, ['IS', 4 * VISITOR_DAY_SENSITIVITY]]),
    };
    const onD = histograms(d, 3);
    const onBeyond = histograms(beyond, 4);
    expect(excess(onD.byCell.get('all')!, onBeyond.byCell.get('all')!, CELL_EPSILON)).toBeGreaterThan(0);
  }, 120_000);
});
