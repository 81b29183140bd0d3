import { GoalStore, PracticeStore } from '@confidant/shared';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  adminAuth,
  bearer,
  practice,
  savePractices,
  startReporter,
  type ReporterHarness,
} from '../support/reporter-fixture.ts';

let h: ReporterHarness;

beforeAll(async () => {
  h = await startReporter('goals');
  await savePractices(
    h.control,
    practice('alpha', {
      events: [{ name: 'Booking: completed', props: { plan: ['new-patient', 'follow-up'] } }, { name: 'Call' }],
    }),
  );
});
afterAll(async () => h?.cleanup());

const goals = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path = '', payload?: object) =>
  h.app.inject({ method, url: `/v1/admin/practices/alpha/goals${path}`, headers: adminAuth, payload });

describe('goals admin API', () => {
  test('adds, lists, replaces and removes goals of each kind; a change moves the practice revision', async () => {
    const store = new PracticeStore(h.control);
    const before = await store.revision();
    const page = { id: 'thanks', name: 'Contact sent', kind: 'page', pattern: '/contact/thanks' };
    const pageClass = { id: 'booking', name: 'Booking pages', kind: 'page-class', pageClass: 'appointments' };
    const event = {
      id: 'new-patient',
      name: 'New patient booked',
      kind: 'event',
      event: 'Booking: completed',
      prop: { key: 'plan', value: 'new-patient' },
    };
    for (const goal of [page, pageClass, event]) {
      const res = await goals('POST', '', goal);
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json()).toEqual(goal);
    }
    expect(await store.revision()).not.toBe(before);
    expect((await goals('GET')).json()).toEqual({ practiceId: 'alpha', goals: [pageClass, event, page] });

    const replaced = await goals('PUT', '/thanks', { name: 'Any contact page', kind: 'page', pattern: '/contact/**' });
    expect(replaced.statusCode, replaced.body).toBe(200);
    expect((await new GoalStore(h.control).list('alpha')).find((g) => g.id === 'thanks')).toEqual({
      id: 'thanks',
      name: 'Any contact page',
      kind: 'page',
      pattern: '/contact/**',
    });

    expect((await goals('DELETE', '/thanks')).json()).toEqual({ practiceId: 'alpha', goalId: 'thanks', removed: true });
    expect((await goals('DELETE', '/thanks')).statusCode).toBe(404);
    expect((await goals('GET')).json().goals.map((g: { id: string }) => g.id)).toEqual(['booking', 'new-patient']);
  });

  test.each([
    [{ id: 'x', name: 'x', kind: 'page', pattern: 'contact' }, 400, 'must start with /'],
    [{ id: 'x', name: 'x', kind: 'page', pattern: '/a/**/b' }, 400, '** only as the last segment'],
    [{ id: 'Bad Id', name: 'x', kind: 'page', pattern: '/a' }, 400, 'goal id'],
    [{ id: 'x', name: 'x', kind: 'page-class', pageClass: 'nope' }, 400, 'no page class nope'],
    [{ id: 'x', name: 'x', kind: 'page-class', pageClass: 'login' }, 400, 'dropped, never recorded'],
    [{ id: 'x', name: 'x', kind: 'event', event: 'Signup' }, 400, 'not declared'],
    [{ id: 'x', name: 'x', kind: 'event', event: 'Call', prop: { key: 'kind', value: 'tel' } }, 400, 'not kept'],
    [
      { id: 'x', name: 'x', kind: 'event', event: 'Booking: completed', prop: { key: 'plan', value: 'gold' } },
      400,
      'no declared value gold',
    ],
    [{ id: 'x', name: 'x', kind: 'funnel' }, 400, 'kind'],
    [{ id: 'x', name: 'x', kind: 'page', pattern: '/a', extra: 1 }, 400, 'extra'],
    [{ id: 'booking', name: 'again', kind: 'page', pattern: '/a' }, 409, 'has a goal booking'],
  ])('refuses %j with %i', async (goal, status, message) => {
    const res = await goals('POST', '', goal);
    expect(res.statusCode, res.body).toBe(status);
    expect(res.json().error.message).toContain(message);
  });

  test('an unknown practice or goal is a 404; a PUT may not rename; practice keys may not change goals', async () => {
    const unknown = await h.app.inject({ method: 'GET', url: '/v1/admin/practices/nobody/goals', headers: adminAuth });
    expect(unknown.statusCode).toBe(404);
    expect((await goals('PUT', '/missing', { name: 'x', kind: 'page', pattern: '/a' })).statusCode).toBe(404);
    const renamed = await goals('PUT', '/booking', { id: 'other', name: 'x', kind: 'page', pattern: '/a' });
    expect(renamed.statusCode).toBe(400);
    const key = await h.app.inject({
      method: 'POST',
      url: '/v1/admin/keys',
      headers: adminAuth,
      payload: { role: 'practice', scopeId: 'alpha' },
    });
    const denied = await h.app.inject({
      method: 'POST',
      url: '/v1/admin/practices/alpha/goals',
      headers: bearer(key.json().key),
      payload: { id: 'y', name: 'y', kind: 'page', pattern: '/y' },
    });
    expect(denied.statusCode).toBe(403);
  });

  test('the OpenAPI document has the goal routes', async () => {
    const spec = (await h.app.inject({ url: '/docs/json' })).json();
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining([
        '/v1/admin/practices/{id}/goals',
        '/v1/admin/practices/{id}/goals/{goalId}',
        '/v1/practices/{id}/stats/goals',
        '/v1/practices/{id}/stats/goals/{goalId}',
      ]),
    );
    expect(Object.keys(spec.paths['/v1/admin/practices/{id}/goals/{goalId}'])).toEqual(
      expect.arrayContaining(['put', 'delete']),
    );
  });
});
