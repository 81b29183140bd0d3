// The building blocks integration tests and benches assemble a collector from (`@confidant/collector/components`),
// with the public API. A separate entry from the root, which admin loads: the CLI starts without the HTTP app's modules.
export * from './index.ts';
export { buildApp, type CollectorAppDeps } from './app.ts';
export { RareValueGate } from './deid/rare-value-gate.ts';
export { ClickHouseSaltStore, MemorySaltStore } from './deid/salt-store.ts';
export { scrubUrl } from './deid/url-scrubber.ts';
export { DiskSpool } from './kafka/disk-spool.ts';
export { BEACON_EVENTS, EventProducer, KafkaTransport } from './kafka/event-producer.ts';
export { revokeIngestKey } from './logs/ingest-key.ts';
export { importLogStream } from './logs/log-import.ts';
export { createLineParser, type LogFormat } from './logs/log-parser.ts';
export { logRoutes } from './logs/logs.route.ts';
export { createMetrics } from './metrics.ts';
export { PracticeRegistry } from './registry/practice-registry.ts';
export { beaconSchema, plausibleEventSchema } from './routes/beacon.schema.ts';
