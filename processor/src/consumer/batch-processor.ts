import type { Consumer, EachBatchPayload, KafkaMessage, Producer } from 'kafkajs';
import {
  dlq,
  ENVELOPE_MAX_AGE_MS,
  importLineOf,
  type Db,
  type ImportLine,
  type EnvelopeWindowOptions,
  type EventEnvelope,
  type Logger,
  type StepResult,
} from '@confidant/shared';
import { RollupAccumulator } from '../aggregate/rollup-accumulator.ts';
import { classifyInsertError } from '../clickhouse/insert-error.ts';
import { insertPartnerDays } from '../clickhouse/partner-days-writer.ts';
import { buildIngestBlock, insertIngestBlock, readLedgerOffset } from '../clickhouse/rollup-writer.ts';
import type { ProcessorMetrics } from '../metrics.ts';
import { aggregateStep } from '../pipeline/aggregate.step.ts';
import { decodeBatchMessage, decodeEventMessage, type MessageEvent } from '../pipeline/decode.step.ts';
import { dedupeStep, type SeenId } from '../pipeline/dedupe.step.ts';
import { importLineStep } from '../pipeline/import-line.step.ts';
import { ImportLineLedger, LineMarks } from '../imports/import-line-ledger.ts';
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

/** A live message and its decoded events. */
type Item = { message: KafkaMessage; events: MessageEvent[] };

/** What became of one event of a sub-batch (metrics are counted once its sub-batch is applied). */
type Outcome = { item: Item; event: MessageEvent; kind: 'counted' | 'dropped' | 'dlq'; reason: string };

/**
 * One insert's worth of messages: a contiguous offset range of one partition, and what the steps
 * made of them on overlays over the committed state (so it can be rebuilt for any part of it).
 */
type SubBatch = {
  items: Item[];
  acc: RollupAccumulator;
  seen: Overlay<SeenId>;
  visits: Overlay<Visit>;
  lines: LineMarks;
  deadLetters: DeadLetter[];
  outcomes: Outcome[];
  maxEventTs: number;
  /** A step threw for an event not yet known to throw: what it wrote on the way must be rebuilt away. */
  threw: boolean;
};

/** Per handled Kafka batch: events whose steps threw (by message and index), and dead letters already produced. */
type BatchContext = { state: PartitionState; seenAt: SeenId; threw: Map<string, string>; produced: Set<string> };

const eventKey = (message: KafkaMessage, index: number | null) => `${message.offset}:${index ?? ''}`;
/**
 * Dead letters per send: one send to a partition is one record batch, which the broker refuses above
 * its 1 MiB `message.max.bytes`, and a batch message with many bad events easily gives more.
 */
const DEAD_LETTER_SEND_BYTES = 512 * 1024;
const DAY_MS = 86_400_000;

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
  /** Sends one Native block (tests inject refusals); default `insertIngestBlock`. */
  insert?: typeof insertIngestBlock;
  /** Writes a batch's partner visitor-days; default `insertPartnerDays`. */
  insertPartner?: typeof insertPartnerDays;
  /** The clock that decides whether a day's visitor states have closed; default Date.now. */
  now?: () => number;
};

/**
 * Applies Kafka batches to ClickHouse exactly once. Each batch (or slice of a huge one) is one
 * insert into the ingest table carrying its rollups and its ledger row; messages below the
 * ledger offset are skipped; the Kafka offset is committed afterwards, as a hint only.
 */
export class BatchProcessor {
  private partitions = new Map<string, PartitionState>();
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly insert: typeof insertIngestBlock;
  private readonly insertPartner: typeof insertPartnerDays;
  private readonly now: () => number;
  /** Events as old as the retention keeps are accepted, at least as old as producers may send (plus the consume slack). */
  private readonly window: EnvelopeWindowOptions;
  /** The import lines this group applied: a resumed import's repeated lines are dropped at any later time. */
  private readonly lines: ImportLineLedger;

