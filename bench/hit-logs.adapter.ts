/** Hit logs: runs `bench/hit-logs.bench.ts` (GoAccess baseline, its own engineer's bench) as a child and reads its summary lines. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { ROOT } from './support/services.ts';
import type { Bench } from './support/result.ts';

/** `run 2: 61234 lines/s end to end … peak RSS 250 MB; …` and `goaccess 1.7: median 1 lines/s (spread a–b)`. */
const RUN_RE = /^run \d+: (\d+) lines\/s end to end.*peak RSS (\d+) MB/;
const RATIO_GOAL = 1.5;
const RSS_GOAL_MB = 300;
const GOACCESS_RE = /^goaccess 1\.7: median (\d+) lines\/s \(spread (\d+)(?:–(\d+))?\)/;

export const hitLogsBench: Bench = {
  name: 'hit-logs',
  async run(ctx) {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'bench/hit-logs.bench.ts', ...(ctx.smoke ? ['--smoke'] : [])],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    const ours: number[] = [];
    const rss: number[] = [];
    let goaccess: { median: number; min: number; max: number } | null = null;
    let partial = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-10_000);
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        ctx.log(line);
        const run = RUN_RE.exec(line);
        if (run) {
          ours.push(Number(run[1]));
          rss.push(Number(run[2]));
        }
        const g = GOACCESS_RE.exec(line);
        if (g) goaccess = { median: Number(g[1]), min: Number(g[2]), max: Number(g[3] ?? g[2]) };
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-10_000)));
    const [code] = (await once(child, 'exit')) as [number | null];
    const base = goaccess as { median: number; min: number; max: number } | null;
    // Its exit code is 1 when a goal is missed; only missing figures mean it could not run (or its totals were wrong).
    if (!base || ours.length === 0) throw new Error(`hit-logs bench exited ${code} without its figures:\n${output}`);
    const lines = ctx.smoke ? '20,000' : '1,000,000';
    const baseline = [base.min, base.median, base.max];
    const oursMedian = [...ours].sort((a, b) => a - b)[Math.floor(ours.length / 2)]!;
    const met = oursMedian >= RATIO_GOAL * base.median && Math.max(...rss) <= RSS_GOAL_MB;
    return {
      rows: [
        {
          metric: `lines/s end to end (${lines}-line combined log, full stack as npm start)`,
          unit: '/s',
          ours,
          baseline,
          baselineLabel: 'GoAccess 1.7',
          better: 'higher',
          goal: `≥ ${RATIO_GOAL}×`,
          met: oursMedian >= RATIO_GOAL * base.median,
        },
        {
          metric: 'import process peak RSS (largest run)',
          unit: 'MB',
          ours: rss,
          baseline: null,
          better: 'lower',
          quantile: 1,
          goal: `≤ ${RSS_GOAL_MB} MB`,
          met: Math.max(...rss) <= RSS_GOAL_MB,
        },
      ],
      details: [
        `Delegated to \`bench/hit-logs.bench.ts\`: a generated ${lines}-line Combined log, GoAccess 1.7 (\`--log-format=COMBINED\`, JSON report) against \`confidant logs import\` as a child process while the collector, processor and reporter run as \`npm start\` runs them, the clock stopping when the reporter shows every page view; totals checked against the import summary and the generator's own count. One warm-up, then ${ctx.smoke ? 1 : 3} timed repetition(s) each.`,
        'The GoAccess column shows the median and spread that bench reports (min, median, max).',
      ],
      bottleneck: met
        ? []
        : [
            '`bench/hit-logs.bench.ts` prints the import rate alone next to the end-to-end rate (see the run log); `npx tsx bench/hit-logs.bench.ts --profile` profiles the import and the processor and prints their hottest functions.',
            '',
          ],
    };
  },
};
