/**
 * Producer: events/s from the collector's queue (`EventProducer.submit`: envelope validation,
 * batching, idempotent send with acks from all replicas) to Kafka, against raw kafkajs
 * `sendBatch` of the same messages. Both run in this process, one after the other.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { createLogger, type EventEnvelope } from '@confidant/shared';
import {
  loadCollectorConfig,
  DiskSpool,
  BEACON_EVENTS,
  EventProducer,
  KafkaTransport,
  createMetrics,
} from '@confidant/collector/components';
import { generateEnvelopes, toMessages } from './support/envelopes.ts';
import { openNamespace } from './support/namespace.ts';
import { profileInProcess, profileLines, hotFunctions } from './support/cpu-profile.ts';
import { median } from './support/stats.ts';
import type { Bench } from './support/result.ts';

/** Submits every event, keeping `window` outstanding as concurrent beacon requests would; returns events/s. */
async function viaEventProducer(
  kafka: Kafka,
  topic: string,
  events: EventEnvelope[],
  settings: { lingerMs: number; batchSize: number; timeoutMs: number },
): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'confidant-bench-spool-'));
  const logger = createLogger('bench', 'error');
  const producer = new EventProducer(
    new KafkaTransport(kafka, topic),
    new DiskSpool(dir, 64 * 1024 * 1024),
    { ...settings, replayMs: 60_000 },
    createMetrics(),
    logger,
    BEACON_EVENTS,
  );
  await producer.start();
  try {
    const window = settings.batchSize * 4;
    const t = performance.now();
    const pending = new Set<Promise<void>>();
    for (const e of events) {
      const p = producer.submit(e.visitor ?? e.id, e).finally(() => pending.delete(p));
      pending.add(p);
      if (pending.size >= window) await Promise.race(pending);
    }
    await Promise.all(pending);
    return (events.length / (performance.now() - t)) * 1000;
  } finally {
    await producer.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The same messages through a plain kafkajs producer, `sendBatch` per batch, the same batches in flight. */
async function viaRawSendBatch(
  kafka: Kafka,
  topic: string,
  events: EventEnvelope[],
  batchSize: number,
): Promise<number> {
  const messages = toMessages(events);
  const producer = kafka.producer();
  await producer.connect();
  try {
    const t = performance.now();
    const inFlight = new Set<Promise<unknown>>();
    for (let i = 0; i < messages.length; i += batchSize) {
      const p = producer
        .sendBatch({ acks: -1, topicMessages: [{ topic, messages: messages.slice(i, i + batchSize) }] })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (inFlight.size >= 4) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    return (messages.length / (performance.now() - t)) * 1000;
  } finally {
    await producer.disconnect();
  }
}

export const producerBench: Bench = {
  name: 'producer',
  async run(ctx) {
    const ns = await openNamespace('producer');
    const settings = loadCollectorConfig(ns.env).producer;
    const n = ctx.smoke ? 10_000 : 100_000;
    const events = generateEnvelopes(ns.practice.id, n, Date.now(), 86_400_000);
    try {
      ctx.log(`warm-up, then 3 × ${n} events each way`);
      await viaRawSendBatch(ns.kafka, ns.eventsTopic, events.slice(0, n / 5), settings.batchSize);
      await viaEventProducer(ns.kafka, ns.eventsTopic, events.slice(0, n / 5), settings);
      const base: number[] = [];
      const ours: number[] = [];
      for (let i = 0; i < 3; i++) {
        base.push(await viaRawSendBatch(ns.kafka, ns.eventsTopic, events, settings.batchSize));
        ours.push(await viaEventProducer(ns.kafka, ns.eventsTopic, events, settings));
        ctx.log(`rep ${i + 1}: raw sendBatch ${Math.round(base[i]!)}/s, EventProducer ${Math.round(ours[i]!)}/s`);
      }
      const met = median(ours) / median(base) >= 0.8;
      const bottleneck: string[] = [];
      if (!met) {
        if (ctx.smoke) bottleneck.push('Profile skipped in smoke mode.');
        else {
          const { profile } = await profileInProcess(() =>
            viaEventProducer(ns.kafka, ns.eventsTopic, events, settings),
          );
          bottleneck.push(
            ...profileLines(
              'EventProducer submitting the same events (V8 profiler, in process)',
              hotFunctions(profile),
              null,
            ),
          );
        }
      }
      return {
        rows: [
          {
            metric: 'events/s queue → Kafka (acks=all)',
            unit: '/s',
            ours,
            baseline: base,
            baselineLabel: 'raw kafkajs sendBatch',
            better: 'higher',
            goal: '≥ 0.8×',
            met,
          },
        ],
        details: [
          `${n} generated envelopes per repetition, one warm-up of ${n / 5} each way, 3 repetitions alternating.`,
          `Ours: \`EventProducer.submit\` for every event (envelope validation and encoding, batching with linger ${settings.lingerMs} ms / ${settings.batchSize} events, idempotent producer, one request in flight, acks from all replicas), ${settings.batchSize * 4} submits outstanding like concurrent beacon requests.`,
          `Baseline: the same keys and already-encoded values through a default kafkajs producer, \`sendBatch\` of ${settings.batchSize} messages, acks=-1, up to 4 batches in flight.`,
        ],
        bottleneck,
      };
    } finally {
      await ns.cleanup();
    }
  },
};
