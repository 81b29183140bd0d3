import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeEvent,
  decodeEventBatch,
  encodeEvent,
  encodeEventBatch,
  ENVELOPE_CONSUME_SLACK_MS,
  ENVELOPE_MAX_AGE_MS,
  ENVELOPE_MAX_AHEAD_MS,
  ENVELOPE_MAX_PROPS,
  ENVELOPE_TS_CEILING_MS,
  ENVELOPE_TS_FLOOR_MS,
  envelopeTsWindow,
  type EventEnvelope,
} from './event-envelope.ts';
import { testEnvelope } from '../testing.ts';

const NOW = Date.UTC(2026, 5, 1, 12);
const ev = (over: Partial<EventEnvelope> = {}): EventEnvelope => testEnvelope({ source: 'logs', ts: NOW, ...over });
const raw = (value: unknown) => Buffer.from(JSON.stringify(value));
const produces = (e: EventEnvelope, maxAgeMs?: number) => {
  try {
    encodeEvent(e, { now: NOW, maxAgeMs });
    return true;
  } catch {
    return false;
  }
};
const consumes = (e: unknown, maxAgeMs?: number) => decodeEvent(raw(e), { now: NOW, maxAgeMs }).ok;

describe('ts window', () => {
  const produce = envelopeTsWindow('produce', { now: NOW });
  const consume = envelopeTsWindow('consume', { now: NOW });

  it('is 800 days back to 1 day ahead on produce, a week wider on each side on consume', () => {
    expect(produce).toEqual({ min: NOW - ENVELOPE_MAX_AGE_MS, max: NOW + ENVELOPE_MAX_AHEAD_MS });
    expect(consume).toEqual({
      min: produce.min - ENVELOPE_CONSUME_SLACK_MS,
      max: produce.max + ENVELOPE_CONSUME_SLACK_MS,
    });
    // An event produced at the window's edge is still accepted after Kafka's 48 h retention.
    expect(consume.min).toBeLessThan(produce.min - 2 * 86_400_000);
  });

  it('accepts its edges and refuses one millisecond beyond them, on both sides', () => {
    for (const [side, bounds] of [
      ['produce', produce],
      ['consume', consume],
    ] as const) {
      const accepted = side === 'produce' ? produces : consumes;
      expect(accepted(ev({ ts: bounds.min }))).toBe(true);
      expect(accepted(ev({ ts: bounds.max }))).toBe(true);
      expect(accepted(ev({ ts: bounds.min - 1 }))).toBe(false);
      expect(accepted(ev({ ts: bounds.max + 1 }))).toBe(false);
    }
    expect(decodeEvent(raw(ev({ ts: consume.max + 1 })), { now: NOW })).toEqual({
      ok: false,
      reason: `invalid envelope: ts: ${consume.max + 1} outside [${consume.min}, ${consume.max}]`,
    });
  });

  it('follows a longer retention but never leaves what ClickHouse Date holds in any time zone', () => {
    const old = ev({ ts: Date.UTC(2020, 0, 1) });
    expect(consumes(old)).toBe(false);
    expect(consumes(old, 100 * 365 * 86_400_000)).toBe(true);
    expect(produces(old, 100 * 365 * 86_400_000)).toBe(true);
    expect(consumes(ev({ ts: ENVELOPE_TS_FLOOR_MS }), Number.MAX_SAFE_INTEGER)).toBe(true);
    expect(envelopeTsWindow('consume', { now: NOW, maxAgeMs: Number.MAX_SAFE_INTEGER }).min).toBe(ENVELOPE_TS_FLOOR_MS);
    expect(envelopeTsWindow('consume', { now: ENVELOPE_TS_CEILING_MS }).max).toBe(ENVELOPE_TS_CEILING_MS);
    for (const ts of [
      Date.UTC(1000, 0, 1),
      Date.UTC(9999, 11, 31),
      0,
      -1,
      ENVELOPE_TS_FLOOR_MS - 1,
      ENVELOPE_TS_CEILING_MS + 1,
      8.64e15,
      1e300,
    ]) {
      expect(consumes(ev({ ts }), Number.MAX_SAFE_INTEGER)).toBe(false);
    }
    // Days since 1970 in UTC-12 and UTC+14 at the fixed bounds: within UInt16, and never the empty date 0.
    expect(Math.floor((ENVELOPE_TS_FLOOR_MS - 12 * 3_600_000) / 86_400_000)).toBeGreaterThan(0);
    expect(Math.floor((ENVELOPE_TS_CEILING_MS + 14 * 3_600_000) / 86_400_000)).toBeLessThanOrEqual(65_535);
  });

  it('applies to every event of a batch, on produce and on consume', () => {
    const late = ev({ id: 'b'.repeat(32), ts: NOW + 30 * 86_400_000 });
    expect(() => encodeEventBatch([ev(), late], { now: NOW })).toThrow(/batch index 1.*ts:/);
    const decoded = decodeEventBatch(raw({ v: 1, events: [ev(), late] }), { now: NOW });
    expect(decoded.ok && decoded.items.map((i) => i.ok)).toEqual([true, false]);
  });
});

