import { describe, expect, it } from 'vitest';
import { compileGoals, encodeEvent, encodeEventBatch, type EventEnvelope } from '@confidant/shared';
import { RollupAccumulator } from '../aggregate/rollup-accumulator.ts';
import { BoundedMap, Overlay } from '../session/bounded-map.ts';
import { isInternalReferrer, VISIT_IDLE_MS, type Visit } from '../session/sessionizer.ts';
import { hourlyRowIdentity, rowVisitorValue } from '../session/visitor-hash.ts';
import { aggregateStep } from './aggregate.step.ts';
import { decodeBatchMessage, decodeEventMessage, decodeStep } from './decode.step.ts';
import { dedupeStep, type SeenId } from './dedupe.step.ts';
import { resolvePracticeStep, type PracticeInfo } from './resolve-practice.step.ts';
import { sessionizeStep } from './sessionize.step.ts';
import { testEnvelope } from '@confidant/shared/testing';

const practice: PracticeInfo = {
  id: 'p',
  timeZone: 'America/New_York',
  domains: ['clinic.example'],
  cookieMode: false,
  goals: compileGoals([]),
};
// 2024-01-15 14:00 in New York.
const T = Date.UTC(2024, 0, 15, 19, 0);
// The envelope's ts window is relative to the checking clock: these events are checked as if now were T.
const AT_T = { now: T };
const ev = (over: Partial<EventEnvelope> = {}): EventEnvelope => testEnvelope({ ts: T, ...over });

describe('decodeStep', () => {
  it('passes a valid envelope and sends anything else to the dead-letter topic with a reason', () => {
    expect(decodeStep(encodeEvent(ev(), AT_T), AT_T)).toEqual({ kind: 'ok', value: ev() });
    expect(decodeStep(Buffer.from('{'), AT_T)).toEqual({ kind: 'dlq', reason: 'not JSON' });
    expect(decodeStep(null)).toEqual({ kind: 'dlq', reason: 'empty message' });
    expect(decodeStep(Buffer.from(JSON.stringify({ ...ev(), v: 2 })), AT_T)).toEqual({
      kind: 'dlq',
      reason: 'unsupported envelope version 2',
    });
    expect(decodeStep(Buffer.from(JSON.stringify({ ...ev(), country: 'usa' })), AT_T)).toMatchObject({
      kind: 'dlq',
      reason: expect.stringMatching(/^invalid envelope: country/),
    });
  });
});

describe('decoding messages', () => {
  it('reads one event from an events-topic message and each event of a batch on its own', () => {
    expect(decodeEventMessage(encodeEvent(ev(), AT_T), AT_T)).toEqual([
      { result: { kind: 'ok', value: ev() }, index: null, raw: null },
    ]);
    const two = ev({ id: 'b'.repeat(32), page: '/two' });
    expect(decodeBatchMessage(encodeEventBatch([ev(), two], AT_T), AT_T)).toEqual([
      { result: { kind: 'ok', value: ev() }, index: 0, raw: null },
      { result: { kind: 'ok', value: two }, index: 1, raw: null },
    ]);
    const bad = { ...two, country: 'usa' };
    const mixed = decodeBatchMessage(Buffer.from(JSON.stringify({ v: 1, events: [ev(), bad] })), AT_T);
    expect(mixed[0]!.result.kind).toBe('ok');
    expect(mixed[1]).toEqual({
      result: { kind: 'dlq', reason: expect.stringMatching(/^invalid envelope: country/) },
      index: 1,
      raw: bad,
    });
  });

  it('dead-letters a batch message that is no batch as a whole', () => {
    const whole = (value: string | null) => decodeBatchMessage(value === null ? null : Buffer.from(value));
    expect(whole('{')).toEqual([{ result: { kind: 'dlq', reason: 'not JSON' }, index: null, raw: null }]);
    expect(whole(null)[0]!.result).toEqual({ kind: 'dlq', reason: 'empty message' });
    expect(whole(JSON.stringify({ v: 2, events: [ev()] }))[0]!.result).toEqual({
      kind: 'dlq',
      reason: 'unsupported batch version 2',
    });
    expect(whole(JSON.stringify({ v: 1, events: [] }))[0]!.result).toMatchObject({
      kind: 'dlq',
      reason: expect.stringMatching(/^invalid batch/),
    });
    // A single event on the batch topic is not a batch.
    expect(whole(JSON.stringify(ev()))[0]!.result).toMatchObject({
      kind: 'dlq',
      reason: expect.stringMatching(/^invalid batch/),
    });
    expect(whole('[1,2]')[0]!.result).toMatchObject({ kind: 'dlq', reason: expect.stringMatching(/^invalid batch/) });
  });

  it('refuses to produce an empty, oversized or invalid batch', () => {
    expect(() => encodeEventBatch([])).toThrow(/1 to 200/);
    expect(() =>
      encodeEventBatch(
        Array.from({ length: 201 }, () => ev()),
        AT_T,
      ),
    ).toThrow(/1 to 200/);
    expect(() => encodeEventBatch([ev(), ev({ visitor: 'nope' })], AT_T)).toThrow(/batch index 1/);
  });
});

