/**
 * Processor: events/s from a pre-filled topic into ClickHouse rollups (decode, dedupe, sessionize,
 * aggregate, one atomic insert per batch with its ledger row), against a no-op kafkajs `eachBatch`
 * consumer reading the same topic with the same fetch sizes. Each repetition is a fresh consumer
 * group, so both read the whole topic from the beginning.
 */
import { randomBytes } from 'node:crypto';
import { createLogger } from '@confidant/shared';
import { startProcessor, loadProcessorConfig } from '@confidant/processor';
import { generateEnvelopes, toMessages } from './support/envelopes.ts';
import { openNamespace, processorLag, type Namespace } from './support/namespace.ts';
import { hotFunctions, profileInProcess, profileLines } from './support/cpu-profile.ts';
import { median, sleep } from './support/stats.ts';
import type { Bench } from './support/result.ts';

const TIMEOUT_MS = 600_000;

/** Fills the event topic with `n` envelopes as the collector writes them. */
export async function prefill(ns: Namespace, n: number): Promise<void> {
  const producer = ns.kafka.producer();
  await producer.connect();
  try {
    const events = generateEnvelopes(ns.practice.id, n, Date.now(), 2 * 86_400_000, 11);
    for (let i = 0; i < n; i += 5000)
      await producer.sendBatch({
        acks: -1,
        topicMessages: [{ topic: ns.eventsTopic, messages: toMessages(events.slice(i, i + 5000)) }],
      });
  } finally {
    await producer.disconnect();
  }
}

/** Messages/s of a consumer that does nothing but resolve offsets; the clock starts once it has joined its group (`run` resolved). */
async function noopConsumer(ns: Namespace, n: number): Promise<number> {
  const consumer = ns.kafka.consumer({
    groupId: `bench-noop-${randomBytes(4).toString('hex')}`,
    minBytes: 256 * 1024,
    maxWaitTimeInMs: 1000,
    maxBytesPerPartition: 8 * 1024 * 1024,
    maxBytes: 32 * 1024 * 1024,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [ns.eventsTopic], fromBeginning: true });
  let seen = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  try {
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, resolveOffset }) => {
        seen += batch.messages.length;
        const last = batch.messages.at(-1);
        if (last) resolveOffset(last.offset);
        if (seen >= n) done();
      },
    });
    const t0 = performance.now();
    await Promise.race([
      finished,
      sleep(TIMEOUT_MS).then(() => Promise.reject(new Error(`no-op consumer saw ${seen} of ${n}`))),
    ]);
    return (n / (performance.now() - t0)) * 1000;
  } finally {
    await consumer.disconnect();
  }
}

/**
 * Events/s of the processor: the clock starts once it has joined its group (`startProcessor`
 * resolved, as `run` did for the baseline) and stops when its ClickHouse ledger has reached the
 * end of every partition, polled every 50 ms.
 */
async function processorRun(ns: Namespace, n: number): Promise<number> {
  const groupId = `bench-proc-${randomBytes(4).toString('hex')}`;
  const config = loadProcessorConfig({ ...ns.env, PROCESSOR_GROUP_ID: groupId });
  const processor = await startProcessor({
    config,
    db: ns.db,
    control: ns.control,
    kafka: ns.kafka,
    logger: createLogger('processor', 'error'),
  });
  const t0 = performance.now();
  try {
    const deadline = Date.now() + TIMEOUT_MS;
    while ((await processorLag(ns, groupId)) > 0) {
      if (Date.now() > deadline)
        throw new Error(`processor did not catch up with ${n} events within ${TIMEOUT_MS / 1000} s`);
      await sleep(50);
    }
    return (n / (performance.now() - t0)) * 1000;
  } finally {
    await processor.stop();
  }
}

export const processorBench: Bench = {
  name: 'processor',
  async run(ctx) {
    const ns = await openNamespace('processor');
    const n = ctx.smoke ? 50_000 : 300_000;
    try {
      ctx.log(`pre-filling ${n} events`);
      await prefill(ns, n);
      await noopConsumer(ns, n);
      await processorRun(ns, n);
      const base: number[] = [];
      const ours: number[] = [];
      for (let i = 0; i < 3; i++) {
        base.push(await noopConsumer(ns, n));
        ours.push(await processorRun(ns, n));
        ctx.log(`rep ${i + 1}: no-op consumer ${Math.round(base[i]!)}/s, processor ${Math.round(ours[i]!)}/s`);
      }
      const met = median(ours) / median(base) >= 0.6;
      const bottleneck: string[] = [];
      if (!met) {
        if (ctx.smoke) bottleneck.push('Profile skipped in smoke mode.');
        else {
          ctx.log('goal missed: profiling a processor run');
          const { profile } = await profileInProcess(() => processorRun(ns, n));
          bottleneck.push(
            ...profileLines(
              'Processor catching up with the pre-filled topic (V8 profiler)',
              hotFunctions(profile),
              null,
            ),
          );
        }
      }
      return {
        rows: [
          {
            metric: 'events/s topic → ClickHouse rollups',
            unit: '/s',
            ours,
            baseline: base,
            baselineLabel: 'no-op kafkajs eachBatch',
            better: 'higher',
            goal: '≥ 0.6×',
            met,
          },
        ],
        details: [
          `${n} envelopes (one practice, 2 days, realistic mix of page views, engagement, clicks, events and 404s) pre-filled into the 3-partition topic; one warm-up and 3 repetitions, each a fresh consumer group reading from the beginning.`,
          'Ours: `startProcessor` with its production settings; the clock runs from the moment it has joined its group until the ClickHouse ledger of the group has reached the end of every partition (polled every 50 ms), so every event is durably in the rollups.',
          'Baseline: a kafkajs consumer with the same fetch sizes whose `eachBatch` only resolves offsets; the clock runs from the moment it has joined its group to its last message.',
          'Both run in the bench process, one after the other; the processor profile (when a goal is missed) uses the in-process V8 profiler.',
        ],
        bottleneck,
      };
    } finally {
      await ns.cleanup();
    }
  },
};
