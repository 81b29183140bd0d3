import { ClickHouseSaltStore } from '@confidant/collector/components';
import type { Db } from '@confidant/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareNamespace } from '../support/stack.ts';
import { isolatedConfig } from '../support/test-env.ts';

const DAY = Date.UTC(2025, 2, 10, 15);
let db: Db;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ db, cleanup } = await prepareNamespace(isolatedConfig('salts')));
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