describe('dedupeStep', () => {
  it('drops a repeated envelope id, also within an uncommitted batch', () => {
    const base = new BoundedMap<SeenId>(10, 60_000);
    const batch = new Overlay(base);
    expect(dedupeStep(batch, ev(), { lastAt: 1 }).kind).toBe('ok');
    expect(dedupeStep(batch, ev(), { lastAt: 2 })).toEqual({ kind: 'drop', reason: 'duplicate-event' });
    expect(dedupeStep(batch, ev({ id: 'b'.repeat(32) }), { lastAt: 3 }).kind).toBe('ok');
    // Not committed: a retried batch sees the ids as new.
    expect(dedupeStep(new Overlay(base), ev(), { lastAt: 4 }).kind).toBe('ok');
  });
});

describe('resolvePracticeStep', () => {
  it('adds the practice-local day and hour, and dead-letters an unknown practice', () => {
    const lookup = (id: string) => (id === 'p' ? practice : undefined);
    expect(resolvePracticeStep(lookup, ev())).toMatchObject({ kind: 'ok', value: { slot: { day: 19737, hour: 14 } } });
    expect(resolvePracticeStep(lookup, ev({ practiceId: 'q' }))).toEqual({ kind: 'dlq', reason: 'unknown practice' });
    // Unreachable through a decoded envelope (ts is bounded), but a registry's unknown time zone gives no day at all.
    expect(resolvePracticeStep(() => ({ ...practice, timeZone: 'Mars/Olympus_Mons' }), ev())).toMatchObject({
      kind: 'dlq',
      reason: expect.stringMatching(/^local day or hour out of range/),
    });
    expect(resolvePracticeStep(lookup, ev({ ts: Date.UTC(2149, 6, 1) }))).toMatchObject({
      kind: 'dlq',
      reason: expect.stringMatching(/^local day or hour out of range/),
    });
  });
});

function runAll(events: EventEnvelope[], at: PracticeInfo = practice) {
  const acc = new RollupAccumulator();
  const visits = new Overlay(new BoundedMap<Visit>(100, 2 * VISIT_IDLE_MS));
  for (const e of events) {
    const located = resolvePracticeStep(() => at, e);
    if (located.kind !== 'ok') throw new Error('unresolved');
    const sessionized = sessionizeStep(visits, located.value);
    if (sessionized.kind !== 'ok') throw new Error('unsessionized');
    expect(aggregateStep(acc, sessionized.value)).toEqual({ kind: 'ok', value: null });
  }
  const rows = Object.fromEntries(
    acc
      .dailyRows(T)
      .map((r) => [
        `${r.dim}=${r.value}`,
        [r.pageviews, r.visits, r.bounces, r.engagedMs, r.events, r.visitorHashes.length],
      ]),
  );
  return { rows, hourly: acc.hourlyRows(T), daily: acc.dailyRows(T) };
}

