// Declared events and path templates (control-plane migration 0002) through the practice store and the
// admin update, against the real PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectControlDb, migrateControlPlane, PracticeStore, type ControlDb } from '@confidant/shared';
import { updatePractice } from '@confidant/reporter';
import { dropTestControlDatabase, isolatedControlDb } from '../support/control-db.ts';

const config = isolatedControlDb('declarations');
let db: ControlDb;
let store: PracticeStore;

beforeAll(async () => {
  await migrateControlPlane(config);
  db = connectControlDb(config);
  store = new PracticeStore(db);
});
afterAll(async () => {
  await db?.close();
  await dropTestControlDatabase(config);
});

const events = [{ name: 'Booking: started', props: { plan: ['basic', 'plus'], step: [] } }];
const pathTemplates = [{ pattern: '/providers/*', path: '/providers/:slug' }];

describe('practice declarations', () => {
  it('are stored and read back, and a practice without them has none', async () => {
    const saved = await store.save({
      id: 'declared',
      siteKey: 'site-declared',
      name: 'Declared',
      domains: ['declared.example'],
      timezone: 'UTC',
      events,
      pathTemplates,
    });
    expect(saved).toMatchObject({ events, pathTemplates });
    expect(await store.get('declared')).toMatchObject({ events, pathTemplates });
    const plain = await store.save({
      id: 'plain',
      siteKey: 'site-plain',
      name: 'Plain',
      domains: ['plain.example'],
      timezone: 'UTC',
    });
    expect(plain).toMatchObject({ events: [], pathTemplates: [] });
  });

  it('survive an update that does not name them, as do the page classes', async () => {
    const pageClasses = [{ pattern: '/members/**', name: 'members', mode: 'count-only' as const }];
    await updatePractice(store, 'declared', { pageClasses });
    const updated = await updatePractice(store, 'declared', { name: 'Declared Clinic' });
    expect(updated).toMatchObject({ name: 'Declared Clinic', events, pathTemplates, pageClasses });
  });

  it('refuse a pattern the matcher cannot take', async () => {
    await expect(
      updatePractice(store, 'declared', { pathTemplates: [{ pattern: '/a/**/b', path: '/a/:x' }] }),
    ).rejects.toThrow(/only as the last segment/);
  });
});
