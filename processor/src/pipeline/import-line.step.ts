import { drop, importLineOf, ok, type EventEnvelope, type StepResult } from '@confidant/shared';
import type { LineMarks } from '../imports/import-line-ledger.ts';

/**
 * A log event is one line of one import: a line the group applied before (a resumed import, a
 * shipper's re-sent chunk) is dropped, however much later it comes. Beacon events pass.
 */
export function importLineStep(marks: LineMarks, event: EventEnvelope): StepResult<EventEnvelope> {
  const line = importLineOf(event);
  if (line !== null && marks.seenOrMark(line)) return drop('line-already-applied');
  return ok(event);
}
