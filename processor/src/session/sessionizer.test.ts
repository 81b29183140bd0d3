import { describe, expect, it } from 'vitest';
import type { EventEnvelope } from '@confidant/shared';
import { BoundedMap, Overlay } from './bounded-map.ts';
import { localSlot } from './local-time.ts';
import { sessionize, VISIT_IDLE_MS, type Visit } from './sessionizer.ts';
import { testEnvelope } from '@confidant/shared/testing';

const TZ = 'Europe/Berlin';
const min = 60_000;
// 2024-03-10 23:40 in Berlin (UTC+1) is 22:40Z.
const beforeMidnight = Date.UTC(2024, 2, 10, 22, 40);

const ev = (ts: number, over: Partial<EventEnvelope> = {}): EventEnvelope =>
  testEnvelope({ id: '0'.repeat(32), ts, country: 'DE', ...over });

function run(events: EventEnvelope[]) {
  const visits = new Overlay(new BoundedMap<Visit>(100, 2 * VISIT_IDLE_MS));
  return events.map((e) => sessionize(visits, e, localSlot(e.ts, TZ)));
}

describe('sessionize', () => {
  it('starts a visit on the first page view and moves the exit on the next, removing the bounce', () => {
    const [first, second] = run([ev(beforeMidnight - 60 * min), ev(beforeMidnight - 59 * min, { page: '/b' })]);
    expect(first).toMatchObject({ kind: 'started', visit: { entry: '/', exit: '/', pages: 1, bounceCounted: true } });
    expect(second).toMatchObject({
      kind: 'continued',
      previousExit: '/',
      bounceRemoved: true,
      visit: { entry: '/', exit: '/b', pages: 2, bounceCounted: false },
    });
  });

  it('ends a visit after 30 minutes without activity', () => {
    const t = beforeMidnight - 120 * min;
    const effects = run([ev(t), ev(t + VISIT_IDLE_MS, { page: '/b' }), ev(t + 2 * VISIT_IDLE_MS + 1, { page: '/c' })]);
    expect(effects.map((e) => e.kind)).toEqual(['started', 'continued', 'started']);
  });

  it('ends a visit at the practice-local midnight, not UTC midnight', () => {
    const effects = run([
      ev(beforeMidnight),
      ev(beforeMidnight + 10 * min, { page: '/b' }),
      ev(beforeMidnight + 30 * min, { page: '/c' }),
    ]);
    // 23:40 → 23:50 same Berlin day; 00:10 the next day although only 20 minutes passed.
    expect(effects.map((e) => e.kind)).toEqual(['started', 'continued', 'started']);
    const slots = effects.map((e) => (e.kind === 'none' ? null : e.visit.slot));
    expect(slots[2]!.day).toBe(slots[0]!.day + 1);
    expect(slots[2]!.hour).toBe(0);
  });

  it('removes the bounce once engaged time reaches 10 s, counting the last page', () => {
    const t = beforeMidnight - 60 * min;
    const effects = run([
      ev(t),
      ev(t + 1000, { type: 'engagement', engagedMs: 6000 }),
      ev(t + 2000, { type: 'engagement', engagedMs: 4000 }),
    ]);
    expect(effects[1]).toMatchObject({
      kind: 'continued',
      bounceRemoved: false,
      visit: { engagedMs: 6000, bounceCounted: true },
    });
    expect(effects[2]).toMatchObject({
      kind: 'continued',
      bounceRemoved: true,
      visit: { engagedMs: 10_000, bounceCounted: false, exit: '/' },
    });
  });

  it('does not start a visit from an event that is not a page view', () => {
    expect(run([ev(beforeMidnight, { type: 'engagement', engagedMs: 5000 })])).toEqual([{ kind: 'none' }]);
  });

  it('keeps visits of different sources and visitors apart', () => {
    const effects = run([
      ev(beforeMidnight - 5 * min),
      ev(beforeMidnight - 4 * min, { source: 'logs' }),
      ev(beforeMidnight - 3 * min, { visitor: 'cd'.repeat(16) }),
    ]);
    expect(effects.map((e) => e.kind)).toEqual(['started', 'started', 'started']);
  });

  it('leaves the committed state untouched until the overlay is committed', () => {
    const base = new BoundedMap<Visit>(100, 2 * VISIT_IDLE_MS);
    const attempt = new Overlay(base);
    sessionize(attempt, ev(beforeMidnight), localSlot(beforeMidnight, TZ));
    expect(base.size).toBe(0);
    const retry = new Overlay(base);
    expect(sessionize(retry, ev(beforeMidnight), localSlot(beforeMidnight, TZ)).kind).toBe('started');
    retry.commit();
    expect(base.size).toBe(1);
  });
});

describe('BoundedMap', () => {
  it('keeps an entry at least maxAge after its last write and drops it within twice that', () => {
    const map = new BoundedMap<{ lastAt: number }>(1000, 100);
    map.set('a', { lastAt: 0 });
    map.set('b', { lastAt: 10 });
    expect(map.evictOlderThan(99)).toBe(0);
    expect(map.evictOlderThan(100)).toBe(0); // turn: a and b become the old generation
    map.set('b', { lastAt: 150 }); // rewritten: back in the young generation
    expect([map.get('a'), map.get('b')].map(Boolean)).toEqual([true, true]);
    expect(map.evictOlderThan(199)).toBe(0);
    expect(map.evictOlderThan(200)).toBe(1); // a (last written at 0) goes; b (150) stays
    expect([map.get('a'), map.get('b')].map(Boolean)).toEqual([false, true]);
    expect(map.evictOlderThan(249)).toBe(0); // b is kept at least 100 after its write at 150
    expect(map.evictOlderThan(300)).toBe(1); // and gone by 2 × 100 after it
    expect(map.get('b')).toBeUndefined();
  });

  it('never holds more than maxEntries', () => {
    const map = new BoundedMap<{ lastAt: number }>(4, 1_000_000);
    for (let i = 0; i < 100; i++) {
      map.set(`k${i}`, { lastAt: i });
      expect(map.size).toBeLessThanOrEqual(4);
    }
    expect(map.get('k99')).toBeDefined();
    expect(map.get('k0')).toBeUndefined();
  });
});
