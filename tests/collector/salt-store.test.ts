import { ClickHouseSaltStore } from '@confidant/collector/components';
import type { Db } from '@confidant/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareNamespace } from '../support/stack.ts';
import { isolatedConfig } from '../support/test-env.ts';

const DAY = Date.UTC(2025, 2, 10, 15);
// The salt database (the store's connection); `main` is the rollups' one, which must never hold a salt.
let db: Db;
let main: Db;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ salts: db, db: main, cleanup } = await prepareNamespace(isolatedConfig('salts')));
});
afterAll(() => cleanup());

const tables = async () =>
  await db.rows<{ name: string; engine: string }>(
    `SELECT name, engine FROM system.tables WHERE database = currentDatabase() AND name LIKE 'collector_salt_%' ORDER BY name`,
  );

describe('ClickHouse salt store', () => {
  it('keeps salts in Memory tables shared by collectors and across restarts', async () => {
    const a = new ClickHouseSaltStore(db, () => DAY);
    const salt = await a.saltFor('daily', DAY);
    const restarted = new ClickHouseSaltStore(db, () => DAY);
    expect(await restarted.saltFor('daily', DAY + 3_600_000)).toEqual(salt);
    expect(await tables()).toEqual([{ name: 'collector_salt_d20250310', engine: 'Memory' }]);
    expect(db.database).toBe(`${main.database}_salts`);
    expect(
      await main.rows(`SELECT name FROM system.tables WHERE database = currentDatabase() AND name LIKE '%salt%'`),
    ).toEqual([]);
  });

  it('never stores nor keeps a salt for a period already past its grace (an old day’s log)', async () => {
    const store = new ClickHouseSaltStore(db, () => DAY);
    const before = await tables();
    const oldDay = Date.UTC(2025, 0, 20, 12);
    const first = await store.saltFor('daily', oldDay);
    const second = await store.saltFor('daily', oldDay);
    // Each call draws anew: the caller (one import) holds its salt; nobody can recompute the keys later.
    expect(first).toHaveLength(32);
    expect(second).not.toEqual(first);
    expect(await tables()).toEqual(before);
    // Within the grace (the hour after its day) a day's salt is still the stored, shared one.
    const inGrace = new ClickHouseSaltStore(db, () => Date.UTC(2025, 2, 11, 0, 30));
    expect(await inGrace.saltFor('daily', DAY)).toEqual(await store.saltFor('daily', DAY));
  });

  it('converges when several collectors create the same period at once', async () => {
    const stores = Array.from({ length: 4 }, () => new ClickHouseSaltStore(db, () => DAY));
    await Promise.all(stores.map((s) => s.saltFor('monthly', DAY)));
    await Promise.all(stores.map((s) => s.maintain()));
    const salts = await Promise.all(stores.map((s) => s.saltFor('monthly', DAY)));
    expect(new Set(salts.map((s) => s.toString('hex'))).size).toBe(1);
  });

  it('re-publishes live salts after the Memory table was lost (ClickHouse restart)', async () => {
    const a = new ClickHouseSaltStore(db, () => DAY);
    const salt = await a.saltFor('daily', DAY);
    await db.command('DROP TABLE collector_salt_d20250310');
    await a.maintain();
    expect(await new ClickHouseSaltStore(db, () => DAY).saltFor('daily', DAY)).toEqual(salt);
  });

  it('deletes a salt irrecoverably within 48 h after its period ends', async () => {
    let now = DAY;
    const store = new ClickHouseSaltStore(db, () => now);
    const old = await store.saltFor('daily', DAY);
    now = Date.UTC(2025, 2, 11, 0, 30);
    expect(await store.purgeExpired()).toEqual([]);
    now = Date.UTC(2025, 2, 12, 23, 59);
    const dropped = await store.purgeExpired();
    expect(dropped).toContain('d20250310');
    expect((await tables()).map((t) => t.name)).not.toContain('collector_salt_d20250310');
    // The month is still live, so its salt stays.
    expect((await tables()).map((t) => t.name)).toContain('collector_salt_m202503');
    const rows = await db.rows<{ n: string }>(
      `SELECT count() AS n FROM system.tables WHERE name = 'collector_salt_d20250310'`,
    );
    expect(Number(rows[0]!.n)).toBe(0);
    expect(await new ClickHouseSaltStore(db, () => DAY).saltFor('daily', DAY)).not.toEqual(old);
  });
});