  constructor(private readonly deps: BatchProcessorDeps) {
    this.lines = new ImportLineLedger(deps.db, deps.config.groupId);
    this.sleep = deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.insert = deps.insert ?? insertIngestBlock;
    this.insertPartner = deps.insertPartner ?? insertPartnerDays;
    this.now = deps.now ?? Date.now;
    this.window = { maxAgeMs: Math.max(ENVELOPE_MAX_AGE_MS, deps.config.retentionMonths * 31 * DAY_MS) };
  }

  /** After a group join every partition's state is rebuilt from the ledger (another member may have moved it on). */
  resetPartitions(): void {
    this.partitions = new Map();
    this.lines.clear();
    this.deps.metrics.openVisits.set(0);
  }

  openVisits(): number {
    let n = 0;
    for (const p of this.partitions.values()) n += p.visits.size;
    return n;
  }

  /** The open visits of each partition this member holds (`topic:partition`), keyed as `sessionKey` writes them. */
  *partitionVisits(): IterableIterator<[string, IterableIterator<[string, Visit]>]> {
    for (const [key, p] of this.partitions) yield [key, p.visits.entries()];
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
      const ledgerNext = await this.retrying(payload, 'read ledger', () =>
        readLedgerOffset(this.deps.db, config.groupId, topic, partition),
      );
      state.ledgerNext = ledgerNext;
      // A batch message holds up to 200 events: re-reading as many batches as single events would re-read far more events.
      const warmup = BigInt(
        topic === this.deps.batchTopic
          ? Math.ceil(config.warmupMessages / BATCH_WARMUP_DIVISOR)
          : config.warmupMessages,
      );
      state.warmStart = ledgerNext > warmup ? ledgerNext - warmup : 0n;
      // Re-read what precedes the ledger offset so that duplicates of already-applied events are recognised.
      if (BigInt(batch.firstOffset() ?? '0') > state.warmStart && state.warmStart < ledgerNext) {
        this.deps.logger.info(
          { topic, partition, from: String(state.warmStart), ledger: String(ledgerNext) },
          'warming up duplicate filter',
        );
        this.deps.consumer.seek({ topic, partition, offset: String(state.warmStart) });
        return;
      }
    }

    const decoded = batch.messages.map((m) => this.decode(topic, m));
    // What the steps will look up synchronously: the batch's practices and the ledger blocks of its import lines.
    const practiceIds = new Set<string>();
    const importLines: ImportLine[] = [];
    for (const events of decoded) {
      for (const { result } of events) {
        if (result.kind !== 'ok') continue;
        practiceIds.add(result.value.practiceId);
        const line = importLineOf(result.value);
        if (line !== null) importLines.push(line);
      }
    }
    await this.retrying(payload, 'load practices', () => this.deps.practices.prepare(practiceIds));
    await this.retrying(payload, 'load import lines', () => this.lines.prepare(importLines));

