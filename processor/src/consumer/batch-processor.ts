import type { Consumer, EachBatchPayload, KafkaMessage, Producer } from 'kafkajs';
import { type Db, type EventEnvelope, type Logger, type StepResult } from '@confidant/shared';
import { RollupAccumulator } from '../aggregate/rollup-accumulator.ts';
import { buildIngestBlock, insertIngestBlock, readLedgerOffset } from '../clickhouse/rollup-writer.ts';
import type { ProcessorMetrics } from '../metrics.ts';
import { aggregateStep } from '../pipeline/aggregate.step.ts';
import { decodeBatchMessage, decodeEventMessage, type MessageEvent } from '../pipeline/decode.step.ts';
import { dedupeStep, type SeenId } from '../pipeline/dedupe.step.ts';
import { resolvePracticeStep } from '../pipeline/resolve-practice.step.ts';
import { sessionizeStep } from '../pipeline/sessionize.step.ts';
import type { PracticeCache } from '../practices/practice-cache.ts';
import type { ProcessorConfig } from '../processor.config.ts';
import { Overlay } from '../session/bounded-map.ts';
import type { Visit } from '../session/sessionizer.ts';
import { PartitionState } from './partition-state.ts';

/** ClickHouse blocks stay well under the 1,048,576-row block limit; a batch is split by offset beyond this. */
export const MAX_ROWS_PER_INSERT = 100_000;
const SPLIT_AT_ROWS = MAX_ROWS_PER_INSERT - 20_000;
const BACKOFF_CAP_MS = 10_000;
/** The batch topic's warm-up re-reads WARMUP_MESSAGES / 100 messages (1,000 by default, up to 200,000 events). */
const BATCH_WARMUP_DIVISOR = 100;

/** A message, or one event of a batch message (`index`, with that event alone as `value`), and why it is dead. */
export type DeadLetter = { message: KafkaMessage; reason: string; index: number | null; value: Buffer | null };

/** One insert's worth of messages: a contiguous offset range of one partition. */
type SubBatch = {
  first: bigint | null;
  last: bigint | null;
  messages: number;
  acc: RollupAccumulator;
  seen: Overlay<SeenId>;
  visits: Overlay<Visit>;
  deadLetters: DeadLetter[];
};

/** Thrown when a batch is abandoned (rebalance, shutdown): nothing of it was committed. */
export class BatchAbandoned extends Error {
  override name = 'BatchAbandoned';
}

export type BatchProcessorDeps = {
  config: ProcessorConfig;
  db: Db;
  practices: PracticeCache;
  consumer: Consumer;
  producer: Producer;
  /** Messages of this topic are batches of events (`event-batches`); any other topic holds one event per message. */
  batchTopic: string;
  deadLetterTopic: string;
  logger: Logger;
  metrics: ProcessorMetrics;
  sleep?: (ms: number) => Promise<void>;
};

/**
 * Applies Kafka batches to ClickHouse exactly once. Each batch (or slice of a huge one) is one
 * insert into `rollup_ingest` carrying its rollups and its ledger row; messages below the
 * ledger offset are skipped; the Kafka offset is committed afterwards, as a hint only.
 */
