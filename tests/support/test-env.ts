// The one place integration tests read the environment: which engines to use.
import { randomBytes } from 'node:crypto';
import { loadCommonConfig, loadSaltStoreConfig, type ClickHouseConfig, type CommonConfig } from '@confidant/shared';

/**
 * Integration tests run against real engines. `KAFKA_BROKERS` / `CLICKHOUSE_URL` select
 * them (defaults: the ones `infra/up` starts on loopback); `scripts/test.sh` starts them.
 * Every test file gets its own ClickHouse database, PostgreSQL database (created by the first
 * migration; `POSTGRES_URL` names the server) and Kafka topic prefix, so files never see each other's data,
 * and the salt database beside its ClickHouse database (`t_…_salts`, as the same user).
 */
export function isolatedConfig(label: string): CommonConfig & { salts: ClickHouseConfig } {
  const suffix = `${label.replace(/[^a-z0-9]/gi, '').slice(0, 20)}_${randomBytes(4).toString('hex')}`;
  const env = {
    ...process.env,
    CLICKHOUSE_DATABASE: `t_${suffix}`,
    CLICKHOUSE_SALT_DATABASE: undefined,
    POSTGRES_URL: controlPlaneUrl(`t_${suffix}`),
    KAFKA_TOPIC_PREFIX: `t.${suffix}`,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
  };
  return { ...loadCommonConfig(`test-${label}`, env), salts: loadSaltStoreConfig(env) };
}

/** The control-plane server tests use (the one `infra/up` runs unless POSTGRES_URL names another), with `database`. */
export function controlPlaneUrl(database: string): string {
  const url = new URL(process.env.POSTGRES_URL ?? 'postgres://confidant:confidant@127.0.0.1:5432/confidant');
  url.pathname = `/${database.toLowerCase()}`;
  return url.toString();
}

export const testEnv = {
  /** Keep test databases after the run (for debugging). */
  keepData: process.env.KEEP_TEST_DATA === '1',
  outputDir: process.env.TEST_OUTPUT_DIR ?? new URL('../../test-output/', import.meta.url).pathname,
};
