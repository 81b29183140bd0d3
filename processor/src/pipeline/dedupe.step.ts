import { drop, ok, type EventEnvelope, type StepResult } from '@confidant/shared';
import type { Overlay } from '../session/bounded-map.ts';

export type SeenId = { lastAt: number };

/**
 * A retried producer can write the same envelope twice; its random `id` identifies the repeat.
 * Ids are remembered by processing time (`seenAt`, shared by the ids of one batch), since a
 * replay's duplicates arrive close together.
 */
export function dedupeStep(seen: Overlay<SeenId>, event: EventEnvelope, seenAt: SeenId): StepResult<EventEnvelope> {
  if (seen.get(event.id)) return drop('duplicate-event');
  seen.set(event.id, seenAt);
  return ok(event);
}