describe('field bounds', () => {
  it('refuse non-numeric, fractional and huge values, over-long labels and too many properties', () => {
    expect(consumes(ev())).toBe(true);
    for (const bad of [
      { ts: '2026-06-01' },
      { ts: NOW + 0.5 },
      { ts: null },
      { engagedMs: 86_400_001 },
      { engagedMs: -1 },
      { engagedMs: 1e300 },
      { page: 'x'.repeat(201) },
      { browser: 'x'.repeat(201) },
    ]) {
      expect(consumes({ ...ev(), ...bad }), JSON.stringify(bad).slice(0, 40)).toBe(false);
    }
    expect(consumes(ev({ engagedMs: 86_400_000, page: 'x'.repeat(200) }))).toBe(true);
    const props = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));
    expect(consumes(ev({ type: 'event', props: props(ENVELOPE_MAX_PROPS) }))).toBe(true);
    expect(consumes(ev({ type: 'event', props: props(ENVELOPE_MAX_PROPS + 1) }))).toBe(false);
    expect(produces(ev({ type: 'event', props: props(ENVELOPE_MAX_PROPS + 1) }))).toBe(false);
  });

  it('whatever JSON arrives, a decoded event has a ts inside the consume window', () => {
    const { min, max } = envelopeTsWindow('consume', { now: NOW });
    fc.assert(
      fc.property(
        fc.oneof(fc.double(), fc.integer({ min: -1e15, max: 1e16 }), fc.integer({ min, max }), fc.string()),
        fc.jsonValue(),
        (ts, noise) => {
          const decoded = decodeEvent(raw({ ...ev(), ts, noise }), { now: NOW });
          if (decoded.ok) expect(decoded.event.ts >= min && decoded.event.ts <= max).toBe(true);
        },
      ),
    );
  });
});

describe('the visitor of count-only events', () => {
  const linked = ev();
  const countOnly = ev({ countOnly: true, page: 'patient-portal' });

  it('is absent: a count-only event is produced without one, and one with a visitor is refused', () => {
    expect(countOnly).not.toHaveProperty('visitor');
    expect(produces(countOnly)).toBe(true);
    expect(produces({ ...countOnly, visitor: 'ab'.repeat(16) })).toBe(false);
    expect(produces({ ...countOnly, visitorPeriod: 'month' })).toBe(false);
  });

  it('is required on every other event, on both sides', () => {
    const { visitor: _, ...withoutVisitor } = linked;
    expect(produces(withoutVisitor)).toBe(false);
    expect(consumes(withoutVisitor)).toBe(false);
  });

  it('is dropped on consume from a count-only event an older collector wrote with one', () => {
    const decoded = decodeEvent(raw({ ...countOnly, visitor: 'ab'.repeat(16), visitorPeriod: 'month' }), { now: NOW });
    expect(decoded.ok).toBe(true);
    if (decoded.ok) {
      expect(decoded.event).not.toHaveProperty('visitor');
      expect(decoded.event).not.toHaveProperty('visitorPeriod');
    }
  });
});

describe('built-in signals', () => {
  it('are accepted where they mean something, on both sides', () => {
    for (const e of [
      ev({ type: 'event', action: 'call' }),
      ev({ type: 'event', action: 'form', form: '/contact' }),
      ev({ type: 'event', action: 'form', form: 'appointments', countOnly: true }),
      ev({ type: 'engagement', engagedMs: 5, scroll: 75 }),
      ev({ screen: 'tablet', utmTerm: 'knee', utmContent: null }),
    ]) {
      expect(produces(e)).toBe(true);
      expect(consumes(e)).toBe(true);
    }
  });

  it('are refused elsewhere, or out of their bounds, on both sides', () => {
    for (const e of [
      ev({ type: 'pageview', action: 'call' }),
      ev({ type: 'event', name: 'Signup', action: 'email' }),
      ev({ type: 'event', action: 'call', form: '/contact' }),
      ev({ type: 'pageview', scroll: 50 }),
      ev({ type: 'engagement', engagedMs: 5, scroll: 60 }),
      ev({ type: 'engagement', engagedMs: 5, scroll: 125 }),
      ev({ screen: 'watch' as never }),
      ev({ type: 'event', action: 'fax' as never }),
      ev({ utmTerm: 'x'.repeat(201) }),
    ]) {
      expect(produces(e)).toBe(false);
      expect(consumes(e)).toBe(false);
    }
  });
});

describe('paid flag', () => {
  it('is true or absent on produce and consume; an older event without it is read as before', () => {
    expect(produces(ev({ paid: true }))).toBe(true);
    expect(consumes({ ...ev(), paid: true })).toBe(true);
    expect(consumes(ev())).toBe(true);
    expect(consumes({ ...ev(), paid: false })).toBe(false);
    expect(consumes({ ...ev(), paid: 'gclid=abc' })).toBe(false);
  });
});
