import { describe, expect, it } from 'vitest';
import { compileGoals, PARTNER_ALL_CELL, partnerDayClosesAt, type EventEnvelope } from '@confidant/shared';
import { testEnvelope } from '@confidant/shared/testing';
import { aggregateStep } from '../pipeline/aggregate.step.ts';
import type { PracticeInfo } from '../pipeline/resolve-practice.step.ts';
import { localSlot } from '../session/local-time.ts';
import { rowVisitorValue } from '../session/visitor-hash.ts';
import { partnerRowIdentity } from './partner-days.ts';
import { RollupAccumulator } from './rollup-accumulator.ts';

const DAY_MS = 86_400_000;
// 2024-03-10, a UTC day.
const DAY = Date.UTC(2024, 2, 10) / DAY_MS;
const at = (hour: number) => Date.UTC(2024, 2, 10, hour);
const practice = (timeZone: string, cookieMode = false): PracticeInfo => ({
  id: 'p',
  timeZone,
  domains: ['p.example'],
  goals: compileGoals([]),
  cookieMode,
});

/** Feeds events as the pipeline does, each under the practice (and time zone) it had when it came. */
function aggregate(events: Array<{ event: EventEnvelope; practice: PracticeInfo }>): RollupAccumulator {
  const acc = new RollupAccumulator();
  for (const { event, practice: p } of events)
    aggregateStep(acc, { event, practice: p, slot: localSlot(event.ts, p.timeZone), effect: { kind: 'none' } });
  return acc;
}

const visitor = 'ab'.repeat(16);
const pageview = (ts: number, over: Partial<EventEnvelope> = {}) =>
  testEnvelope({ ts, visitor, country: 'IS', ...over });

describe('partner visitor-days', () => {
  it('one visitor-day is one value per cell, even when the time zone changes mid-day across three local days', () => {
    // 01:00 UTC in Honolulu (9 March), 12:00 UTC in London (10 March), 23:00 UTC in Auckland (11 March).
    const acc = aggregate([
      { event: pageview(at(1)), practice: practice('Pacific/Honolulu') },
      { event: pageview(at(12), { id: 'b'.repeat(32) }), practice: practice('Europe/London') },
      { event: pageview(at(23), { id: 'c'.repeat(32) }), practice: practice('Pacific/Auckland') },
    ]);
    // The practice's own rollups see three local days (each a visitor-day there)...
    const localDays = new Set(
      acc
        .dailyRows(at(23))
        .filter((r) => r.dim === 'total')
        .map((r) => r.day),
    );
    expect(localDays.size).toBe(3);
    // ...the partner rows one UTC day: one value in `all`, one in the one country.
    const rows = acc.partner.rows(at(23));
    expect(rows).toHaveLength(2);
    for (const cell of [PARTNER_ALL_CELL, 'IS'])
      expect(rows.find((r) => r.cell === cell)).toMatchObject({
        day: DAY,
        visitorHashes: [rowVisitorValue(visitor, partnerRowIdentity('p', 'snippet', DAY, cell))],
        sealed: false,
      });
  });

  it('a cookie counts in `all` only; count-only events count nowhere', () => {
    const acc = aggregate([
      { event: pageview(at(9), { visitorPeriod: 'month' }), practice: practice('UTC', true) },
      {
        event: testEnvelope({ ts: at(10), countOnly: true, page: 'oncology', id: 'd'.repeat(32) }),
        practice: practice('UTC'),
      },
    ]);
    expect(acc.partner.rows(at(10)).map((r) => r.cell)).toEqual([PARTNER_ALL_CELL]);
  });

  it('a day whose partner states have closed gets no rows: late events are left out of releases', () => {
    const acc = aggregate([{ event: pageview(at(9)), practice: practice('UTC') }]);
    expect(acc.partner.rows(partnerDayClosesAt(DAY) - 1)).toHaveLength(2);
    expect(acc.partner.rows(partnerDayClosesAt(DAY))).toEqual([]);
  });
});
