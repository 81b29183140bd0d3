// Linkage attacks on the rollups (issue #15): a planted population with known shared visitors goes
// through the real processor; attacks with SQL reads only must learn no more than chance about which
// visitors two rows share. Threat model and attacks: tests/support/linkage-attack.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Admin, Producer } from 'kafkajs';
import { PracticeStore, sqlv, type ControlDb, type Db, type EventEnvelope } from '@confidant/shared';
import type { RunningProcessor } from '@confidant/processor';
import { isolatedConfig } from '../support/test-env.ts';
import { eventually, prepareNamespace } from '../support/stack.ts';
import {
  envelope,
  kafkaFor,
  ledgerCaughtUp,
  processorEnv,
  produceEvents,
  startInProcess,
} from '../support/processor-harness.ts';
import {
  allRowHashes,
  calibrateStateReader,
  collisionBound,
  discoverStateSources,
  mergeArithmetic,
  parseStates,
  rowHashes,
  sharedAcrossRows,
  stateIntersection,
  type RowAddress,
  type StateSource,
} from '../support/linkage-attack.ts';

const config = isolatedConfig('linkage');
const env = processorEnv(config);
let db: Db;
let control: ControlDb;
let cleanup: () => Promise<void>;
let producer: Producer;
let admin: Admin;
let processor: RunningProcessor;
let sources: StateSource[];

const P = 'clinic-linkage';
const HOUR_MS = 3_600_000;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
// Today (the practice is on UTC): its salt period is live, so no sealing may have replaced its states yet.
const TODAY_MS = Math.floor(Date.now() / 86_400_000) * 86_400_000;
const TODAY = isoDay(TODAY_MS);
// A day long past: a sealer may already have replaced its states by counts.
const OLD_MS = Date.UTC(2024, 0, 15);
const OLD = isoDay(OLD_MS);

const [PAGE_A, PAGE_B, PAGE_C, PAGE_D] = ['/services', '/team', '/contact', '/insurance'];

/** One planted visitor-day: what an attacker who links rows would rebuild. */
type Visitor = {
  key: string;
  /** The hour of the visit, then the hours the visitor comes back to PAGE_C. */
  hours: number[];
  minute: number;
  pages: string[];
  country: string;
  browser: string;
  os: string;
  device: 'desktop' | 'mobile';
  booked: boolean;
};

/**
 * 600 visitors today. The planted overlaps: S = 0..199 views both A and B (|S| = 200); 0..149 come at
 * hour 9 (hour 9 ∩ A = 150) and 0..59 come back at 10 (hour 9 ∩ hour 10 = 60); 0..249 from DE (total ∩ DE = 250); Chrome 100..349 (DE ∩ Chrome = 150);
 * 0..99 book (book-click ∩ B = 100). Controls with no shared visitor: C (0..299) and D (300..599),
 * hour 9 and D, CA (450..599) and Chrome.
 */
const today: Visitor[] = Array.from({ length: 600 }, (_, i) => ({
  key: (0x1000 + i).toString(16).padStart(32, 'a'),
  hours: i < 60 ? [9, 10] : i < 150 ? [9] : [10 + (i % 8)],
  minute: i % 50,
  pages: [i < 300 ? PAGE_C : PAGE_D, ...(i < 400 ? [PAGE_A] : []), ...(i < 200 || i >= 400 ? [PAGE_B] : [])],
  country: i < 250 ? 'DE' : i < 450 ? 'US' : 'CA',
  browser: i >= 100 && i < 350 ? 'Chrome' : 'Firefox',
  os: ['Windows', 'Linux', 'iOS'][i % 3]!,
  device: i % 2 === 0 ? 'desktop' : 'mobile',
  booked: i < 100,
}));

/** 300 other visitors on a past day: 0..99 view A and B, 100..199 only A, 200..299 only B. */
const old: Visitor[] = Array.from({ length: 300 }, (_, i) => ({
  key: (0x9000 + i).toString(16).padStart(32, 'b'),
  hours: [9],
  minute: i % 50,
  pages: [...(i < 200 ? [PAGE_A] : []), ...(i < 100 || i >= 200 ? [PAGE_B] : [])],
  country: 'US',
  browser: 'Firefox',
  os: 'Linux',
  device: 'desktop',
  booked: false,
}));

function eventsOf(v: Visitor, dayMs: number): EventEnvelope[] {
  const [hour, ...returns] = v.hours as [number, ...number[]];
  const at = (n: number) => dayMs + hour * HOUR_MS + (v.minute + n) * 60_000;
  const common = { practiceId: P, visitor: v.key, country: v.country, browser: v.browser, os: v.os, device: v.device };
  return [
    ...v.pages.map((page, n) => envelope({ ...common, ts: at(n), page })),
    ...returns.map((h) => envelope({ ...common, ts: dayMs + h * HOUR_MS + v.minute * 60_000, page: PAGE_C })),
    ...(v.booked
      ? [envelope({ ...common, ts: at(v.pages.length), type: 'event', page: v.pages.at(-1)!, name: 'book-click' })]
      : []),
  ];
}