describe('sessionize + aggregate', () => {
  it("puts a cookie-mode practice's visitors, with a cookie or without, in the states of its month", () => {
    const { daily, hourly } = runAll(
      [
        ev({ visitorPeriod: 'month' }),
        ev({ id: 'b'.repeat(32), visitor: 'cd'.repeat(16), ts: T + 60_000 }),
        ev({ id: 'c'.repeat(32), visitor: 'cd'.repeat(16), ts: T + 86_400_000 }),
      ],
      { ...practice, cookieMode: true },
    );
    expect(new Set([...daily, ...hourly].map((r) => r.states))).toEqual(new Set([2]));
    // The visitor without a cookie has a daily key: their values differ from one day to the next.
    const valuesOn = (day: number) =>
      daily.filter((r) => r.dim === 'page' && r.value === '/' && r.day === day).flatMap((r) => r.visitorHashes);
    expect(valuesOn(19737)).toHaveLength(2);
    expect(valuesOn(19738)).toHaveLength(1);
    expect(valuesOn(19737)).not.toContain(valuesOn(19738)[0]);
    // Cookieless practices keep their states by the day.
    expect(new Set(runAll([ev()]).daily.map((r) => r.states))).toEqual(new Set([1]));
  });

  it('counts a visit once and corrects exit and bounce with signed deltas', () => {
    const { rows, hourly } = runAll([
      ev({ referrerDomain: 'google.com', utmSource: 'news' }),
      ev({ id: 'b'.repeat(32), ts: T + 60_000, page: '/team' }),
      ev({ id: 'c'.repeat(32), ts: T + 120_000, type: 'engagement', page: '/team', engagedMs: 4000 }),
    ]);
    expect(rows['total=']).toEqual([2, 1, 0, 4000, 0, 1]);
    expect(rows['entry=/']).toEqual([0, 1, 0, 0, 0, 0]);
    expect(rows['exit=/team']).toEqual([0, 1, 0, 0, 0, 0]);
    // exit=/ netted to zero inside the batch and is left out.
    expect(rows['exit=/']).toBeUndefined();
    expect(rows['referrer=google.com']).toEqual([0, 1, 0, 0, 0, 1]);
    expect(rows['utm_source=news']).toEqual([0, 1, 0, 0, 0, 1]);
    expect(rows['page=/team']).toEqual([1, 0, 0, 4000, 0, 1]);
    expect(hourly).toEqual([
      {
        practiceId: 'p',
        day: 19737,
        hour: 14,
        source: 'snippet',
        pageviews: 2,
        visits: 1,
        bounces: 0,
        engagedMs: 4000,
        states: 1,
        writtenHour: 0,
        visitorCount: 0,
        visitorHashes: [rowVisitorValue('ab'.repeat(16), hourlyRowIdentity('p', 'snippet', 19737, 14))],
      },
    ]);
  });

  it('treats a self-referral as direct and counts outbound clicks, downloads and events', () => {
    const { rows } = runAll([
      ev({ referrerDomain: 'www.clinic.example' }),
      ev({ id: 'b'.repeat(32), type: 'outbound', target: 'maps.example.org' }),
      ev({ id: 'c'.repeat(32), type: 'download', target: '/form.pdf' }),
      ev({ id: 'd'.repeat(32), type: 'event', name: 'call' }),
    ]);
    expect(rows['referrer=(direct)']).toEqual([0, 1, 0, 0, 0, 1]);
    expect(rows['exit_domain=maps.example.org']).toEqual([0, 0, 0, 0, 1, 0]);
    expect(rows['download=/form.pdf']).toEqual([0, 0, 0, 0, 1, 0]);
    expect(rows['event=call']).toEqual([0, 0, 0, 0, 1, 1]);
    expect(rows['total=']).toEqual([1, 1, 1, 0, 3, 1]);
  });

  it('counts count-only pages without visits or visitors', () => {
    const { rows, hourly } = runAll([
      ev({ page: 'patient-portal', countOnly: true }),
      ev({ id: 'b'.repeat(32), page: 'patient-portal', countOnly: true }),
    ]);
    expect(rows).toEqual({
      'total=': [2, 0, 0, 0, 0, 0],
      'page=patient-portal': [2, 0, 0, 0, 0, 0],
      'page_class=patient-portal': [2, 0, 0, 0, 0, 0],
    });
    expect(hourly[0]!.visitorHashes).toEqual([]);
  });

  it('counts a 404 as a page view and under notfound', () => {
    const { rows } = runAll([ev({ type: 'notfound', page: '/old' })]);
    expect(rows['notfound=/old']).toEqual([1, 0, 0, 0, 0, 0]);
    expect(rows['total=']).toEqual([1, 1, 1, 0, 0, 1]);
  });
});

