import {
  connectClickHouse,
  connectControlDb,
  connectKafka,
  createLogger,
  PracticeStore,
  stopOnSignals,
  topicsFor,
} from '@confidant/shared';
import { buildApp } from './app.ts';
import { loadCollectorConfig } from './collector.config.ts';
import { ClickHouseSaltStore } from './deid/salt-store.ts';
import { DiskSpool } from './kafka/disk-spool.ts';
import { BEACON_EVENTS, EventProducer, KafkaTransport, LOG_EVENT_BATCHES } from './kafka/event-producer.ts';
import { createMetrics } from './metrics.ts';
import { PracticeRegistry } from './registry/practice-registry.ts';

const config = loadCollectorConfig();
const logger = createLogger('collector', config.logLevel);
const db = connectClickHouse(config.clickhouse);
const control = connectControlDb(config.controlPlane);
const metrics = createMetrics();

const registry = new PracticeRegistry(new PracticeStore(control), logger);
await registry
  .refresh()
  .catch((error: unknown) =>
    logger.warn({ err: error }, 'practice registry not loaded yet; retrying in the background'),
  );
registry.start(config.registryRefreshMs);

const saltDb = connectClickHouse(config.salts);
const salts = new ClickHouseSaltStore(saltDb);
salts.start(config.saltMaintenanceMs, (error) => logger.warn({ err: error }, 'salt maintenance failed; retrying'));

const kafka = connectKafka(config.kafka, logger);
const topics = topicsFor(config.kafka.topicPrefix);
const producerOptions = { ...config.producer, replayMs: config.spool.replayMs };
const producer = new EventProducer(
  new KafkaTransport(kafka, topics.events.name),
  new DiskSpool(config.spool.dir, config.spool.maxBytes),
  producerOptions,
  metrics,
  logger,
  BEACON_EVENTS,
);
// `POST /v1/logs` batches go to their own topic, through their own spool beside the beacons' one.
const logProducer = new EventProducer(
  new KafkaTransport(kafka, topics.eventBatches.name),
  new DiskSpool(`${config.spool.dir}-logs`, config.spool.maxBytes),
  { ...producerOptions, timeoutMs: config.logImport.produceTimeoutMs },
  metrics,
  logger,
  LOG_EVENT_BATCHES,
);
await Promise.all([producer.start(), logProducer.start()]);

const app = await buildApp({
  config,
  logger,
  registry,
  salts,
  sink: producer,
  metrics,
  logs: { db, control, sink: logProducer },
});
await app.listen({ port: config.port, host: config.host });
logger.info({ port: config.port }, 'collector listening');

stopOnSignals({
  logger,
  graceMs: config.shutdownGraceMs,
  steps: [
    // close() stops accepting and waits for in-flight requests, each of which waits for its event to be durable.
    { name: 'http', stop: () => app.close() },
    { name: 'producers', stop: () => Promise.all([producer.close(), logProducer.close()]) },
    { name: 'registry', stop: () => registry.stop() },
    { name: 'salts', stop: () => salts.stop() },
    { name: 'clickhouse', stop: () => Promise.all([db.close(), saltDb.close()]) },
    { name: 'control plane', stop: () => control.close() },
  ],
});
