import { decodeEvent, dlq, ok, type EventEnvelope, type StepResult } from '@confidant/shared';

/** Parses and validates the envelope; anything else goes to the dead-letter topic with the reason. */
export function decodeStep(value: Buffer | null): StepResult<EventEnvelope> {
  const decoded = decodeEvent(value);
  return decoded.ok ? ok(decoded.event) : dlq(decoded.reason);
}
