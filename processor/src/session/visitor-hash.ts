import { hash } from 'node:crypto';

/**
 * The value a visitor adds to one rollup row's `uniq` state: 32 bits of SHA-256(visitor key ‖ row
 * identity). The visitor key (the envelope's keyed hash, at least 64 bits, whose salt is destroyed
 * after its period) is the secret, the row identity the input; so one visitor's values in two
 * different rows are unrelated to anyone without the key, and reading or merging the states of two
 * rows cannot tell a shared visitor from two distinct ones (docs/privacy.md). The identity leaves
 * the day out of daily rows: a row's days must share a visitor's value for a cookie-mode month's
 * unique count, and the visitor key itself changes with every salt period.
 */
export function rowVisitorValue(visitorKey: string, rowIdentity: string): number {
  return hash('sha256', `${visitorKey}\u0000${rowIdentity}`, 'buffer').readUInt32LE(0);
}

/** The identity of a daily row (without its day) and of an hourly row (with it). */
export const dailyRowIdentity = (practiceId: string, source: string, dim: string, value: string): string =>
  `d\u0000${practiceId}\u0000${source}\u0000${dim}\u0000${value}`;
export const hourlyRowIdentity = (practiceId: string, source: string, day: number, hour: number): string =>
  `h\u0000${practiceId}\u0000${source}\u0000${day}\u0000${hour}`;
