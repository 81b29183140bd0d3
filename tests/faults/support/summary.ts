import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { faults } from '../faults.config.ts';

export type ScenarioRow = {
  scenario: string;
  mode: string;
  sent: number;
  accepted: number;
  counted: number;
  lost: number;
  duplicated: number;
  /** Durations, kills, refusals: what the scenario did, in a few words. */
  notes: string;
};

export type Tally = { expected: number; counted: number; lost: number; duplicated: number };

/**
 * Compares expected against counted, key by key (practice × day × metric): a shortfall on one
 * key is a loss, an excess a duplicate; they never cancel out across keys.
 */
export function tally(expected: Record<string, number>, counted: Record<string, number>): Tally {
  let lost = 0;
  let duplicated = 0;
  let e = 0;
  let c = 0;
  for (const key of new Set([...Object.keys(expected), ...Object.keys(counted)])) {
    const want = expected[key] ?? 0;
    const got = counted[key] ?? 0;
    e += want;
    c += got;
    if (got < want) lost += want - got;
    else duplicated += got - want;
  }
  return { expected: e, counted: c, lost, duplicated };
}

/**
 * For a stream in which `uncertain` requests were cut mid-flight (they may or may not have been made
 * durable): nothing acknowledged may be missing, and at most the uncertain ones may add to it.
 */
export function boundedTally(accepted: number, uncertain: number, counted: number): Tally {
  return {
    expected: accepted,
    counted,
    lost: Math.max(0, accepted - counted),
    duplicated: Math.max(0, counted - accepted - uncertain),
  };
}

/** Flattens per-practice-day totals ({ "p d": { pageviews, events } }) into tally keys. */
export function flatten(totals: Record<string, Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, metrics] of Object.entries(totals))
    for (const [m, v] of Object.entries(metrics)) if (v) out[`${key} ${m}`] = v;
  return out;
}

export function readSummary(): ScenarioRow[] {
  try {
    return JSON.parse(readFileSync(faults.summaryFile, 'utf8')) as ScenarioRow[];
  } catch {
    return [];
  }
}

/** Appends one scenario's row to test-output/faults-summary.json (files run one after another). */
export function recordScenario(row: Omit<ScenarioRow, 'mode'>): void {
  const rows = readSummary().filter((r) => r.scenario !== row.scenario);
  rows.push({ ...row, mode: faults.mode });
  mkdirSync(dirname(faults.summaryFile), { recursive: true });
  writeFileSync(faults.summaryFile, `${JSON.stringify(rows, null, 2)}\n`);
}

export function formatTable(rows: ScenarioRow[]): string {
  const head = ['scenario', 'mode', 'sent', 'accepted', 'counted', 'lost', 'duplicated', 'notes'] as const;
  const cells = [head.map(String), ...rows.map((r) => head.map((h) => String(r[h])))];
  const widths = head.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    `| ${row.map((c, i) => (i >= 2 && i <= 6 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  return [line(cells[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(line)].join(
    '\n',
  );
}
