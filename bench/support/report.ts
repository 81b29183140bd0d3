import { fmt, median, quantile, spread } from './stats.ts';
import { ratioOf, type BenchResult, type Row } from './result.ts';
import type { Machine } from './machine.ts';

const central = (row: Row, xs: readonly number[]): number => (row.quantile ? quantile(xs, row.quantile) : median(xs));
const describe = (row: Row, xs: readonly number[]): string => `${fmt(central(row, xs))} (${spread(xs)})`;

// Smoke windows are too short to say anything about a goal, so a smoke run judges none.
const metLabel = (row: Row, judged: boolean): string =>
  row.met === null ? '' : !judged ? 'not judged' : row.met ? 'met' : '**MISSED**';

function ratioCell(row: Row): string {
  if (!row.baseline) return '–';
  const r = ratioOf(row, central(row, row.ours), central(row, row.baseline));
  // autocannon reports whole milliseconds: a 0 ms baseline has no meaningful ratio.
  return Number.isFinite(r) && r > 0 ? `${fmt(r)}×` : '–';
}

export function tableRows(results: BenchResult[], judged: boolean): string[][] {
  const header = ['bench', 'metric', 'ours (min–max)', 'baseline (min–max)', 'ratio', 'goal', 'status'];
  const body = results.flatMap((r) =>
    r.rows.map((row) => [
      r.name,
      row.metric,
      `${describe(row, row.ours)} ${row.unit}`,
      row.baseline
        ? `${describe(row, row.baseline)} ${row.unit}${row.baselineLabel ? ` (${row.baselineLabel})` : ''}`
        : '–',
      ratioCell(row),
      row.goal,
      metLabel(row, judged),
    ]),
  );
  return [header, ...body];
}

/** Plain-text table for the terminal. */
export function textTable(results: BenchResult[], judged: boolean): string {
  const rows = tableRows(results, judged).map((r) => r.map((c) => c.replace(/\*\*/g, '')));
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

export type RunInfo = {
  command: string;
  date: Date;
  smoke: boolean;
  seconds: number;
  machine: Machine;
  failures: Array<{ name: string; error: string }>;
};

export function markdown(results: BenchResult[], info: RunInfo): string {
  const rows = tableRows(results, !info.smoke);
  const missed = results.filter((r) => r.rows.some((row) => row.met === false));
  const m = info.machine;
  return [
    '# Benchmarks',
    '',
    info.smoke
      ? '> Smoke run: short windows and small data, to prove every bench runs. Figures are not comparable with the full run in `docs/BENCHMARKS.md`.'
      : '> Written by `npm run bench`; every figure below was measured in the one run described here. Rerun it to refresh this page.',
    '',
    `- Command: \`${info.command}\``,
    `- Date: ${info.date.toISOString().replace('T', ' ').slice(0, 16)} UTC; the run took ${Math.round(info.seconds / 6) / 10} min`,
    `- Machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB memory; Node ${m.node}; Kafka ${m.kafka} (KRaft, one broker); ClickHouse ${m.clickhouse}`,
    '',
    'Absolute numbers on a shared 2-core machine drift between runs; the ratios are taken against a baseline measured in the same run, on the same machine, alternating with our code. Each bench does a warm-up, then at least 3 repetitions; a cell shows the median and, in parentheses, the spread (minimum–maximum). Latency rows state their statistic (p50, p95, p99) and the spread is over the samples; "ratio" is ours ÷ baseline for rates and baseline ÷ ours for latencies and bytes (higher is better for both).',
    '',
    `| ${rows[0]!.join(' | ')} |`,
    `|${rows[0]!.map(() => '---').join('|')}|`,
    ...rows.slice(1).map((r) => `| ${r.join(' | ')} |`),
    '',
    ...(info.failures.length
      ? [
          '## Benches that could not run',
          '',
          ...info.failures.map((f) => `- **${f.name}**: ${f.error.split('\n')[0]}`),
          '',
        ]
      : []),
    '## Goals missed and their bottlenecks',
    '',
    ...(info.smoke
      ? ['A smoke run judges no goal; the full run in `docs/BENCHMARKS.md` does.', '']
      : missed.length === 0
        ? ['Every goal was met in this run.', '']
        : missed.flatMap((r) => [
            `### ${r.name}`,
            '',
            `Missed: ${r.rows
              .filter((row) => row.met === false)
              .map((row) => `${row.metric} (${describe(row, row.ours)} ${row.unit}; goal ${row.goal})`)
              .join('; ')}.`,
            '',
            ...(r.bottleneck.length ? r.bottleneck : ['No profile was taken.', '']),
          ])),
    '## How each bench measures',
    '',
    ...results.flatMap((r) => [
      `### ${r.name} (${Math.round(r.seconds)} s)`,
      '',
      ...r.details.map((d) => `- ${d}`),
      '',
    ]),
    'Profiles: `node --cpu-prof` on the service process under load (in-process V8 profiler for the producer bench); `npx tsx bench/support/cpu-profile.ts FILE.cpuprofile` prints the top self-time functions of any profile.',
    '',
  ].join('\n');
}
