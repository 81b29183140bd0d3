import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** One registry per app instance, so tests and several apps in a process never share counters. */
export function createMetrics() {
  const registry = new Registry();
  const opts = { registers: [registry] };
  return {
    registry,
    accepted: new Counter({
      name: 'collector_events_accepted_total',
      help: 'Events durably accepted',
      labelNames: ['type'] as const,
      ...opts,
    }),
    dropped: new Counter({
      name: 'collector_events_dropped_total',
      help: 'Requests dropped or refused, by reason (bot, opted-out, page-class-drop, invalid, unknown-site, rate-limited, spool-full)',
      labelNames: ['reason'] as const,
      ...opts,
    }),
    shed: new Counter({
      name: 'collector_requests_shed_total',
      help: 'Hits refused with 503 under overload, by reason (in-flight, event-loop-delay, heap)',
      labelNames: ['reason'] as const,
      ...opts,
    }),
    inFlight: new Gauge({
      name: 'collector_events_in_flight',
      help: 'Events submitted and not yet durable (Kafka ack or fsynced spool)',
      ...opts,
    }),
    // Per producer (label `topic`): `events` carries one beacon event per record, `event-batches` a batch of log events per record.
    queued: new Gauge({
      name: 'collector_events_queued',
      help: 'Records waiting in the producer batch',
      labelNames: ['topic'] as const,
      ...opts,
    }),
    spooled: new Counter({
      name: 'collector_events_spooled_total',
      help: 'Records written to the disk spool',
      labelNames: ['topic'] as const,
      ...opts,
    }),
    replayed: new Counter({
      name: 'collector_events_replayed_total',
      help: 'Spooled records delivered to Kafka',
      labelNames: ['topic'] as const,
      ...opts,
    }),
    logLines: new Counter({
      name: 'collector_log_lines_total',
      help: 'Lines of access logs posted to /v1/logs, by outcome (pageview, notfound, skipped, malformed, already-imported)',
      labelNames: ['outcome'] as const,
      ...opts,
    }),
    spoolBytes: new Gauge({
      name: 'collector_spool_bytes',
      help: 'Bytes held in the disk spool',
      labelNames: ['topic'] as const,
      ...opts,
    }),
    produceLatency: new Histogram({
      name: 'collector_produce_latency_seconds',
      help: 'Time for Kafka to acknowledge a batch of records',
      labelNames: ['topic'] as const,
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      ...opts,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
