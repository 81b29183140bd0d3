import {
  decodeEvent,
  decodeEventBatch,
  dlq,
  ok,
  type EnvelopeWindowOptions,
  type EventEnvelope,
  type StepResult,
} from '@confidant/shared';

/** Parses and validates the envelope; anything else goes to the dead-letter topic with the reason. */
export function decodeStep(value: Buffer | null, window: EnvelopeWindowOptions = {}): StepResult<EventEnvelope> {
  const decoded = decodeEvent(value, window);
  return decoded.ok ? ok(decoded.event) : dlq(decoded.reason);
}

/**
 * One event of a Kafka message. `index` is its place in a batch message (null for a single-event
 * message, or for a batch that could not be read at all): a dead letter then carries `raw`, that
 * event alone, instead of the whole message.
 */
export type MessageEvent = { result: StepResult<EventEnvelope>; index: number | null; raw: unknown };

/** The events of a message of the `events` topic: exactly one. */
export function decodeEventMessage(value: Buffer | null, window: EnvelopeWindowOptions = {}): MessageEvent[] {
  return [{ result: decodeStep(value, window), index: null, raw: null }];
}

/** The events of a message of the `event-batches` topic; each is validated on its own, so one bad event costs only itself. */
export function decodeBatchMessage(value: Buffer | null, window: EnvelopeWindowOptions = {}): MessageEvent[] {
  const decoded = decodeEventBatch(value, window);
  if (!decoded.ok) return [{ result: dlq(decoded.reason), index: null, raw: null }];
  return decoded.items.map((item, index) =>
    item.ok ? { result: ok(item.event), index, raw: null } : { result: dlq(item.reason), index, raw: item.raw },
  );
}
