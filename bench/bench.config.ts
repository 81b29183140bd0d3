// The one place benchmarks read the environment: which engines to use (defaults: those `infra/up` starts).
import { randomBytes } from 'node:crypto';

/** Environment for an isolated benchmark namespace (own ClickHouse and PostgreSQL databases, topic prefix). */
export function benchEnv(label: string): Record<string, string | undefined> {
  const suffix = `${label}_${randomBytes(4).toString('hex')}`;
  return {
    ...process.env,
    CLICKHOUSE_DATABASE: `bench_${suffix}`,
    POSTGRES_URL: controlPlaneUrl(`bench_${suffix}`),
    KAFKA_TOPIC_PREFIX: `bench.${suffix}`,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
    SPOOL_DIR: `/tmp/confidant-bench/spool-${suffix}/collector`,
  };
}

/** The control-plane server (the one `infra/up` runs unless POSTGRES_URL names another), with `database`. */
function controlPlaneUrl(database: string): string {
  const url = new URL(process.env.POSTGRES_URL ?? 'postgres://confidant:confidant@127.0.0.1:5432/confidant');
  url.pathname = `/${database.toLowerCase()}`;
  return url.toString();
}

export const keepBenchData = process.env.KEEP_BENCH_DATA === '1';

/**
 * Events a month of the reads bench's largest practice (the scale, 3 M, unless
 * BENCH_READS_LARGEST says less): a smaller scale for a look that a loaded machine can finish.
 */
export const readsLargestMonthly = Number(process.env.BENCH_READS_LARGEST ?? 3_000_000);
