import { ok, type StepResult } from '@confidant/shared';
import type { Overlay } from '../session/bounded-map.ts';
import { sessionize, type SessionEffect, type Visit } from '../session/sessionizer.ts';
import type { Located } from './resolve-practice.step.ts';

export type Sessionized = Located & { effect: SessionEffect };

/** Count-only pages carry no visitor value and are never linked to one, so they bypass visits entirely. */
export function sessionizeStep(visits: Overlay<Visit>, located: Located): StepResult<Sessionized> {
  const effect: SessionEffect =
    located.event.countOnly || located.event.visitor === undefined
      ? { kind: 'none' }
      : sessionize(visits, located.event, located.slot, located.practice);
  return ok({ ...located, effect });
}
