import { dlq, ok, type EventEnvelope, type StepResult } from '@confidant/shared';
import { localSlot, type LocalSlot } from '../session/local-time.ts';

/** What the processor needs from the practice registry. */
export type PracticeInfo = { id: string; timeZone: string; domains: readonly string[] };

export type Located = { event: EventEnvelope; practice: PracticeInfo; slot: LocalSlot };

/** Finds the event's practice and its local day and hour; an unregistered practice is a dead letter. */
export function resolvePracticeStep(lookup: (id: string) => PracticeInfo | undefined, event: EventEnvelope): StepResult<Located> {
  const practice = lookup(event.practiceId);
  if (!practice) return dlq('unknown practice');
  return ok({ event, practice, slot: localSlot(event.ts, practice.timeZone) });
}
