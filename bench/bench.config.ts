// The one place benchmarks read the environment: which engines to use (defaults: those `infra/up` starts).
import { randomBytes } from 'node:crypto';

/** Environment for an isolated benchmark namespace (own database and topic prefix). */
export function benchEnv(label: string): Record<string, string | undefined> {
  const suffix = `${label}_${randomBytes(4).toString('hex')}`;
  return {
    ...process.env,
    CLICKHOUSE_DATABASE: `bench_${suffix}`,
    KAFKA_TOPIC_PREFIX: `bench.${suffix}`,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
    SPOOL_DIR: `/tmp/confidant-bench/spool-${suffix}/collector`,
  };
}

export const keepBenchData = process.env.KEEP_BENCH_DATA === '1';
