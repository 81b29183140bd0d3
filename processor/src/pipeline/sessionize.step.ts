import { ok, type StepResult } from '@confidant/shared';
import type { Overlay } from '../session/bounded-map.ts';
import { sessionize, type SessionEffect, type Visit } from '../session/sessionizer.ts';
import type { Located } from './resolve-practice.step.ts';

export type Sessionized = Located & { effect: SessionEffect };

/** Count-only pages are never linked to a visitor, so they bypass visits entirely. */
export function sessionizeStep(visits: Overlay<Visit>, located: Located): StepResult<Sessionized> {
  const effect: SessionEffect = located.event.countOnly
    ? { kind: 'none' }
    : sessionize(visits, located.event, located.slot);
  return ok({ ...located, effect });
}