/** A planted row: its address for the attacker and the visitors it truly holds. */
type PlantedRow = RowAddress & { visitors: ReadonlySet<string> };

function daily(
  day: string,
  population: Visitor[],
  dim: string,
  value: string,
  holds: (v: Visitor) => boolean,
): PlantedRow {
  return {
    label: `${day} ${dim}=${value}`,
    where: {
      practice_id: sqlv.str(P),
      day: sqlv.date(day),
      source: sqlv.str('snippet'),
      dim: sqlv.str(dim),
      value: sqlv.str(value),
    },
    visitors: new Set(population.filter(holds).map((v) => v.key)),
  };
}

function hourly(day: string, population: Visitor[], hour: number): PlantedRow {
  return {
    label: `${day} hour ${hour}`,
    where: { practice_id: sqlv.str(P), day: sqlv.date(day), source: sqlv.str('snippet'), hour: sqlv.int(hour) },
    visitors: new Set(population.filter((v) => v.hours.includes(hour)).map((v) => v.key)),
  };
}

const page = (day: string, population: Visitor[], path: string) =>
  daily(day, population, 'page', path, (v) => v.pages.includes(path));
const rows = {
  total: daily(TODAY, today, 'total', '', () => true),
  a: page(TODAY, today, PAGE_A),
  b: page(TODAY, today, PAGE_B),
  c: page(TODAY, today, PAGE_C),
  d: page(TODAY, today, PAGE_D),
  hour9: hourly(TODAY, today, 9),
  hour10: hourly(TODAY, today, 10),
  de: daily(TODAY, today, 'country', 'DE', (v) => v.country === 'DE'),
  ca: daily(TODAY, today, 'country', 'CA', (v) => v.country === 'CA'),
  chrome: daily(TODAY, today, 'browser', 'Chrome', (v) => v.browser === 'Chrome'),
  windows: daily(TODAY, today, 'os', 'Windows', (v) => v.os === 'Windows'),
  mobile: daily(TODAY, today, 'device', 'mobile', (v) => v.device === 'mobile'),
  booked: daily(TODAY, today, 'event', 'book-click', (v) => v.booked),
  // Rows that hold no visitor state: entry counts visits only; a page nobody viewed has no row at all.
  entryC: daily(TODAY, today, 'entry', PAGE_C, () => false),
  never: daily(TODAY, today, 'page', '/never-viewed', () => false),
  oldA: page(OLD, old, PAGE_A),
  oldB: page(OLD, old, PAGE_B),
  oldTotal: daily(OLD, old, 'total', '', () => true),
  oldHour9: hourly(OLD, old, 9),
};

/** The attacked pairs: planted overlaps, controls with none, and rows without state. */
const PAIRS: Array<[keyof typeof rows, keyof typeof rows]> = [
  ['a', 'b'],
  ['c', 'd'],
  ['hour9', 'a'],
  ['hour9', 'd'],
  ['hour9', 'hour10'],
  ['total', 'de'],
  ['de', 'chrome'],
  ['ca', 'chrome'],
  ['booked', 'b'],
  ['hour10', 'windows'],
  ['mobile', 'total'],
  ['entryC', 'c'],
  ['never', 'a'],
  ['oldA', 'oldB'],
  ['oldHour9', 'oldA'],
  ['oldTotal', 'oldB'],
];

const truth = (x: PlantedRow, y: PlantedRow) => [...x.visitors].filter((k) => y.visitors.has(k)).length;

/** One line of the attack's outcome, so a failure shows what it recovered against the truth. */
type Outcome = { pair: string; truth: number; recovered: number; bound: number };
const beyondChance = (outcomes: Outcome[]) => outcomes.filter((o) => o.recovered > o.bound);

beforeAll(async () => {
  ({ db, control, cleanup } = await prepareNamespace(config));
  await new PracticeStore(control).save({
    id: P,
    siteKey: 'site-linkage',
    name: 'Clinic Linkage',
    domains: ['clinic-linkage.example'],
    timezone: 'UTC',
  });
  const kafka = kafkaFor(config);
  producer = kafka.producer();
  admin = kafka.admin();
  await Promise.all([producer.connect(), admin.connect()]);
  await produceEvents(producer, config.kafka.topicPrefix, [
    ...today.flatMap((v) => eventsOf(v, TODAY_MS)),
    ...old.flatMap((v) => eventsOf(v, OLD_MS)),
  ]);
  processor = await startInProcess(env, db, control);
  await eventually(
    () => ledgerCaughtUp(db, admin, config.kafka.topicPrefix, env.PROCESSOR_GROUP_ID!),
    Boolean,
    60_000,
    'ledger caught up',
  );
  // The ledger view may be applied a moment before the rollup views of the same insert.
  await new Promise((r) => setTimeout(r, 1000));
  // The attacker's connection: for now the test's own; the attacks take it as a parameter.
  await calibrateStateReader(db);
  sources = await discoverStateSources(db);
});

afterAll(async () => {
  await processor?.stop();
  await producer?.disconnect();
  await admin?.disconnect();
  await cleanup?.();
});