    // One marker for every id seen in this batch: ids are remembered by processing time, and the batch is one moment.
    const ctx: BatchContext = { state, seenAt: { lastAt: Date.now() }, threw: new Map(), produced: new Set() };
    let sub = this.newSubBatch(state);
    let handledUpTo: string | null = null;
    for (const [i, message] of batch.messages.entries()) {
      if (!isRunning() || isStale()) break;
      const offset = BigInt(message.offset);
      const events = decoded[i]!;
      if (offset < state.ledgerNext!) {
        if (offset >= state.warmStart)
          for (const { result } of events) if (result.kind === 'ok') state.seen.set(result.value.id, ctx.seenAt);
        metrics.events.inc({ outcome: 'dropped', reason: 'already-applied' }, events.length);
      } else {
        this.extend(sub, { message, events }, ctx);
        if (sub.acc.rowCount >= SPLIT_AT_ROWS) {
          await this.flush(payload, sub, ctx);
          sub = this.newSubBatch(state);
        }
      }
      handledUpTo = message.offset;
    }
    if (sub.items.length > 0) await this.flush(payload, sub, ctx);
    if (handledUpTo !== null && BigInt(handledUpTo) + 1n !== state.committedHint) {
      payload.resolveOffset(handledUpTo);
      await this.commitHint(payload, topic, partition, BigInt(handledUpTo) + 1n);
      state.committedHint = BigInt(handledUpTo) + 1n;
    }
    state.visits.evictOlderThan(state.maxEventTs);
    state.seen.evictOlderThan(Date.now());
    metrics.openVisits.set(this.openVisits());
  }

  /** The message's events; a decoder bug costs the message (dead-lettered whole), not the consumer. */
  private decode(topic: string, message: KafkaMessage): MessageEvent[] {
    try {
      return topic === this.deps.batchTopic
        ? decodeBatchMessage(message.value, this.window)
        : decodeEventMessage(message.value, this.window);
    } catch (error) {
      return [{ result: dlq(`decode failed: ${errorText(error)}`), index: null, raw: null }];
    }
  }

  private newSubBatch(state: PartitionState): SubBatch {
    return {
      items: [],
      acc: new RollupAccumulator(),
      seen: new Overlay(state.seen),
      visits: new Overlay(state.visits),
      lines: new LineMarks(this.lines),
      deadLetters: [],
      outcomes: [],
      maxEventTs: 0,
      threw: false,
    };
  }

  /** The steps' result for these messages, computed afresh on the committed state; events known to throw are dead letters without running again. */
  private build(items: Item[], ctx: BatchContext): SubBatch {
    for (;;) {
      const sub = this.newSubBatch(ctx.state);
      for (const item of items) this.extend(sub, item, ctx);
      // Each pass that throws adds an event to ctx.threw, so this ends.
      if (!sub.threw) return sub;
    }
  }

  /** Runs the steps for each event of one live message; for each, the first non-ok result decides its fate. */
  private extend(sub: SubBatch, item: Item, ctx: BatchContext): void {
    sub.items.push(item);
    const { message } = item;
    for (const event of item.events) {
      const key = eventKey(message, event.index);
      const known = ctx.threw.get(key);
      let outcome: StepResult<null>;
      if (known !== undefined) outcome = dlq(known);
      else {
        try {
          outcome = this.runSteps(sub, event.result, ctx.seenAt);
        } catch (error) {
          // A bug in a step must not stop the consumer; what the step wrote before throwing is rebuilt away.
          const reason = `step failed: ${errorText(error)}`;
          outcome = dlq(reason);
          ctx.threw.set(key, reason);
          sub.threw = true;
        }
      }
      if (outcome.kind === 'dlq') sub.deadLetters.push(this.deadLetter(message, event, outcome.reason));
      sub.outcomes.push({
        item,
        event,
        kind: outcome.kind === 'ok' ? 'counted' : outcome.kind === 'drop' ? 'dropped' : 'dlq',
        reason: outcome.kind === 'ok' ? '' : outcome.reason,
      });
    }
  }

  private deadLetter(message: KafkaMessage, { result, index, raw }: MessageEvent, reason: string): DeadLetter {
    const value =
      index === null ? message.value : Buffer.from(JSON.stringify(result.kind === 'ok' ? result.value : raw));
    return { message, reason, index, value };
  }

  private runSteps(sub: SubBatch, decoded: StepResult<EventEnvelope>, seenAt: SeenId): StepResult<null> {
    if (decoded.kind !== 'ok') return decoded;
    const fresh = importLineStep(sub.lines, decoded.value);
    if (fresh.kind !== 'ok') return fresh;
    const unique = dedupeStep(sub.seen, fresh.value, seenAt);
    if (unique.kind !== 'ok') return unique;
    const located = resolvePracticeStep((id) => this.deps.practices.get(id), unique.value);
    if (located.kind !== 'ok') return located;
    const sessionized = sessionizeStep(sub.visits, located.value);
    if (sessionized.kind !== 'ok') return sessionized;
    sub.maxEventTs = Math.max(sub.maxEventTs, unique.value.ts);
    return aggregateStep(sub.acc, sessionized.value);
  }

  /**
   * Dead letters first, then the atomic insert, then the in-memory state and the Kafka offset. Rows
   * ClickHouse (or the encoder) refuses for good are looked for by halving the offset range: each
   * half is rebuilt from the committed state and inserted on its own with its own ledger row, so the
   * ledger stays monotonic and the overlays commit only what was inserted. A single message that is
   * still refused is dead-lettered whole.
   */
  private async flush(payload: EachBatchPayload, built: SubBatch, ctx: BatchContext): Promise<void> {
    const sub = built.threw ? this.build(built.items, ctx) : built;
    const first = BigInt(sub.items[0]!.message.offset);
    const last = BigInt(sub.items.at(-1)!.message.offset);
    await this.produceOnce(payload, sub.deadLetters, ctx);
    const refused = await this.insertRows(payload, sub, first, last, '');
    if (refused === null) return this.applied(payload, sub, ctx, first, last);
    if (sub.items.length === 1) return this.deadLetterWhole(payload, sub, ctx, refused);
    this.deps.logger.warn(
      {
        topic: payload.batch.topic,
        partition: payload.batch.partition,
        first: String(first),
        last: String(last),
        reason: refused,
      },
      'insert refused; bisecting',
    );
    const half = Math.ceil(sub.items.length / 2);
    await this.flush(payload, this.build(sub.items.slice(0, half), ctx), ctx);
    // Built only now: the second half continues the visits the first half committed.
    await this.flush(payload, this.build(sub.items.slice(half), ctx), ctx);
  }

  /** Produces the dead letters not produced yet for this Kafka batch (a bisected range rebuilds them). */
  private async produceOnce(payload: EachBatchPayload, letters: DeadLetter[], ctx: BatchContext): Promise<void> {
    const fresh = letters.filter((l) => !ctx.produced.has(eventKey(l.message, l.index)));
    for (const chunk of bySize(fresh, DEAD_LETTER_SEND_BYTES)) {
      await this.retrying(payload, 'produce dead letters', () =>
        this.produceDeadLetters(payload.batch.topic, payload.batch.partition, chunk),
      );
      for (const l of chunk) ctx.produced.add(eventKey(l.message, l.index));
      this.deps.metrics.deadLetters.inc(chunk.length);
    }
  }

  /**
   * Inserts the rows and the ledger row for [first, last], retrying transient failures; returns null
   * once applied, or why the rows are refused for good. `mustApply`: refusals are retried too.
   */
  private async insertRows(
    payload: EachBatchPayload,
    sub: SubBatch | null,
    first: bigint,
    last: bigint,
    suffix: string,
    mustApply = false,
  ): Promise<string | null> {
    const { batch } = payload;
    const { config, metrics } = this.deps;
    const batchId = `${config.groupId}.${batch.topic}.${batch.partition}.${first}-${last}${suffix}`;
    const ledger = {
      consumerGroup: config.groupId,
      topic: batch.topic,
      partition: batch.partition,
      nextOffset: last + 1n,
      batchId,
    };
    // Built again for every attempt: a day whose visitor states closed while ClickHouse was away
    // must go in as late states, never into a partition the sealer has already passed.
    const build = () => {
      const now = this.now();
      return buildIngestBlock({
        daily: sub?.acc.dailyRows(now) ?? [],
        hourly: sub?.acc.hourlyRows(now) ?? [],
        lines: sub?.lines.rows() ?? [],
        ledger,
      });
    };
    let block: Buffer;
    try {
      block = build();
    } catch (error) {
      return classifyInsertError(error).reason;
    }
    // Still a member? A rebalance here abandons the batch before anything is written.
    await payload.heartbeat();
    let attempt = 0;
    return this.retrying(payload, 'insert rollups', async () => {
      // A failed attempt may still have been applied (the response was lost): the ledger says.
      if (attempt++ > 0) {
        if ((await readLedgerOffset(this.deps.db, config.groupId, batch.topic, batch.partition)) > last) return null;
        block = build();
      }
      const stop = metrics.insertSeconds.startTimer();
      try {
        // First: a retry writes them again, which changes no count; after the rollups, a crash would lose them.
        await this.insertPartner(config.clickhouse, sub?.acc.partner.rows(this.now()) ?? [], `${batchId}.partner`);
        await this.insert(config.clickhouse, block, batchId);
        return null;
      } catch (error) {
        metrics.insertFailures.inc();
        const failure = classifyInsertError(error);
        if (failure.kind !== 'permanent' || mustApply) throw error;
        // Views apply one after another: if the ledger's ran, the block was applied and must not be split.
        return (await readLedgerOffset(this.deps.db, config.groupId, batch.topic, batch.partition)) > last
          ? null
          : failure.reason;
      } finally {
        stop();
      }
    });
  }

  /**
   * The last resort for a message whose rows are refused on their own: every event of it that would
   * have counted becomes a dead letter with the refusal (a batch message's events one by one), then a
   * block with only its ledger row moves the ledger past it. Nothing of it reaches the overlays.
   */
  private async deadLetterWhole(
    payload: EachBatchPayload,
    sub: SubBatch,
    ctx: BatchContext,
    refused: string,
  ): Promise<void> {
    const { message } = sub.items[0]!;
    const offset = BigInt(message.offset);
    const reason = `insert refused: ${refused}`;
    const letters = sub.outcomes
      .filter((o) => o.kind === 'counted')
      .map((o) => this.deadLetter(message, o.event, reason));
    this.deps.logger.warn(
      {
        topic: payload.batch.topic,
        partition: payload.batch.partition,
        offset: message.offset,
        events: letters.length,
        reason,
      },
      'dead-lettering a message whose rows are refused',
    );
    await this.produceOnce(payload, letters, ctx);
    await this.insertRows(payload, null, offset, offset, '.dead-lettered', true);
    const outcomes = sub.outcomes.map((o) => (o.kind === 'counted' ? { ...o, kind: 'dlq' as const, reason } : o));
    this.advance(payload, ctx.state, outcomes, offset, 1, 1);
    await this.commitAfter(payload, ctx.state, offset);
  }

  private async applied(
    payload: EachBatchPayload,
    sub: SubBatch,
    ctx: BatchContext,
    first: bigint,
    last: bigint,
  ): Promise<void> {
    sub.seen.commit();
    sub.visits.commit();
    sub.lines.commit();
    ctx.state.maxEventTs = Math.max(ctx.state.maxEventTs, sub.maxEventTs);
    const rows = sub.acc.rowCount + 1;
    this.deps.logger.debug(
      {
        topic: payload.batch.topic,
        partition: payload.batch.partition,
        first: String(first),
        last: String(last),
        rows,
      },
      'batch applied',
    );
    this.advance(payload, ctx.state, sub.outcomes, last, sub.items.length, rows);
    await this.commitAfter(payload, ctx.state, last);
  }

  /** After an insert: the ledger offset, and each event's outcome in the metrics (a label per reason kind, not per value). */
  private advance(
    payload: EachBatchPayload,
    state: PartitionState,
    outcomes: Outcome[],
    last: bigint,
    messages: number,
    rows: number,
  ): void {
    const { metrics } = this.deps;
    state.ledgerNext = last + 1n;
    for (const o of outcomes) metrics.events.inc({ outcome: o.kind, reason: o.reason.split(':')[0]! });
    metrics.batchMessages.observe(messages);
    metrics.batchRows.observe(rows);
    payload.resolveOffset(String(last));
  }

  private async commitAfter(payload: EachBatchPayload, state: PartitionState, last: bigint): Promise<void> {
    await this.commitHint(payload, payload.batch.topic, payload.batch.partition, last + 1n);
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
      await payload.commitOffsetsIfNecessary({
        topics: [{ topic, partitions: [{ partition, offset: String(next) }] }],
      });
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
          this.deps.logger.warn(
            { err: error, topic, partition: payload.batch.partition, attempt },
            `${what} failed; retrying`,
          );
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

const errorText = (error: unknown): string =>
  (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 300);

/** Consecutive runs of letters of at most `maxBytes` (values and reasons; a larger letter goes alone). */
function bySize(letters: DeadLetter[], maxBytes: number): DeadLetter[][] {
  const chunks: DeadLetter[][] = [];
  let bytes = 0;
  for (const letter of letters) {
    const size = (letter.value?.length ?? 0) + letter.reason.length + 200;
    if (chunks.length === 0 || bytes + size > maxBytes) {
      chunks.push([]);
      bytes = 0;
    }
    chunks.at(-1)!.push(letter);
    bytes += size;
  }
  return chunks;
}
