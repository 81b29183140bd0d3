import { Kafka, logLevel, type Admin, type LogEntry } from 'kafkajs';
import type { CommonConfig } from '../config/env-config.ts';
import type { Logger } from '../logger.ts';
import { topicsFor, type TopicSpec } from '../../contracts/names.ts';

const LEVEL: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * kafkajs warns at every idempotent producer with bounded retries. Ours are bounded on purpose: after them the
 * collector spools the records and sends them again, and the processor drops duplicates by event id.
 */
const BOUNDED_RETRIES_WARNING = 'Limiting retries for the idempotent producer may invalidate EoS guarantees';

/** A kafkajs client whose log lines go through our (redacting) pino logger. */
export function connectKafka(config: CommonConfig['kafka'], logger: Logger): Kafka {
  return new Kafka({
    clientId: config.clientId,
    brokers: config.brokers,
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 5000 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log }: LogEntry) => {
        const { message, timestamp: _t, logger: _l, ...rest } = log;
        logger[message === BOUNDED_RETRIES_WARNING ? 'debug' : (LEVEL[level] ?? 'info')]({ kafka: rest }, message);
      },
  });
}

/** Creates the project's topics with explicit partitions and retention; updates retention if it drifted. */
export async function ensureTopics(admin: Admin, prefix: string): Promise<TopicSpec[]> {
  const specs = Object.values(topicsFor(prefix));
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.name));
  if (missing.length > 0) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((s) => ({
        topic: s.name,
        numPartitions: s.partitions,
        replicationFactor: 1,
        configEntries: [
          { name: 'retention.ms', value: String(s.retentionMs) },
          { name: 'cleanup.policy', value: 'delete' },
        ],
      })),
    });
  }
  const present = specs.filter((s) => existing.has(s.name));
  if (present.length > 0) {
    await admin.alterConfigs({
      validateOnly: false,
      resources: present.map((s) => ({
        type: 2 /* TOPIC */,
        name: s.name,
        configEntries: [{ name: 'retention.ms', value: String(s.retentionMs) }],
      })),
    });
  }
  return specs;
}
