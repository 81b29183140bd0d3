import { fileURLToPath } from 'node:url';
import {
  envField,
  loadSaltStoreConfig,
  loadServiceConfig,
  rareValueEnvShape,
  saltStoreEnvShape,
  type ClickHouseConfig,
  type CommonConfig,
  type Env,
} from '@confidant/shared';

const DEFAULT_SPOOL_DIR = fileURLToPath(new URL('../../.data/spool/collector', import.meta.url));

const collectorEnvShape = {
  ...saltStoreEnvShape,
  ...rareValueEnvShape,
  /** Rare-value gate entries per generation (two are kept): about 150 bytes each. */
  RARE_VALUE_GATE_ENTRIES: envField.int(200_000, 1000, 10_000_000),
  COLLECTOR_PORT: envField.port(8080),
  COLLECTOR_HOST: envField.string('127.0.0.1'),
  TRUSTED_PROXIES: envField.list(''),
  SPOOL_DIR: envField.string(DEFAULT_SPOOL_DIR),
  SPOOL_MAX_BYTES: envField.int(256 * 1024 * 1024, 4096),
  PRODUCER_LINGER_MS: envField.int(5, 0, 1000),
  PRODUCER_BATCH_SIZE: envField.int(500, 1, 10_000),
  PRODUCE_TIMEOUT_MS: envField.int(3000, 100, 60_000),
  SPOOL_REPLAY_MS: envField.int(2000, 50, 600_000),
  REGISTRY_REFRESH_MS: envField.int(2000, 100),
  SALT_MAINTENANCE_MS: envField.int(60_000, 1000),
  RATE_LIMIT_PER_MIN: envField.int(600, 1),
  SHED_MAX_IN_FLIGHT: envField.int(2000, 1),
  SHED_MAX_EVENT_LOOP_DELAY_MS: envField.int(200, 10),
  SHED_MAX_HEAP_MB: envField.int(384, 16),
  /** Log batches are bulk: a slow acknowledgement is waited for rather than sent to the spool. */
  LOG_PRODUCE_TIMEOUT_MS: envField.int(30_000, 100, 600_000),
  /** How long `confidant logs import` waits for Kafka, a full spool or ClickHouse before it stops (a re-run resumes). */
  LOG_IMPORT_GIVE_UP_MS: envField.int(600_000, 1000),
};

export type CollectorConfig = CommonConfig & {
  port: number;
  host: string;
  trustedProxies: string[];
  spool: { dir: string; maxBytes: number; replayMs: number };
  producer: { lingerMs: number; batchSize: number; timeoutMs: number };
  logImport: { produceTimeoutMs: number; giveUpMs: number };
  registryRefreshMs: number;
  saltMaintenanceMs: number;
  /** The salt database and its own user (CLICKHOUSE_SALT_*). */
  salts: ClickHouseConfig;
  /** The edge rare-value gate: k (shared with the processor's sealer) and its memory bound. */
  rareValues: { minVisitors: number; gateEntries: number };
  rateLimitPerMin: number;
  shed: { maxInFlight: number; maxEventLoopDelayMs: number; maxHeapUsedBytes: number };
};

export function loadCollectorConfig(env: Env = process.env): CollectorConfig {
  return loadServiceConfig('confidant-collector', collectorEnvShape, env, (e) => ({
    port: e.COLLECTOR_PORT,
    host: e.COLLECTOR_HOST,
    trustedProxies: e.TRUSTED_PROXIES,
    spool: { dir: e.SPOOL_DIR, maxBytes: e.SPOOL_MAX_BYTES, replayMs: e.SPOOL_REPLAY_MS },
    producer: { lingerMs: e.PRODUCER_LINGER_MS, batchSize: e.PRODUCER_BATCH_SIZE, timeoutMs: e.PRODUCE_TIMEOUT_MS },
    logImport: { produceTimeoutMs: e.LOG_PRODUCE_TIMEOUT_MS, giveUpMs: e.LOG_IMPORT_GIVE_UP_MS },
    registryRefreshMs: e.REGISTRY_REFRESH_MS,
    saltMaintenanceMs: e.SALT_MAINTENANCE_MS,
    salts: loadSaltStoreConfig(env),
    rareValues: { minVisitors: e.RARE_VALUE_MIN_VISITORS, gateEntries: e.RARE_VALUE_GATE_ENTRIES },
    rateLimitPerMin: e.RATE_LIMIT_PER_MIN,
    shed: {
      maxInFlight: e.SHED_MAX_IN_FLIGHT,
      maxEventLoopDelayMs: e.SHED_MAX_EVENT_LOOP_DELAY_MS,
      maxHeapUsedBytes: e.SHED_MAX_HEAP_MB * 1024 * 1024,
    },
  }));
}
