import { describe, expect, it } from 'vitest';
import { ROLLUP_STATES } from './rollup-schema.ts';
import { sealDeadline, statesPartitionClosesAt, visitorStatesCloseAt } from './visitor-seal.ts';

const dayOf = (iso: string) => Date.parse(`${iso}T00:00:00Z`) / 86_400_000;
const HOUR = 3_600_000;

describe('visitor states close', () => {
  it('closes a daily-salt day two UTC midnights later and a monthly-salt month on the 2nd of the next', () => {
    expect(new Date(visitorStatesCloseAt(dayOf('2026-11-30'), ROLLUP_STATES.daily)).toISOString()).toBe(
      '2026-12-02T00:00:00.000Z',
    );
    for (const day of ['2026-12-01', '2026-12-17', '2026-12-31'])
      expect(new Date(visitorStatesCloseAt(dayOf(day), ROLLUP_STATES.monthly)).toISOString()).toBe(
        '2027-01-02T00:00:00.000Z',
      );
  });

  it('closes after the period ended in every time zone and is sealed within 48 h of that end', () => {
    for (const day of ['2026-02-28', '2026-12-31', '2027-06-15']) {
      const d = dayOf(day);
      // Local day d ends between (d + 1) 00:00 UTC − 14 h (UTC+14) and + 12 h (UTC−12).
      const endUtc = (d + 1) * 86_400_000;
      expect(visitorStatesCloseAt(d, ROLLUP_STATES.daily)).toBeGreaterThan(endUtc + 12 * HOUR);
      expect(sealDeadline({ states: ROLLUP_STATES.daily, day: d, writtenHour: 0 })).toBeLessThanOrEqual(
        endUtc - 14 * HOUR + 48 * HOUR,
      );
      const first = new Date(d * 86_400_000);
      const monthEndUtc = Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 1);
      expect(visitorStatesCloseAt(d, ROLLUP_STATES.monthly)).toBeGreaterThan(monthEndUtc + 12 * HOUR);
      expect(sealDeadline({ states: ROLLUP_STATES.monthly, day: d, writtenHour: 0 })).toBeLessThanOrEqual(
        monthEndUtc - 14 * HOUR + 48 * HOUR,
      );
    }
  });

  it('closes late states at the end of the hour they were written in', () => {
    expect(statesPartitionClosesAt({ states: ROLLUP_STATES.lateDaily, day: 1, writtenHour: 480_000 })).toBe(
      480_001 * HOUR,
    );
    expect(sealDeadline({ states: ROLLUP_STATES.lateMonthly, day: 1, writtenHour: 480_000 })).toBe(480_004 * HOUR);
  });
});