export class BatchProcessor {
  private partitions = new Map<string, PartitionState>();
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly deps: BatchProcessorDeps) {
    this.sleep = deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** After a group join every partition's state is rebuilt from the ledger (another member may have moved it on). */
  resetPartitions(): void {
    this.partitions = new Map();
    this.deps.metrics.openVisits.set(0);
  }

  openVisits(): number {
    let n = 0;
    for (const p of this.partitions.values()) n += p.visits.size;
    return n;
  }

  async handle(payload: EachBatchPayload): Promise<void> {
    const { batch, isRunning, isStale } = payload;
    const { topic, partition } = batch;
    const { config, metrics } = this.deps;
    const key = `${topic}:${partition}`;
    let state = this.partitions.get(key);
    if (!state) this.partitions.set(key, (state = new PartitionState(config)));
    metrics.lag.set({ topic, partition: String(partition) }, Number(batch.offsetLag()));
    if (batch.isEmpty()) return;

    if (state.ledgerNext === null) {
      const ledgerNext = await this.retrying(payload, 'read ledger', () => readLedgerOffset(this.deps.db, config.groupId, topic, partition));
      state.ledgerNext = ledgerNext;
      // A batch message holds up to 200 events: re-reading as many batches as single events would re-read far more events.
      const warmup = BigInt(topic === this.deps.batchTopic ? Math.ceil(config.warmupMessages / BATCH_WARMUP_DIVISOR) : config.warmupMessages);
      state.warmStart = ledgerNext > warmup ? ledgerNext - warmup : 0n;
      // Re-read what precedes the ledger offset so that duplicates of already-applied events are recognised.
      if (BigInt(batch.firstOffset() ?? '0') > state.warmStart && state.warmStart < ledgerNext) {
        this.deps.logger.info({ topic, partition, from: String(state.warmStart), ledger: String(ledgerNext) }, 'warming up duplicate filter');
        this.deps.consumer.seek({ topic, partition, offset: String(state.warmStart) });
        return;
      }
    }

    const decode = topic === this.deps.batchTopic ? decodeBatchMessage : decodeEventMessage;
    const decoded = batch.messages.map((m) => decode(m.value));
    const practiceIds = new Set<string>();
    for (const events of decoded) for (const { result } of events) if (result.kind === 'ok') practiceIds.add(result.value.practiceId);
    await this.retrying(payload, 'load practices', () => this.deps.practices.prepare(practiceIds));

    // One marker for every id seen in this batch: ids are remembered by processing time, and the batch is one moment.
    const seenAt: SeenId = { lastAt: Date.now() };
    let sub = this.newSubBatch(state);
    let handledUpTo: string | null = null;
    for (const [i, message] of batch.messages.entries()) {
      if (!isRunning() || isStale()) break;
      const offset = BigInt(message.offset);
      const events = decoded[i]!;
      if (offset < state.ledgerNext!) {
        if (offset >= state.warmStart) for (const { result } of events) if (result.kind === 'ok') state.seen.set(result.value.id, seenAt);
        metrics.events.inc({ outcome: 'dropped', reason: 'already-applied' }, events.length);
      } else {
        this.apply(sub, message, events, state, seenAt);
        if (sub.acc.rowCount >= SPLIT_AT_ROWS) {
          await this.flush(payload, state, sub);
          sub = this.newSubBatch(state);
        }
      }
      handledUpTo = message.offset;
    }
    if (sub.last !== null) await this.flush(payload, state, sub);
    if (handledUpTo !== null && BigInt(handledUpTo) + 1n !== state.committedHint) {
      payload.resolveOffset(handledUpTo);
      await this.commitHint(payload, topic, partition, BigInt(handledUpTo) + 1n);
      state.committedHint = BigInt(handledUpTo) + 1n;
    }
    state.visits.evictOlderThan(state.maxEventTs);
    state.seen.evictOlderThan(Date.now());
    metrics.openVisits.set(this.openVisits());
  }

  private newSubBatch(state: PartitionState): SubBatch {
    return { first: null, last: null, messages: 0, acc: new RollupAccumulator(), seen: new Overlay(state.seen), visits: new Overlay(state.visits), deadLetters: [] };
  }

  /** Runs the steps for each event of one live message; for each, the first non-ok result decides its fate. */
  private apply(sub: SubBatch, message: KafkaMessage, events: MessageEvent[], state: PartitionState, seenAt: SeenId): void {
    const offset = BigInt(message.offset);
    sub.first ??= offset;
    sub.last = offset;
    sub.messages++;
    for (const { result, index, raw } of events) {
      const outcome = this.runSteps(sub, result, state, seenAt);
      if (outcome.kind === 'dlq') {
        const value = index === null ? message.value : Buffer.from(JSON.stringify(result.kind === 'ok' ? result.value : raw));
        sub.deadLetters.push({ message, reason: outcome.reason, index, value });
      }
      this.deps.metrics.events.inc(outcome.kind === 'ok' ? { outcome: 'counted', reason: '' } : { outcome: outcome.kind === 'drop' ? 'dropped' : 'dlq', reason: outcome.reason });
    }
  }

  private runSteps(sub: SubBatch, decoded: StepResult<EventEnvelope>, state: PartitionState, seenAt: SeenId): StepResult<null> {
    if (decoded.kind !== 'ok') return decoded;
    const unique = dedupeStep(sub.seen, decoded.value, seenAt);
    if (unique.kind !== 'ok') return unique;
    const located = resolvePracticeStep((id) => this.deps.practices.get(id), unique.value);
    if (located.kind !== 'ok') return located;
    const sessionized = sessionizeStep(sub.visits, located.value);
    if (sessionized.kind !== 'ok') return sessionized;
    state.maxEventTs = Math.max(state.maxEventTs, unique.value.ts);
    return aggregateStep(sub.acc, sessionized.value);
  }

  /** Dead letters first, then the atomic insert, then the in-memory state and the Kafka offset. */
  private async flush(payload: EachBatchPayload, state: PartitionState, sub: SubBatch): Promise<void> {
    const { batch } = payload;
    const { config, metrics } = this.deps;
    const first = sub.first!;
    const last = sub.last!;
    if (sub.deadLetters.length > 0) {
      await this.retrying(payload, 'produce dead letters', () => this.produceDeadLetters(batch.topic, batch.partition, sub.deadLetters));
      metrics.deadLetters.inc(sub.deadLetters.length);
    }
    const daily = sub.acc.dailyRows();
    const hourly = sub.acc.hourlyRows();
    const batchId = `${config.groupId}.${batch.topic}.${batch.partition}.${first}-${last}`;
    const block = buildIngestBlock(daily, hourly, { consumerGroup: config.groupId, topic: batch.topic, partition: batch.partition, nextOffset: last + 1n, batchId });
    // Still a member? A rebalance here abandons the batch before anything is written.
    await payload.heartbeat();
    let attempt = 0;
    await this.retrying(payload, 'insert rollups', async () => {
      // A failed attempt may still have been applied (the response was lost): the ledger says.
      if (attempt++ > 0 && (await readLedgerOffset(this.deps.db, config.groupId, batch.topic, batch.partition)) > last) return;
      const stop = metrics.insertSeconds.startTimer();
      try {
        await insertIngestBlock(config.clickhouse, block, batchId);
      } catch (error) {
        metrics.insertFailures.inc();
        throw error;
      } finally {
        stop();
      }
    });
    sub.seen.commit();
    sub.visits.commit();
    state.ledgerNext = last + 1n;
    this.deps.logger.debug({ topic: batch.topic, partition: batch.partition, first: String(first), last: String(last), rows: daily.length + hourly.length }, 'batch applied');
    metrics.batchMessages.observe(sub.messages);
    metrics.batchRows.observe(daily.length + hourly.length + 1);
    payload.resolveOffset(String(last));
    await this.commitHint(payload, batch.topic, batch.partition, last + 1n);
    state.committedHint = last + 1n;
  }

  private async produceDeadLetters(topic: string, partition: number, letters: DeadLetter[]): Promise<void> {
    await this.deps.producer.send({
      topic: this.deps.deadLetterTopic,
      acks: -1,
      messages: letters.map(({ message, reason, index, value }) => ({
        key: message.key,
        value,
        headers: {
          reason,
          'source-topic': topic,
          'source-partition': String(partition),
          'source-offset': message.offset,
          ...(index === null ? {} : { 'source-index': String(index) }),
        },
      })),
    });
  }

  /** Kafka's committed offset only saves re-reading; the ledger decides what is applied. */
  private async commitHint(payload: EachBatchPayload, topic: string, partition: number, next: bigint): Promise<void> {
    try {
      await payload.commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: String(next) }] }] });
    } catch (error) {
      this.deps.logger.debug({ err: error, topic, partition }, 'offset commit failed (the ledger still has it)');
    }
  }

  /**
   * Retries `work` with exponential backoff (capped at 10 s). While retrying, the topic is paused,
   * so nothing more is fetched and memory stays bounded, and heartbeats keep the group membership;
   * a rebalance or shutdown abandons the batch uncommitted.
   */
  private async retrying<T>(payload: EachBatchPayload, what: string, work: () => Promise<T>): Promise<T> {
    const { topic } = payload.batch;
    let paused = false;
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          return await work();
        } catch (error) {
          this.deps.logger.warn({ err: error, topic, partition: payload.batch.partition, attempt }, `${what} failed; retrying`);
          if (!paused) {
            this.deps.consumer.pause([{ topic }]);
            this.deps.metrics.paused.set(1);
            paused = true;
          }
          await this.sleep(Math.min(BACKOFF_CAP_MS, 250 * 2 ** (attempt - 1)));
          await payload.heartbeat();
          if (!payload.isRunning() || payload.isStale()) throw new BatchAbandoned(`${what}: batch abandoned`);
        }
      }
    } finally {
      if (paused) {
        this.deps.consumer.resume([{ topic }]);
        this.deps.metrics.paused.set(0);
      }
    }
  }
}

