import { dlq, ok, type EventEnvelope, type GoalMatcher, type StepResult } from '@confidant/shared';
import { localSlot, type LocalSlot } from '../session/local-time.ts';

/** What the processor needs from the practice registry. */
export type PracticeInfo = {
  id: string;
  timeZone: string;
  domains: readonly string[];
  cookieMode: boolean;
  /** Property key → the values declared for it (any event): these are counted at once, others held as free text. */
  declaredPropValues?: ReadonlyMap<string, ReadonlySet<string>>;
  goals: GoalMatcher;
};

export type Located = { event: EventEnvelope; practice: PracticeInfo; slot: LocalSlot };

/** ClickHouse `Date` is UInt16 days since 1970-01-01. */
const MAX_DATE_DAY = 65_535;

/**
 * Finds the event's practice and its local day and hour; an unregistered practice is a dead letter,
 * and so is a slot the rollup columns cannot hold (the envelope's ts bounds prevent it, but a
 * practice's unknown time zone yields NaN, which the encoder would refuse for the whole batch).
 */
export function resolvePracticeStep(
  lookup: (id: string) => PracticeInfo | undefined,
  event: EventEnvelope,
): StepResult<Located> {
  const practice = lookup(event.practiceId);
  if (!practice) return dlq('unknown practice');
  const slot = localSlot(event.ts, practice.timeZone);
  if (!(
    Number.isInteger(slot.day) &&
    slot.day >= 0 &&
    slot.day <= MAX_DATE_DAY &&
    Number.isInteger(slot.hour) &&
    slot.hour >= 0 &&
    slot.hour <= 23
  )) {
    return dlq(`local day or hour out of range: ts ${event.ts} in time zone ${practice.timeZone}`);
  }
  return ok({ event, practice, slot });
}
