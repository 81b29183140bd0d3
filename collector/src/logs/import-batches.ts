import { EVENT_BATCH_MAX_EVENTS, type EventEnvelope } from '@confidant/shared';

/** Where batches of de-identified log events go (`event-batches` topic); `submit` resolves once the batch is durable. */
export interface EventBatchSink {
  submit(key: string, events: readonly EventEnvelope[]): Promise<void>;
}

/** Events of one Kafka key, in line order, at most EVENT_BATCH_MAX_EVENTS: a batch fills, then goes. */
export class BatchAssembler {
  private readonly open = new Map<string, EventEnvelope[]>();

  /** Adds the event; returns its key's batch when that is full. */
  add(key: string, event: EventEnvelope): EventEnvelope[] | null {
    let events = this.open.get(key);
    if (!events) this.open.set(key, (events = []));
    events.push(event);
    if (events.length < EVENT_BATCH_MAX_EVENTS) return null;
    this.open.delete(key);
    return events;
  }

  /** The batches not yet full (at a chunk end), emptied. */
  drain(): Array<[string, EventEnvelope[]]> {
    const batches = [...this.open];
    this.open.clear();
    return batches;
  }
}
