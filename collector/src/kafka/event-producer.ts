import { eventBatchJson, eventJson, type EventEnvelope, type Logger } from '@confidant/shared';
import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import type { Metrics } from '../metrics.ts';
import { SpoolFullError, type DiskSpool, type SpoolRecord } from './disk-spool.ts';

/** Where batches go; Kafka in production, a fake in unit tests to simulate outages. */
export interface EventTransport {
  connect(): Promise<void>;
  send(records: SpoolRecord[]): Promise<void>;
  close(): Promise<void>;
}

/** Idempotent kafkajs producer, acks from all in-sync replicas. */
export class KafkaTransport implements EventTransport {
  private readonly producer: Producer;

  constructor(
    kafka: Kafka,
    private readonly topic: string,
  ) {
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
    });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  async send(records: SpoolRecord[]): Promise<void> {
    await this.producer.send({ topic: this.topic, acks: -1, messages: records.map((r) => ({ key: r.k, value: r.v })) });
  }

  close(): Promise<void> {
    return this.producer.disconnect();
  }
}

export { SpoolFullError };

/** A value no broker may take: it failed the envelope check, or is too large. Never spooled; retrying cannot help. */
export class InvalidRecordError extends Error {
  override name = 'InvalidRecordError';
}

type Waiter = { record: SpoolRecord; resolve: () => void; reject: (e: unknown) => void };

/**
 * Bytes of record values in one send. Brokers refuse a partition's record batch above
 * `message.max.bytes` (1 MiB by default), and a send may put all its records on one partition.
 */
export const MAX_SEND_BYTES = 900 * 1024;

