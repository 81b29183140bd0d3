import type { EventEnvelope } from '@confidant/shared';
import type { EventBatchSink } from './import-batches.ts';
import type { ImportLedger } from './import-ledger.ts';
import { persist, type Persistence } from './import-retry.ts';

export type CommitterOptions = {
  practiceId: string;
  importId: string;
  /** Lines the ledger held when the import opened. */
  committedLines: number;
  persistence: Persistence;
  /** Events submitted but not yet durable, beyond which the reader waits (bounds memory whatever the input's size). */
  maxInFlightEvents: number;
  /** A batch the sink refused as invalid: its events one by one, so one bad event costs only itself. */
  isValid: (event: EventEnvelope) => boolean;
  onInvalid: (event: EventEnvelope) => void;
};

type Chunk = { acks: Array<Promise<void>> };

/**
 * Makes an import's chunks durable in order. Batches are submitted as they fill, each retried
 * (`persist`) until the sink takes it; a chunk of lines is committed to the ledger only when all its
 * batches are durable and every earlier chunk is committed, so the ledger never claims a line that
 * could be lost. Reading waits in `room()` while too many events are in flight: a slow broker slows
 * the reader instead of filling memory. The first failure stops all later commits.
 */
export class ChunkCommitter {
  private chunk: Chunk = { acks: [] };
  private chain: Promise<void> = Promise.resolve();
  private inFlight = 0;
  private waiters: Array<() => void> = [];
  private failure: unknown = null;
  committed: number;

  constructor(
    private readonly sink: EventBatchSink,
    private readonly ledger: ImportLedger,
    private readonly options: CommitterOptions,
  ) {
    this.committed = options.committedLines;
  }

  submit(key: string, events: EventEnvelope[]): void {
    this.throwIfFailed();
    this.inFlight += events.length;
    const ack = this.deliver(key, events).finally(() => {
      this.inFlight -= events.length;
      if (this.inFlight <= this.options.maxInFlightEvents) for (const wake of this.waiters.splice(0)) wake();
    });
    ack.catch((error: unknown) => this.fail(error));
    this.chunk.acks.push(ack);
  }

  /** Closes the chunk ending at `lastLine`; it is committed, with `prefixHash`, once durable and in order. */
  endChunk(lastLine: number, prefixHash: string): void {
    const { acks } = this.chunk;
    this.chunk = { acks: [] };
    const { practiceId, importId, persistence } = this.options;
    this.chain = this.chain.then(async () => {
      await Promise.all(acks);
      if (lastLine <= this.committed) return;
      await persist(
        'the import ledger',
        () => this.ledger.commit(practiceId, importId, { lines: lastLine, prefixHash }),
        persistence,
      );
      this.committed = lastLine;
    });
    this.chain.catch((error: unknown) => this.fail(error));
  }

  /** Resolves when the reader may go on: few enough events in flight. Throws once anything failed. */
  async room(): Promise<void> {
    while (this.inFlight > this.options.maxInFlightEvents) {
      this.throwIfFailed();
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    this.throwIfFailed();
  }

  /** Waits for everything submitted and every closed chunk's commit; throws the first failure. */
  async settle(): Promise<void> {
    await this.chain.catch(() => undefined);
    await Promise.allSettled(this.chunk.acks);
    this.throwIfFailed();
  }

  private async deliver(key: string, events: EventEnvelope[]): Promise<void> {
    const { persistence } = this.options;
    try {
      await persist('Kafka (or room in the spool)', () => this.sink.submit(key, events), persistence);
    } catch (error) {
      if (!persistence.isPermanent?.(error)) throw error;
      const valid: EventEnvelope[] = [];
      const invalid: EventEnvelope[] = [];
      for (const e of events) (this.options.isValid(e) ? valid : invalid).push(e);
      // Refused with every event valid: not an event's fault, so the import fails.
      if (invalid.length === 0) throw error;
      invalid.forEach(this.options.onInvalid);
      if (valid.length > 0)
        await persist('Kafka (or room in the spool)', () => this.sink.submit(key, valid), persistence);
    }
  }

  private fail(error: unknown): void {
    this.failure ??= error;
    for (const wake of this.waiters.splice(0)) wake();
  }

  private throwIfFailed(): void {
    if (this.failure !== null) throw this.failure;
  }
}
