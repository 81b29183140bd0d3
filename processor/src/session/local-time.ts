import { TZDate } from '@date-fns/tz';

/** A practice-local calendar day (days since 1970-01-01, as ClickHouse `Date` stores it) and hour. */
export type LocalSlot = { day: number; hour: number };

const DAY_MS = 86_400_000;

/** UTC offsets are whole quarter hours and change only on quarter-hour instants, so a quarter's slot is constant. */
const QUARTER_MS = 900_000;
const slots = new Map<string, LocalSlot>();

/** The practice-local day and hour of an instant. The returned object is shared: do not mutate it. */
export function localSlot(epochMs: number, timeZone: string): LocalSlot {
  const key = `${timeZone}|${Math.floor(epochMs / QUARTER_MS)}`;
  let slot = slots.get(key);
  if (slot === undefined) {
    if (slots.size >= 50_000) slots.clear();
    slot = computeSlot(epochMs, timeZone);
    slots.set(key, slot);
  }
  return slot;
}

function computeSlot(epochMs: number, timeZone: string): LocalSlot {
  const local = new TZDate(epochMs, timeZone);
  return {
    day: Math.round(Date.UTC(local.getFullYear(), local.getMonth(), local.getDate()) / DAY_MS),
    hour: local.getHours(),
  };
}

/** `YYYY-MM-DD` of a day number (for logs and tests). */
export function dayString(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

export function dayNumber(isoDate: string): number {
  return Math.round(Date.parse(`${isoDate}T00:00:00Z`) / DAY_MS);
}
