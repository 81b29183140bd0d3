/**
 * Benchmarks: every stage against a baseline measured in the same run.
 *
 *   npm run bench                 all benches, rewrites docs/BENCHMARKS.md
 *   npm run bench -- NAME [NAME]  only those (and the benches they take their baseline from)
 *   npm run bench -- --smoke      short windows, small data; writes test-output/BENCHMARKS.smoke.md
 *
 * Fails only when a bench cannot run, never on a timing.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectClickHouse, loadCommonConfig } from '@confidant/shared';
import { benchEnv } from './bench.config.ts';
import { collectorBench } from './collector.bench.ts';
import { endToEndBench } from './end-to-end.bench.ts';
import { freshnessBench } from './freshness.bench.ts';
import { hitLogsBench } from './hit-logs.adapter.ts';
import { multiTenantReadsBench } from './multi-tenant-reads.bench.ts';
import { processorBench } from './processor.bench.ts';
import { producerBench } from './producer.bench.ts';
import { snippetBench } from './snippet.bench.ts';
import { describeMachine } from './support/machine.ts';
import { markdown, textTable } from './support/report.ts';
import type { Bench, BenchContext, BenchResult } from './support/result.ts';
import { ROOT } from './support/services.ts';

const BENCHES: Bench[] = [
  collectorBench,
  producerBench,
  processorBench,
  endToEndBench,
  freshnessBench,
  multiTenantReadsBench,
  hitLogsBench,
  snippetBench,
];

const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const names = args.filter((a) => !a.startsWith('--'));
const unknown = names.filter((n) => !BENCHES.some((b) => b.name === n));
if (unknown.length) {
  process.stderr.write(`unknown bench ${unknown.join(', ')}; choose from ${BENCHES.map((b) => b.name).join(', ')}\n`);
  process.exit(2);
}

/** The selection in table order, with the benches they take their baselines from. */
function plan(selected: string[]): Bench[] {
  const wanted = new Set(selected.length ? selected : BENCHES.map((b) => b.name));
  for (const b of BENCHES) if (wanted.has(b.name)) for (const n of b.needs ?? []) wanted.add(n);
  return BENCHES.filter((b) => wanted.has(b.name));
}

const started = Date.now();
const outputDir = join(ROOT, 'test-output');
const profileDir = join(outputDir, 'bench-profiles');
mkdirSync(profileDir, { recursive: true });
const results = new Map<string, BenchResult>();
const failures: Array<{ name: string; error: string }> = [];

for (const bench of plan(names)) {
  const log = (line: string) => process.stdout.write(`[${bench.name}] ${line}\n`);
  const ctx: BenchContext = { smoke, results, profileDir, log };
  const missing = (bench.needs ?? []).filter((n) => !results.has(n));
  if (missing.length) {
    failures.push({ name: bench.name, error: `needs the ${missing.join(', ')} result, which could not be measured` });
    continue;
  }
  log(smoke ? 'starting (smoke)' : 'starting');
  const t = Date.now();
  try {
    const result = await bench.run(ctx);
    results.set(bench.name, { name: bench.name, ...result, seconds: (Date.now() - t) / 1000 });
    log(`done in ${Math.round((Date.now() - t) / 1000)} s`);
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    failures.push({ name: bench.name, error: message });
    log(`FAILED: ${message}`);
  }
}

const all = [...results.values()];
process.stdout.write(`\n${textTable(all, !smoke)}\n`);

const probe = connectClickHouse(loadCommonConfig('bench-machine', benchEnv('machine')).clickhouse, { database: null });
const machine = await describeMachine(probe);
await probe.close();
const seconds = (Date.now() - started) / 1000;
const command = `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`;
const doc = markdown(all, { command, date: new Date(started), smoke, seconds, machine, failures });
// A partial selection is a look at one bench; only a full run of every bench replaces the document.
const target =
  smoke || names.length
    ? join(outputDir, smoke ? 'BENCHMARKS.smoke.md' : 'BENCHMARKS.partial.md')
    : join(ROOT, 'docs/BENCHMARKS.md');
writeFileSync(target, doc);
process.stdout.write(`\nwrote ${target.replace(ROOT, '')} (${Math.round(seconds)} s)\n`);
if (failures.length) {
  process.stderr.write(`\n${failures.length} bench(es) could not run: ${failures.map((f) => f.name).join(', ')}\n`);
  process.exit(1);
}
process.exit(0);