describe('sessionize + aggregate: built-in signals and properties', () => {
  const id = (n: number) => n.toString(16).padStart(32, '0');

  it('counts calls, emails, directions and forms by kind, and forms by name, also on count-only pages', () => {
    const { rows } = runAll([
      ev(),
      ev({ id: id(1), type: 'event', action: 'call' }),
      ev({ id: id(2), type: 'event', action: 'call' }),
      ev({ id: id(3), type: 'event', action: 'directions' }),
      ev({ id: id(4), type: 'event', action: 'form', form: 'contact' }),
      ev({ id: id(6), type: 'event', action: 'form', form: '/contact' }),
      ev({ id: id(5), type: 'event', action: 'form', form: 'appointments', page: 'appointments', countOnly: true }),
    ]);
    expect(rows['action=call']).toEqual([0, 0, 0, 0, 2, 1]);
    expect(rows['action=directions']).toEqual([0, 0, 0, 0, 1, 1]);
    expect(rows['action=form']).toEqual([0, 0, 0, 0, 3, 1]);
    // A declared name is free text, held with its visitors; a form counted by its page (a scrubbed path) is not.
    expect(rows['form=contact']).toEqual([0, 0, 0, 0, 1, 1]);
    expect(rows['form=/contact']).toEqual([0, 0, 0, 0, 1, 0]);
    expect(rows['form=appointments']).toEqual([0, 0, 0, 0, 1, 0]);
    expect(rows['total=']).toEqual([1, 1, 1, 0, 6, 1]);
    // A built-in event is not a custom one.
    expect(Object.keys(rows).filter((k) => k.startsWith('event='))).toEqual([]);
  });

  it('counts each page view once at its deepest scroll bucket, also when its last engagement comes after the next view', () => {
    const { rows } = runAll([
      ev(),
      ev({ id: id(1), type: 'engagement', engagedMs: 1000, scroll: 25 }),
      ev({ id: id(2), type: 'engagement', engagedMs: 1000, scroll: 75 }),
      // A shallower report changes nothing.
      ev({ id: id(3), type: 'engagement', engagedMs: 1000, scroll: 50 }),
      ev({ id: id(4), page: '/team', ts: T + 1 }),
      // The last engagement of the first view of / arrives after /team's view.
      ev({ id: id(5), type: 'engagement', engagedMs: 1000, scroll: 100, ts: T + 2 }),
      ev({ id: id(6), type: 'engagement', engagedMs: 1000, page: '/team', scroll: 50, ts: T + 3 }),
      // A second view of / is a new page view.
      ev({ id: id(7), ts: T + 4 }),
      ev({ id: id(8), type: 'engagement', engagedMs: 1000, scroll: 0, ts: T + 5 }),
    ]);
    expect(rows['scroll=100']).toEqual([1, 0, 0, 0, 0, 0]);
    expect(rows['scroll=50']).toEqual([1, 0, 0, 0, 0, 0]);
    expect(rows['scroll=0']).toEqual([1, 0, 0, 0, 0, 0]);
    // 25 and 75 were counted and then moved deeper: they net to zero and are left out.
    expect(rows['scroll=25']).toBeUndefined();
    expect(rows['scroll=75']).toBeUndefined();
    expect(rows['scroll_page=/#100']).toEqual([1, 0, 0, 0, 0, 0]);
    expect(rows['scroll_page=/#0']).toEqual([1, 0, 0, 0, 0, 0]);
    expect(rows['scroll_page=/team#50']).toEqual([1, 0, 0, 0, 0, 0]);
  });

  it('counts screen classes with visits and page views, and utm_term and utm_content with visits', () => {
    const { rows } = runAll([
      ev({ screen: 'mobile', utmTerm: 'knee-pain', utmContent: 'banner' }),
      ev({ id: id(1), screen: 'mobile', page: '/team' }),
    ]);
    expect(rows['screen=mobile']).toEqual([2, 1, 0, 0, 0, 1]);
    expect(rows['utm_term=knee-pain']).toEqual([0, 1, 0, 0, 0, 1]);
    expect(rows['utm_content=banner']).toEqual([0, 1, 0, 0, 0, 1]);
  });

  it('counts declared property values at once and holds other values with their visitors', () => {
    const { rows, daily } = runAll(
      [
        ev(),
        ev({ id: id(1), type: 'event', name: 'Signup', props: { plan: 'basic', source_page: 'spring' } }),
        ev({ id: id(2), type: 'event', name: 'Signup', props: { plan: 'premium' } }),
      ],
      { ...practice, declaredPropValues: new Map([['plan', new Set(['basic'])]]) },
    );
    expect(rows['prop:plan=basic']).toEqual([0, 0, 0, 0, 1, 0]);
    expect(rows['prop:plan=premium']).toEqual([0, 0, 0, 0, 1, 1]);
    expect(rows['prop:source_page=spring']).toEqual([0, 0, 0, 0, 1, 1]);
    expect(daily.find((r) => r.dim === 'prop:plan' && r.value === 'premium')).toMatchObject({ states: 1 });
  });
});

