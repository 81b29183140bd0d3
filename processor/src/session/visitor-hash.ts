import { hash } from 'node:crypto';

/**
 * The value a visitor adds to one rollup row's `uniq` state: 32 bits of SHA-256(visitor key ‖ row
 * identity). The visitor key (the envelope's keyed hash, at least 64 bits, whose salt is destroyed
 * after its period) is the secret, the row identity the input; so one visitor's values in two
 * different rows are unrelated to anyone without the key, and reading or merging the states of two
 * rows cannot tell a shared visitor from two distinct ones (docs/privacy.md).
 */
export function rowVisitorValue(visitorKey: string, rowIdentity: string): number {
  return hash('sha256', `${visitorKey}\u0000${rowIdentity}`, 'buffer').readUInt32LE(0);
}

/**
 * The identity of a daily row. `saltDay` is the row's day when its visitor keys are daily-salt ones:
 * outside UTC one salt day covers parts of two local days, so a cookieless key can come back on the
 * next day, and sealed daily-salt days are summed (a cookieless month is the sum of its days): one
 * value on two days would only link them, and make a range's count change when its days are sealed.
 * It is null for monthly-salt keys, whose month counts a row's unique browsers across its days.
 */
export const dailyRowIdentity = (
  practiceId: string,
  source: string,
  dim: string,
  value: string,
  saltDay: number | null,
): string =>
  saltDay === null
    ? `d\u0000${practiceId}\u0000${source}\u0000${dim}\u0000${value}`
    : `dd\u0000${practiceId}\u0000${source}\u0000${saltDay}\u0000${dim}\u0000${value}`;
/** The identity of an hourly row (with its day: nothing merges an hour's states across days). */
export const hourlyRowIdentity = (practiceId: string, source: string, day: number, hour: number): string =>
  `h\u0000${practiceId}\u0000${source}\u0000${day}\u0000${hour}`;
