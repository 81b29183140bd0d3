import { connectClickHouse, connectKafka, createLogger, PracticeStore, topicsFor } from '@confidant/shared';
import { buildApp } from './app.ts';
import { loadCollectorConfig } from './collector.config.ts';
import { ClickHouseSaltStore } from './deid/salt-store.ts';
import { DiskSpool } from './kafka/disk-spool.ts';
import { EventProducer, KafkaTransport } from './kafka/event-producer.ts';
import { createMetrics } from './metrics.ts';
import { PracticeRegistry } from './registry/practice-registry.ts';

const config = loadCollectorConfig();
const logger = createLogger('collector', config.logLevel);
const db = connectClickHouse(config.clickhouse);
const metrics = createMetrics();

const registry = new PracticeRegistry(new PracticeStore(db), logger);
await registry.refresh().catch((error: unknown) => logger.warn({ err: error }, 'practice registry not loaded yet; retrying in the background'));
registry.start(config.registryRefreshMs);

const salts = new ClickHouseSaltStore(db);
salts.start(config.saltMaintenanceMs, (error) => logger.warn({ err: error }, 'salt maintenance failed; retrying'));

const producer = new EventProducer(
  new KafkaTransport(connectKafka(config.kafka, logger), topicsFor(config.kafka.topicPrefix).events.name),
  new DiskSpool(config.spool.dir, config.spool.maxBytes),
  { ...config.producer, replayMs: config.spool.replayMs },
  metrics,
  logger,
);
await producer.start();

const app = await buildApp({ config, logger, registry, salts, sink: producer, metrics, db });
await app.listen({ port: config.port, host: config.host });
logger.info({ port: config.port }, 'collector listening');

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping: no new requests, flushing the producer');
  // close() stops accepting and waits for in-flight requests, each of which waits for its event to be durable.
  await app.close();
  await producer.close();
  registry.stop();
  salts.stop();
  await db.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
