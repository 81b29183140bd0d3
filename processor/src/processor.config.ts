// The one place the processor reads its environment.
import {
  envField,
  loadServiceConfig,
  rareValueEnvShape,
  retentionEnvShape,
  type CommonConfig,
  type Env,
} from '@confidant/shared';

export type ProcessorConfig = CommonConfig & {
  groupId: string;
  metricsPort: number;
  sessionMaxEntries: number;
  dedupMaxIds: number;
  /** Messages re-read before the ledger offset after an assignment, to rebuild the duplicate filter. */
  warmupMessages: number;
  retentionMonths: number;
  /** k of the rare-value rule, applied when a day's visitor states are sealed. */
  rareValueMinVisitors: number;
  sessionTimeoutMs: number;
  maxWaitMs: number;
};

const processorEnvShape = {
  ...retentionEnvShape,
  ...rareValueEnvShape,
  PROCESSOR_GROUP_ID: envField.string('confidant-processor'),
  PROCESSOR_METRICS_PORT: envField.port(8082),
  SESSION_MAX_ENTRIES: envField.int(200_000, 1),
  DEDUP_MAX_IDS: envField.int(500_000, 1),
  WARMUP_MESSAGES: envField.int(100_000, 0),
  // Kafka's group.min.session.timeout.ms is 6 s by default.
  KAFKA_SESSION_TIMEOUT_MS: envField.int(30_000, 6000),
  KAFKA_MAX_WAIT_MS: envField.int(1000, 10, 10_000),
};

export function loadProcessorConfig(env: Env = process.env): ProcessorConfig {
  return loadServiceConfig('confidant-processor', processorEnvShape, env, (e) => ({
    groupId: e.PROCESSOR_GROUP_ID,
    metricsPort: e.PROCESSOR_METRICS_PORT,
    sessionMaxEntries: e.SESSION_MAX_ENTRIES,
    dedupMaxIds: e.DEDUP_MAX_IDS,
    warmupMessages: e.WARMUP_MESSAGES,
    retentionMonths: e.RETENTION_MONTHS,
    rareValueMinVisitors: e.RARE_VALUE_MIN_VISITORS,
    sessionTimeoutMs: e.KAFKA_SESSION_TIMEOUT_MS,
    maxWaitMs: e.KAFKA_MAX_WAIT_MS,
  }));
}
