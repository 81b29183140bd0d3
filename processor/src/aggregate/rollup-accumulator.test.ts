import { describe, expect, it } from 'vitest';
import { ROLLUP_STATES } from '@confidant/shared';
import { dailyRowIdentity, hourlyRowIdentity, rowVisitorValue } from '../session/visitor-hash.ts';
import { D, M, NO_METRIC, RollupAccumulator } from './rollup-accumulator.ts';

const key = { practiceId: 'p', day: 19737, source: 'snippet' as const };
/** A moment while day 19737's visitor states are open. */
const OPEN = 19737 * 86_400_000;
const open = { states: 1, writtenHour: 0, visitorCount: 0 };

describe('RollupAccumulator', () => {
  it('sums signed deltas per row and unions its visitors, keyed by the row', () => {
    const acc = new RollupAccumulator();
    const rows = acc.day('p', 'snippet', 19737);
    rows.add(D.exit, '/a', M.visits, 1, null);
    rows.add(D.total, '', M.pageviews, 1, 'v5');
    acc.day('p', 'snippet', 19737).add(D.total, '', M.visits, 1, 'v5');
    rows.add(D.total, '', M.pageviews, 1, 'v5');
    rows.add(D.total, '', M.engagedMs, 300, null);
    rows.add(D.total, '', M.pageviews, 1, 'v4');
    rows.add(D.exit, '/a', M.visits, -1, null);
    rows.addHour(3, M.pageviews, 2, 'v6');
    rows.addHour(4, NO_METRIC, 0, 'v7');
    rows.addHour(5, M.bounces, 0, null);
    expect(acc.rowCount).toBe(5);
    expect(acc.dailyRows(OPEN)).toEqual([
      {
        ...key,
        dim: 'total',
        value: '',
        pageviews: 3,
        visits: 1,
        bounces: 0,
        engagedMs: 300,
        events: 0,
        ...open,
        visitorHashes: ['v5', 'v4'].map((v) =>
          rowVisitorValue(v, dailyRowIdentity('p', 'snippet', 'total', '', 19737)),
        ),
      },
    ]);
    expect(acc.hourlyRows(OPEN)).toEqual([
      {
        ...key,
        hour: 3,
        pageviews: 2,
        visits: 0,
        bounces: 0,
        engagedMs: 0,
        ...open,
        visitorHashes: [rowVisitorValue('v6', hourlyRowIdentity('p', 'snippet', 19737, 3))],
      },
      {
        ...key,
        hour: 4,
        pageviews: 0,
        visits: 0,
        bounces: 0,
        engagedMs: 0,
        ...open,
        visitorHashes: [rowVisitorValue('v7', hourlyRowIdentity('p', 'snippet', 19737, 4))],
      },
    ]);
  });

  it('keeps rows apart by day, source, dimension and value', () => {
    const acc = new RollupAccumulator();
    acc.day('p', 'snippet', 19737).add(D.page, '/a', M.pageviews, 1, null);
    acc.day('p', 'snippet', 19737).add(D.page, '/b', M.pageviews, 1, null);
    acc.day('p', 'logs', 19737).add(D.page, '/a', M.pageviews, 1, null);
    acc.day('p', 'snippet', 19738).add(D.page, '/a', M.pageviews, 1, null);
    acc.day('p', 'snippet', 19737).add(D.referrer, '/a', M.visits, 1, null);
    acc.day('q', 'snippet', 19737).add(D.page, '/a', M.pageviews, 1, null);
    const rows = acc.dailyRows(OPEN);
    expect(rows).toHaveLength(6);
    expect(new Set(rows.map((r) => `${r.practiceId} ${r.source} ${r.day} ${r.dim} ${r.value}`)).size).toBe(6);
  });

  it('gives one daily-salt visitor unrelated values in different rows and on different days', () => {
    const acc = new RollupAccumulator();
    const visitor = 'ab'.repeat(16);
    for (const day of [19737, 19738]) {
      const rows = acc.day('p', 'snippet', day);
      rows.add(D.total, '', M.pageviews, 1, visitor);
      rows.add(D.page, '/a', M.pageviews, 1, visitor);
      rows.add(D.country, 'DE', M.pageviews, 1, visitor);
      rows.addHour(10, M.pageviews, 1, visitor);
    }
    acc.day('q', 'snippet', 19737).add(D.total, '', M.pageviews, 1, visitor);
    const daily = acc.dailyRows(OPEN);
    const valueOf = (practice: string, day: number, dim: string) =>
      daily.find((r) => r.practiceId === practice && r.day === day && r.dim === dim)!.visitorHashes;
    const values = [
      ...['total', 'page', 'country'].map((dim) => valueOf('p', 19737, dim)[0]),
      valueOf('q', 19737, 'total')[0],
      ...acc.hourlyRows(OPEN).map((r) => r.visitorHashes[0]),
    ];
    expect(new Set(values).size).toBe(values.length);
    expect(valueOf('p', 19738, 'page')).not.toEqual(valueOf('p', 19737, 'page'));
    expect(values.every((v) => Number.isInteger(v) && v! >= 0 && v! < 2 ** 32)).toBe(true);
  });

  it("gives a daily-salt visitor unrelated values on a row's days, a monthly-salt one the same", () => {
    // Outside UTC one salt day covers parts of two local days (UTC−5: 19:00–24:00 of one, 00:00–19:00 of
    // the next), so a cookieless key can come back on the next local day; nothing merges a daily-salt
    // row's days (a cookieless month is the sum of its days), so its values must not link them.
    // A cookie-mode month counts a row's unique browsers across its days: there the day is left out.
    const acc = new RollupAccumulator();
    const visitor = 'cd'.repeat(16);
    for (const day of [19737, 19738])
      for (const states of [ROLLUP_STATES.daily, ROLLUP_STATES.monthly])
        acc.day('p', 'snippet', day, states).add(D.page, '/a', M.pageviews, 1, visitor);
    const valueOf = (day: number, states: number) =>
      acc.dailyRows(OPEN).find((r) => r.day === day && r.states === states)!.visitorHashes;
    expect(valueOf(19738, ROLLUP_STATES.daily)).not.toEqual(valueOf(19737, ROLLUP_STATES.daily));
    expect(valueOf(19738, ROLLUP_STATES.monthly)).toEqual(valueOf(19737, ROLLUP_STATES.monthly));
    expect(valueOf(19737, ROLLUP_STATES.daily)).not.toEqual(valueOf(19737, ROLLUP_STATES.monthly));
  });

  it("gives a late day's visitors the values of their salt period's states", () => {
    // Late daily-salt states of a day and its open ones are merged by readers until both are sealed.
    const acc = new RollupAccumulator();
    acc.day('p', 'snippet', 19737).add(D.page, '/a', M.pageviews, 1, 'v1');
    const [open] = acc.dailyRows(OPEN);
    const [late] = acc.dailyRows((19737 + 2) * 86_400_000);
    expect([open!.states, late!.states]).toEqual([ROLLUP_STATES.daily, ROLLUP_STATES.lateDaily]);
    expect(late!.visitorHashes).toEqual(open!.visitorHashes);
  });

  it('writes the visitors of a day whose states closed as late states of the hour written', () => {
    const acc = new RollupAccumulator();
    acc.day('p', 'snippet', 19737, 2).add(D.page, '/a', M.pageviews, 1, 'v1');
    acc.day('p', 'snippet', 19737, 1).add(D.page, '/a', M.pageviews, 1, 'v2');
    const closeOfDay = (19737 + 2) * 86_400_000;
    const closeOfMonth = Date.UTC(2024, 1, 2);
    const at = (now: number) => acc.dailyRows(now).map((r) => [r.states, r.writtenHour, r.visitorHashes.length]);
    expect(at(closeOfDay - 1)).toEqual([
      [2, 0, 1],
      [1, 0, 1],
    ]);
    // The daily salt's states closed, the monthly salt's not yet.
    expect(at(closeOfDay)).toEqual([
      [2, 0, 1],
      [3, closeOfDay / 3_600_000, 1],
    ]);
    expect(at(closeOfMonth + 5_400_000)).toEqual([
      [4, closeOfMonth / 3_600_000 + 1, 1],
      [3, closeOfMonth / 3_600_000 + 1, 1],
    ]);
    expect(acc.hourlyRows(closeOfDay)).toEqual([]);
  });

  it('numbers every dimension and metric once', () => {
    expect(new Set(Object.values(D)).size).toBe(Object.keys(D).length);
    expect(Object.values(M)).toEqual([0, 1, 2, 3, 4]);
  });
});
