import { ROLLUP_STATES, type VisitorStates } from './rollup-schema.ts';

const DAY_MS = 86_400_000;

/**
 * When the visitor states of a rollup day close (epoch ms, UTC), by the period of the salt that keyed
 * them. Days are the practice's local days and salts UTC periods, so this is the same instant for
 * every time zone: late enough that the day (or month) has ended everywhere (UTC−12 ends it at 12:00
 * UTC the next day) and early enough to be within 48 h of its end everywhere (UTC+14 ends it 14 h
 * before UTC does). From then on the processor writes that day's visitors as counts, not states.
 * `day` is in days since 1970-01-01.
 */
export function visitorStatesCloseAt(
  day: number,
  states: typeof ROLLUP_STATES.daily | typeof ROLLUP_STATES.monthly,
): number {
  if (states === ROLLUP_STATES.daily) return (day + 2) * DAY_MS;
  const d = new Date(day * DAY_MS);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 2);
}

/** The sealer leaves closed states this long, so that no insert built before the close lands after the seal. */
export const SEAL_MARGIN_MS = 3_600_000;
const HOUR_MS = 3_600_000;

/** Where a row of states lives: its `states`, its day, and for late states the hour they were written. */
export type StatesPartition = { states: Exclude<VisitorStates, 0>; day: number; writtenHour: number };

/**
 * When a partition of states closes: its salt period's close, or for late states (which came after
 * that) the end of the hour they were written in. Nothing is written to it afterwards.
 */
export function statesPartitionClosesAt(p: StatesPartition): number {
  if (p.states === ROLLUP_STATES.daily || p.states === ROLLUP_STATES.monthly)
    return visitorStatesCloseAt(p.day, p.states);
  return (p.writtenHour + 1) * HOUR_MS;
}

/**
 * By when the sealer must have replaced a partition's states with counts: what the privacy audit
 * checks. Three hours after the close, which for a salt period is still within 48 h after its end in
 * every time zone.
 */
export const sealDeadline = (p: StatesPartition): number => statesPartitionClosesAt(p) + 3 * SEAL_MARGIN_MS;
