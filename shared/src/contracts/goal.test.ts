import { describe, expect, it } from 'vitest';
import { compileGoals, goalProblem, goalSchema, type Goal } from './goal.ts';
import { practiceSchema } from './practice.ts';

const practice = practiceSchema.parse({
  id: 'p',
  siteKey: 'site-p',
  name: 'P',
  domains: ['p.example'],
  timezone: 'UTC',
  events: [{ name: 'Booked', props: { plan: ['new', 'follow-up'], source: [] } }],
});
const goals: Goal[] = [
  { id: 'thanks', name: 'Thanks', kind: 'page', pattern: '/contact/thanks' },
  { id: 'services', name: 'Services', kind: 'page', pattern: '/services/*/book' },
  { id: 'booking', name: 'Booking', kind: 'page-class', pageClass: 'appointments' },
  { id: 'booked', name: 'Booked', kind: 'event', event: 'Booked' },
  { id: 'new', name: 'New patient', kind: 'event', event: 'Booked', prop: { key: 'plan', value: 'new' } },
];
const page = (path: string, countOnly = false) => ({ type: 'pageview', page: path, countOnly, name: null });

describe('goal matching', () => {
  const matcher = compileGoals(goals);
  it('matches page patterns on linked page views only, page classes on count-only ones, events by name and value', () => {
    expect(matcher.matches(page('/contact/thanks'))).toEqual(['thanks']);
    expect(matcher.matches(page('/Contact/Thanks/'))).toEqual(['thanks']);
    expect(matcher.matches(page('/services/cardiology/book'))).toEqual(['services']);
    expect(matcher.matches(page('/services/cardiology/x/book'))).toEqual([]);
    expect(matcher.matches({ ...page('/contact/thanks'), type: 'engagement' })).toEqual([]);
    expect(matcher.matches(page('appointments', true))).toEqual(['booking']);
    expect(matcher.matches(page('appointments'))).toEqual([]);
    const event = { type: 'event', page: '/', countOnly: false, name: 'Booked' };
    expect(matcher.matches({ ...event, props: { plan: 'new' } })).toEqual(['booked', 'new']);
    expect(matcher.matches({ ...event, props: { plan: 'follow-up' } })).toEqual(['booked']);
    expect(matcher.matches({ ...event, name: 'Other' })).toEqual([]);
  });
});

describe('goal validation', () => {
  it('refuses goals that could never match what the practice records', () => {
    expect(goals.map((g) => goalProblem(g, practice))).toEqual([null, null, null, null, null]);
    const problem = (goal: unknown) => goalProblem(goalSchema.parse(goal), practice);
    expect(problem({ id: 'x', name: 'x', kind: 'page-class', pageClass: 'login' })).toMatch(/dropped/);
    expect(problem({ id: 'x', name: 'x', kind: 'page-class', pageClass: 'nope' })).toMatch(/no page class/);
    expect(problem({ id: 'x', name: 'x', kind: 'event', event: 'Called' })).toMatch(/not declared/);
    expect(problem({ id: 'x', name: 'x', kind: 'event', event: 'Booked', prop: { key: 'k', value: 'v' } })).toMatch(
      /not kept/,
    );
    expect(
      problem({ id: 'x', name: 'x', kind: 'event', event: 'Booked', prop: { key: 'plan', value: 'gold' } }),
    ).toMatch(/no declared value/);
    expect(problem({ id: 'x', name: 'x', kind: 'event', event: 'Booked', prop: { key: 'source', value: 'ad' } })).toBe(
      null,
    );
    expect(goalSchema.safeParse({ id: 'x', name: 'x', kind: 'page', pattern: '/a/**/b' }).success).toBe(false);
    expect(goalSchema.safeParse({ id: 'a:b', name: 'x', kind: 'page', pattern: '/a' }).success).toBe(false);
  });
});