/** Consecutive groups of at most `maxCount` records and MAX_SEND_BYTES of values (a larger record goes alone). */
export function sendGroups(records: readonly SpoolRecord[], maxCount: number): SpoolRecord[][] {
  const groups: SpoolRecord[][] = [];
  let group: SpoolRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = Buffer.byteLength(record.v);
    if (group.length > 0 && (group.length >= maxCount || bytes + size > MAX_SEND_BYTES)) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(record);
    bytes += size;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

export type ProducerOptions = { lingerMs: number; batchSize: number; timeoutMs: number; replayMs: number };

/**
 * What one producer sends: `encode` validates a value and writes its message text (`eventJson`
 * for beacon events, `eventBatchJson` for batches of log events); `topic` labels its metrics.
 */
export type ProducerStream<T> = { topic: 'events' | 'event-batches'; encode: (value: T) => string };

export const BEACON_EVENTS: ProducerStream<EventEnvelope> = { topic: 'events', encode: eventJson };
export const LOG_EVENT_BATCHES: ProducerStream<readonly EventEnvelope[]> = {
  topic: 'event-batches',
  encode: eventBatchJson,
};

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no acknowledgement within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** A producer's children of the shared metrics (label `topic`), bound once: no label lookup per event. */
function producerStats(metrics: Metrics, topic: ProducerStream<unknown>['topic']) {
  return {
    queued: metrics.queued.labels(topic),
    spooled: metrics.spooled.labels(topic),
    replayed: metrics.replayed.labels(topic),
    spoolBytes: metrics.spoolBytes.labels(topic),
    produceLatency: metrics.produceLatency.labels(topic),
  };
}

/**
 * Batches envelopes to Kafka (kafkajs has no linger: flush on size or after lingerMs).
 * `submit` resolves only once Kafka acknowledged the event or it is fsynced in the disk
 * spool. After a failed send the producer goes spool-first: new events append to the
 * spool behind the failed ones, and a replay loop drains the spool oldest first; direct
 * sends resume only when the spool is empty, which keeps events in order.
 */
export class EventProducer<T> {
  private batch: Waiter[] = [];
  private batchBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private replayTimer: NodeJS.Timeout | null = null;
  private replaying: Promise<void> | null = null;
  private healthy = false;
  private closed = false;
  private inflight = new Set<Promise<void>>();
  private readonly stats: ReturnType<typeof producerStats>;

  constructor(
    private readonly transport: EventTransport,
    private readonly spool: DiskSpool,
    private readonly options: ProducerOptions,
    metrics: Metrics,
    private readonly logger: Logger,
    private readonly stream: ProducerStream<T>,
  ) {
    this.stats = producerStats(metrics, stream.topic);
  }

  /** Opens the spool and tries Kafka once; if it is down, events spool until it returns. */
  async start(): Promise<void> {
    await this.spool.open();
    this.stats.spoolBytes.set(this.spool.bytes);
    try {
      await withTimeout(this.transport.connect(), this.options.timeoutMs);
      this.healthy = true;
    } catch (error) {
      this.logger.warn({ err: error }, 'kafka unavailable at start; spooling');
    }
    this.replayTimer = setInterval(() => void this.replay(), this.options.replayMs);
    this.replayTimer.unref();
    // With Kafka away, the timer retries: connecting again at once would double the wait before the first event.
    if (this.healthy) await this.replay();
  }

  /** Kafka reachable and the spool has room. */
  ready(): boolean {
    return this.healthy && !this.closed && this.spool.bytes < this.spool.maxBytes * 0.9;
  }

  /**
   * Resolves when the value is durable (Kafka ack or fsynced spool); rejects with SpoolFullError
   * when it cannot be, and at once for an invalid value or a record no broker would take (neither
   * may reach the spool).
   */
  submit(key: string, value: T): Promise<void> {
    if (this.closed) return Promise.reject(new SpoolFullError('collector is shutting down'));
    let record: SpoolRecord;
    try {
      record = { k: key, v: this.stream.encode(value) };
    } catch (error) {
      return Promise.reject(new InvalidRecordError((error as Error).message));
    }
    const bytes = Buffer.byteLength(record.v);
    if (bytes > MAX_SEND_BYTES)
      return Promise.reject(new InvalidRecordError(`record of ${bytes} bytes exceeds ${MAX_SEND_BYTES}`));
    if (!this.healthy || !this.spool.isEmpty()) return this.toSpool([record]);
    return new Promise((resolve, reject) => {
      if (this.batchBytes + bytes > MAX_SEND_BYTES) this.flush();
      this.batch.push({ record, resolve, reject });
      this.batchBytes += bytes;
      this.stats.queued.set(this.batch.length);
      if (this.batch.length >= this.options.batchSize) this.flush();
      else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.options.lingerMs);
    });
  }

  /** Stops accepting, sends or spools everything pending, stops replay and disconnects. */
  async close(): Promise<void> {
    this.closed = true;
    this.flush();
    await Promise.all(this.inflight);
    if (this.replayTimer) clearInterval(this.replayTimer);
    await this.replaying;
    await this.spool.close();
    await this.transport.close().catch(() => undefined);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const waiters = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    this.stats.queued.set(0);
    if (waiters.length === 0) return;
    const work = this.deliver(waiters);
    this.inflight.add(work);
    void work.finally(() => this.inflight.delete(work));
  }

  private async deliver(waiters: Waiter[]): Promise<void> {
    const records = waiters.map((w) => w.record);
    const end = this.stats.produceLatency.startTimer();
    try {
      await withTimeout(this.transport.send(records), this.options.timeoutMs);
      end();
      waiters.forEach((w) => w.resolve());
      return;
    } catch (error) {
      if (this.healthy) this.logger.warn({ err: error }, 'kafka send failed; spooling until it returns');
      this.healthy = false;
    }
    try {
      await this.toSpool(records);
      waiters.forEach((w) => w.resolve());
    } catch (error) {
      waiters.forEach((w) => w.reject(error));
    }
  }

  private async toSpool(records: SpoolRecord[]): Promise<void> {
    await this.spool.append(records);
    this.stats.spooled.inc(records.length);
    this.stats.spoolBytes.set(this.spool.bytes);
  }

  /** Drains the spool oldest segment first; stops at the first failure and retries on the next tick. */
  private replay(): Promise<void> {
    if (this.replaying) return this.replaying;
    this.replaying = (async () => {
      try {
        for (;;) {
          const segment = await this.spool.oldest();
          if (!segment) break;
          for (const chunk of sendGroups(segment.records, this.options.batchSize)) {
            await withTimeout(this.transport.send(chunk), this.options.timeoutMs);
            this.stats.replayed.inc(chunk.length);
          }
          await this.spool.remove(segment.seq);
          this.stats.spoolBytes.set(this.spool.bytes);
        }
        // An append still on its way to disk (a send just failed) is not replayed yet: not healthy until it is.
        if (!this.spool.isEmpty()) return;
        if (!this.healthy) {
          await withTimeout(this.transport.connect(), this.options.timeoutMs);
          this.logger.info('kafka reachable; sending directly again');
        }
        this.healthy = true;
      } catch (error) {
        this.healthy = false;
        this.logger.debug({ err: error }, 'spool replay deferred');
      } finally {
        this.replaying = null;
      }
    })();
    return this.replaying;
  }
}