describe('an attacker reading the rollups cannot link one visitor’s rows', () => {
  it('reads uniq states strictly: a layout it does not expect fails loudly instead of reading as empty', () => {
    const state = (...bytes: number[]) => Buffer.from(bytes);
    // Two rows: a state of hashes 1 and 2, then an empty state (skip degree, varint count, UInt32 hashes).
    expect(parseStates(state(0, 2, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0), 1, false)).toEqual([
      { key: '', states: [[1, 2]] },
      { key: '', states: [[]] },
    ]);
    expect(() => parseStates(state(0, 2, 1, 0, 0, 0), 1, false)).toThrow(/ends inside uniq hash/);
    expect(() => parseStates(state(0, 2, 1, 0, 0, 0, 1, 0, 0, 0), 1, false)).toThrow(/repeats a hash/);
    expect(() => parseStates(state(40, 0), 1, false)).toThrow(/skip degree/);
    expect(() => parseStates(state(0, 0, 7), 1, false)).toThrow(/ends inside uniq count/);
  });

  it('finds the visitor states and reads every planted row’s true size (the attacks are not blind)', async () => {
    expect(sources.length).toBeGreaterThan(0);
    const todayRows = Object.values(rows).filter((r) => r.label.startsWith(TODAY));
    const { sizes } = await mergeArithmetic(db, sources, todayRows);
    const read = [];
    for (const [i, row] of todayRows.entries())
      read.push({
        row: row.label,
        truth: row.visitors.size,
        merged: sizes[i]!,
        raw: (await rowHashes(db, sources, row)).size,
      });
    // uniq counts exactly below 65,536 hashes; 32-bit collisions inside a row may drop one or two.
    const off = (n: number, truth: number) => n > truth || n < truth - 2;
    expect(read.filter((r) => off(r.merged, r.truth) || off(r.raw, r.truth))).toEqual([]);
  });

  it('merge arithmetic |A| + |B| − |A ∪ B| over any pair of rows finds only chance overlaps', async () => {
    const all = Object.values(rows);
    const estimate = await mergeArithmetic(db, sources, all);
    const outcomes: Outcome[] = [];
    all.forEach((x, i) =>
      all.forEach((y, j) => {
        if (j <= i) return;
        // uniq is exact below 65,536 hashes a state (these rows hold at most 600), so the estimator's
        // only error is 32-bit collisions between the two rows.
        outcomes.push({
          pair: `${x.label} ∩ ${y.label}`,
          truth: truth(x, y),
          recovered: estimate.overlap(i, j),
          bound: collisionBound(estimate.sizes[i]! * estimate.sizes[j]!),
        });
      }),
    );
    expect(beyondChance(outcomes)).toEqual([]);
  });

  it('intersecting two rows’ raw states (RowBinary) finds only 32-bit collisions', async () => {
    const outcomes: Outcome[] = [];
    for (const [x, y] of PAIRS) {
      const { sizeA, sizeB, shared } = await stateIntersection(db, sources, rows[x], rows[y]);
      outcomes.push({
        pair: `${rows[x].label} ∩ ${rows[y].label}`,
        truth: truth(rows[x], rows[y]),
        recovered: shared,
        bound: collisionBound(sizeA * sizeB),
      });
    }
    expect(beyondChance(outcomes)).toEqual([]);
  });

  it('no stored hash of the practice appears in two rows of any table, beyond chance', async () => {
    const stored = await allRowHashes(db, sources, { label: P, where: { practice_id: sqlv.str(P) } });
    const sizes = [...stored.values()].map((s) => s.size);
    const total = sizes.reduce((a, b) => a + b, 0);
    const pairProducts = (total * total - sizes.reduce((a, b) => a + b * b, 0)) / 2;
    const { sharedHashes, maxPair, entries } = sharedAcrossRows(stored);
    const outcome = {
      pair: `any two of ${stored.size} rows (${entries} stored hashes); most shared: ${JSON.stringify(maxPair)}`,
      // Each planted visitor is in its day's total, page and hour rows (and more).
      truth: today.length + old.length,
      recovered: sharedHashes,
      bound: collisionBound(pairProducts),
    };
    expect(beyondChance([outcome])).toEqual([]);
  });

  it('rows that hold no state (none counted, or sealed into counts) leave the attack with nothing, and do not break it', async () => {
    const outcomes: Outcome[] = [];
    for (const [x, y] of [
      [rows.entryC, rows.c],
      [rows.never, rows.a],
      [rows.oldA, rows.oldB],
    ] as const) {
      const { sizeA, sizeB, shared } = await stateIntersection(db, sources, x, y);
      const merged = await mergeArithmetic(db, sources, [x, y]);
      const bound = collisionBound(sizeA * sizeB);
      const pair = `${x.label} ∩ ${y.label}`;
      outcomes.push({ pair: `${pair} (states)`, truth: truth(x, y), recovered: shared, bound });
      outcomes.push({ pair: `${pair} (merge)`, truth: truth(x, y), recovered: merged.overlap(0, 1), bound });
    }
    expect(beyondChance(outcomes)).toEqual([]);
    expect(await stateIntersection(db, sources, rows.entryC, rows.never)).toEqual({ sizeA: 0, sizeB: 0, shared: 0 });
  });
});
