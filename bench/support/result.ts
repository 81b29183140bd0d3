/** What a bench hands to the runner: table rows plus the details and bottlenecks for the document. */
export type Row = {
  metric: string;
  unit: string;
  /** One sample per repetition (or per request for latencies). */
  ours: number[];
  baseline: number[] | null;
  baselineLabel?: string;
  /** 'higher': ours/baseline (throughput); 'lower': baseline/ours (latency, bytes: "× smaller/faster"). */
  better: 'higher' | 'lower';
  /** The quantile of the samples the row shows and compares (0.95 for a p95 row); the median by default. */
  quantile?: number;
  goal: string;
  /** null when the row has no goal of its own (context figures such as RSS). */
  met: boolean | null;
};

export type BenchResult = {
  name: string;
  rows: Row[];
  /** Markdown lines: how it was measured, extra figures. */
  details: string[];
  /** Markdown lines naming what the profile shows, present when a goal was missed. */
  bottleneck: string[];
  seconds: number;
};

export type BenchContext = {
  smoke: boolean;
  /** Results of benches already run in this invocation (end-to-end uses the stage results). */
  results: Map<string, BenchResult>;
  profileDir: string;
  log: (line: string) => void;
};

export type Bench = {
  name: string;
  /** Benches whose results this one uses as its baseline; run first when missing. */
  needs?: string[];
  run(ctx: BenchContext): Promise<Omit<BenchResult, 'name' | 'seconds'>>;
};

export const ratioOf = (row: Row, ours: number, baseline: number): number =>
  row.better === 'higher' ? ours / baseline : baseline / ours;