describe('channels and goals', () => {
  const withGoals: PracticeInfo = {
    ...practice,
    goals: compileGoals([
      { id: 'contact', name: 'Contact sent', kind: 'page', pattern: '/contact/thanks' },
      { id: 'booking', name: 'Booking pages', kind: 'page-class', pageClass: 'appointments' },
      { id: 'new-patient', name: 'New patient', kind: 'event', event: 'Booked', prop: { key: 'plan', value: 'new' } },
    ]),
  };
  const other = { visitor: 'cd'.repeat(16) };

  it('gives each visit the channel of its entry, with bounces corrected as the visit goes on', () => {
    const { rows } = runAll([
      ev({ referrerDomain: 'google.com', paid: true }),
      ev({ id: 'b'.repeat(32), ts: T + 60_000, page: '/team', referrerDomain: 'clinic.example' }),
      ev({ ...other, id: 'c'.repeat(32), referrerDomain: 'chatgpt.com' }),
    ]);
    expect(rows['channel=Paid Search']).toEqual([0, 1, 0, 0, 0, 1]);
    expect(rows['channel=AI assistants']).toEqual([0, 1, 1, 0, 0, 1]);
  });

  it('counts conversions per event and converting visits once per visit, with breakdowns by the visit', () => {
    const { rows } = runAll(
      [
        ev({ page: '/services', referrerDomain: 'facebook.com', utmCampaign: 'spring', utmSource: 'facebook' }),
        ev({ id: 'b'.repeat(32), ts: T + 60_000, page: '/contact/thanks' }),
        ev({ id: 'c'.repeat(32), ts: T + 120_000, page: '/contact/thanks' }),
        ev({ id: 'd'.repeat(32), ts: T + 180_000, type: 'event', name: 'Booked', props: { plan: 'new' } }),
        ev({ id: 'e'.repeat(32), ts: T + 200_000, type: 'event', name: 'Booked', props: { plan: 'follow-up' } }),
        // another visitor: enters on the goal page itself, direct
        ev({ ...other, id: 'f'.repeat(32), page: '/contact/thanks', device: 'mobile' }),
        // count-only: a conversion, never a converting visit, no breakdowns
        ev({ id: '1'.repeat(32), page: 'appointments', countOnly: true }),
      ],
      withGoals,
    );
    // [pageviews, visits, bounces, engagedMs, events, visitor values]
    expect(rows['goal=contact']).toEqual([0, 2, 0, 0, 3, 2]);
    expect(rows['goal=new-patient']).toEqual([0, 1, 0, 0, 1, 1]);
    expect(rows['goal=booking']).toEqual([0, 0, 0, 0, 1, 0]);
    expect(rows['goal_entry=contact:/services']).toEqual([0, 1, 0, 0, 2, 0]);
    expect(rows['goal_entry=contact:/contact/thanks']).toEqual([0, 1, 0, 0, 1, 0]);
    expect(rows['goal_channel=contact:Organic Social']).toEqual([0, 1, 0, 0, 2, 0]);
    expect(rows['goal_channel=contact:Direct']).toEqual([0, 1, 0, 0, 1, 0]);
    expect(rows['goal_referrer=contact:facebook.com']).toEqual([0, 1, 0, 0, 2, 1]);
    expect(rows['goal_referrer=contact:(direct)']).toEqual([0, 1, 0, 0, 1, 1]);
    expect(rows['goal_campaign=contact:spring']).toEqual([0, 1, 0, 0, 2, 1]);
    expect(rows['goal_campaign=new-patient:spring']).toEqual([0, 1, 0, 0, 1, 1]);
    expect(rows['goal_device=contact:mobile']).toEqual([0, 1, 0, 0, 1, 0]);
    expect(Object.keys(rows).filter((k) => k.startsWith('goal_') && k.includes('booking'))).toEqual([]);
    // the event goal's property value must match
    expect(rows['goal_channel=new-patient:Organic Social']).toEqual([0, 1, 0, 0, 1, 0]);
  });
});

describe('isInternalReferrer', () => {
  it('matches the practice domains and their subdomains only', () => {
    expect(isInternalReferrer('clinic.example', ['clinic.example'])).toBe(true);
    expect(isInternalReferrer('www.clinic.example', ['clinic.example'])).toBe(true);
    expect(isInternalReferrer('notclinic.example', ['clinic.example'])).toBe(false);
  });
});
