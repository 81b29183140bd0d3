import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The processor's Prometheus metrics, on their own registry (tests run several processors in one process). */
export function createProcessorMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'confidant_processor_' });
  return {
    registry,
    events: new Counter({
      name: 'confidant_processor_events_total',
      help: 'Kafka messages handled, by outcome (counted, dropped, dlq) and reason',
      labelNames: ['outcome', 'reason'] as const,
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'confidant_processor_dlq_total',
      help: 'Messages produced to the dead-letter topic',
      registers: [registry],
    }),
    insertSeconds: new Histogram({
      name: 'confidant_processor_insert_seconds',
      help: 'Latency of one rollup insert into ClickHouse',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    insertFailures: new Counter({
      name: 'confidant_processor_insert_failures_total',
      help: 'Failed rollup inserts (each is retried)',
      registers: [registry],
    }),
    batchMessages: new Histogram({
      name: 'confidant_processor_batch_messages',
      help: 'Kafka messages per committed batch',
      buckets: [1, 10, 100, 1000, 5000, 20_000, 100_000],
      registers: [registry],
    }),
    batchRows: new Histogram({
      name: 'confidant_processor_batch_rows',
      help: 'Rollup rows per insert',
      buckets: [1, 10, 100, 1000, 10_000, 100_000],
      registers: [registry],
    }),
    lag: new Gauge({
      name: 'confidant_processor_lag',
      help: 'Messages behind the high watermark, per partition',
      labelNames: ['topic', 'partition'] as const,
      registers: [registry],
    }),
    openVisits: new Gauge({
      name: 'confidant_processor_open_visits',
      help: 'Visits held in memory',
      registers: [registry],
    }),
    paused: new Gauge({
      name: 'confidant_processor_paused',
      help: '1 while consumption is paused because ClickHouse is unavailable',
      registers: [registry],
    }),
  };
}

export type ProcessorMetrics = ReturnType<typeof createProcessorMetrics>;
