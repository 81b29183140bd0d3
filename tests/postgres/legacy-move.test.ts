// Upgrading a database from before the control plane moved: its ClickHouse rows arrive in PostgreSQL,
// then ClickHouse migration 0024 drops the tables, and running it all again changes nothing.
import { copyFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  connectClickHouse,
  connectControlDb,
  LEGACY_CONTROL_TABLES,
  migrate,
  migrateControlPlane,
  migrateStores,
  moveLegacyControlPlane,
  MIGRATIONS_DIR,
  sqlv,
  type CommonConfig,
} from '@confidant/shared';
import { dropTestControlDatabase } from '../support/control-db.ts';
import { isolatedConfig } from '../support/test-env.ts';

const configs: CommonConfig[] = [];
afterAll(async () => {
  for (const config of configs) {
    await dropTestControlDatabase(config.controlPlane);
    const server = connectClickHouse(config.clickhouse, { database: null });
    await server.command(`DROP DATABASE IF EXISTS ${sqlv.ident(config.clickhouse.database)}`);
    await server.close();
  }
});

/** ClickHouse as main left it before the move: every migration up to 0023. */
async function migrateToBeforeTheMove(config: CommonConfig): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'migrations-'));
  try {
    for (const file of await readdir(MIGRATIONS_DIR))
      if (/^\d{4}-.*\.sql$/.test(file) && Number(file.slice(0, 4)) <= 23)
        await copyFile(join(MIGRATIONS_DIR, file), join(dir, file));
    await writeFile(join(dir, 'released.json'), JSON.stringify({ released: {}, superseded: {} }));
    await migrate(config.clickhouse, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('moving the control plane out of ClickHouse', () => {
  it('copies every row once, skips keys whose practice is gone, and leaves no control-plane table in ClickHouse', async () => {
    const config = isolatedConfig('legacy');
    configs.push(config);
    await migrateToBeforeTheMove(config);
    const ch = connectClickHouse(config.clickhouse);
    const at = "toDateTime('2026-03-01 10:00:00', 'UTC')";
    const pages = sqlv.str(JSON.stringify([{ pattern: '/portal/**', name: 'portal', mode: 'count-only' }]));
    try {
      // Two versions of one practice (the later wins), a deleted one, and an old key row superseded by its revocation.
      await ch.command(
        `INSERT INTO practices VALUES ('north', 'site-north', 'Old name', ['north.example'], 'UTC', 0, ${pages}, [], [], 1, 0, 1, 0, 1, ${at}),` +
          ` ('north', 'site-north', 'North Clinic', ['north.example', 'www.north.example'], 'Europe/Berlin', 1, ${pages}, ['maps.example'], ['plan'], 1, 0, 1, 0, 2, ${at}),` +
          ` ('gone', 'site-gone', 'Gone', ['gone.example'], 'UTC', 0, '[]', [], [], 0, 0, 1, 1, 3, ${at})`,
      );
      await ch.command(`INSERT INTO partners VALUES ('acme', 'Acme Research', 1, ${at})`);
      await ch.command(
        `INSERT INTO api_keys VALUES ('0000000000000001', 'hash-1', 'practice', 'north', 'staff', ${at}, 0, toDate('2026-03-02'), 1),` +
          ` ('0000000000000001', 'hash-1', 'practice', 'north', 'staff', ${at}, 1, toDate('2026-03-02'), 9223372036854775809),` +
          ` ('0000000000000002', 'hash-2', 'admin', '', 'ops', ${at}, 0, toDate('1970-01-01'), 1),` +
          ` ('0000000000000003', 'hash-3', 'partner', 'acme', '', ${at}, 0, toDate('1970-01-01'), 1),` +
          ` ('0000000000000004', 'hash-4', 'practice', 'gone', '', ${at}, 0, toDate('1970-01-01'), 1)`,
      );
      await ch.command(`INSERT INTO ingest_keys VALUES ('ingest-hash', 'north', ${at}, 0, 1)`);
      await ch.command(
        `INSERT INTO partner_releases VALUES ('rel_first', 'acme', '2026-02', 'csv', 'first body', '{}', ${at}),` +
          ` ('rel_later', 'acme', '2026-02', 'csv', 'later body', '{}', toDateTime('2026-03-02 10:00:00', 'UTC'))`,
      );
      await ch.command(
        `INSERT INTO privacy_budget_ledger VALUES ('acme', 2026, '2026-02', 'rel_first', 250000, ${at})`,
      );

      const first = await migrateStores(config);
      expect(first.clickhouse.slice(0, 2)).toEqual(['0024-control-plane-moved', '0025-import-ledgers-converge']);
      expect(first.legacy).toEqual({
        moved: {
          practices: 1,
          partners: 1,
          api_keys: 3,
          ingest_keys: 1,
          partner_releases: 1,
          privacy_budget_ledger: 1,
        },
        skipped: { api_keys: 1, ingest_keys: 0 },
      });

      const tables = await ch.rows<{ name: string }>(
        `SELECT name FROM system.tables WHERE database = ${sqlv.str(config.clickhouse.database)}`,
      );
      expect(tables.map((t) => t.name).filter((t) => (LEGACY_CONTROL_TABLES as readonly string[]).includes(t))).toEqual(
        [],
      );
    } finally {
      await ch.close();
    }

    const pg = connectControlDb(config.controlPlane);
    try {
      expect(
        await pg.query('SELECT practice_id, name, domains, timezone, cookie_mode, page_classes FROM practices'),
      ).toEqual([
        {
          practice_id: 'north',
          name: 'North Clinic',
          domains: ['north.example', 'www.north.example'],
          timezone: 'Europe/Berlin',
          cookie_mode: true,
          page_classes: [{ pattern: '/portal/**', name: 'portal', mode: 'count-only' }],
        },
      ]);
      expect(
        await pg.query(
          "SELECT key_id, role, practice_id, partner_id, revoked_at IS NOT NULL AS revoked, to_char(last_used_day, 'YYYY-MM-DD') AS used FROM api_keys ORDER BY key_id",
        ),
      ).toEqual([
        {
          key_id: '0000000000000001',
          role: 'practice',
          practice_id: 'north',
          partner_id: null,
          revoked: true,
          used: '2026-03-02',
        },
        { key_id: '0000000000000002', role: 'admin', practice_id: null, partner_id: null, revoked: false, used: null },
        {
          key_id: '0000000000000003',
          role: 'partner',
          practice_id: null,
          partner_id: 'acme',
          revoked: false,
          used: null,
        },
      ]);
      expect(await pg.query('SELECT release_id, body FROM partner_releases')).toEqual([
        { release_id: 'rel_first', body: 'first body' },
      ]);
      expect(await pg.query('SELECT release_id, epsilon_micro::text AS e FROM privacy_budget_ledger')).toEqual([
        { release_id: 'rel_first', e: '250000' },
      ]);
    } finally {
      await pg.close();
    }

    const again = await migrateStores(config);
    expect(again).toEqual({
      controlPlane: [],
      clickhouse: [],
      legacy: { moved: {}, skipped: {} },
      saltTablesMoved: [],
    });
  });

  it('a move run again before the tables are dropped carries a revocation made meanwhile; a site-key clash stops it', async () => {
    const config = isolatedConfig('legacy2');
    configs.push(config);
    await migrateToBeforeTheMove(config);
    await migrateControlPlane(config.controlPlane);
    const ch = connectClickHouse(config.clickhouse);
    const pg = connectControlDb(config.controlPlane);
    const at = "toDateTime('2026-03-01 10:00:00', 'UTC')";
    const move = () => moveLegacyControlPlane(ch, config.clickhouse.database, pg);
    try {
      await ch.command(
        `INSERT INTO practices VALUES ('north', 'site-north', 'North', ['north.example'], 'UTC', 0, '[]', [], [], 0, 0, 1, 0, 1, ${at})`,
      );
      await ch.command(
        `INSERT INTO api_keys VALUES ('0000000000000001', 'hash-1', 'practice', 'north', '', ${at}, 0, toDate('1970-01-01'), 1)`,
      );
      await ch.command(`INSERT INTO ingest_keys VALUES ('ingest-hash', 'north', ${at}, 0, 1)`);
      expect((await move()).moved).toMatchObject({ practices: 1, api_keys: 1, ingest_keys: 1 });

      // An old service still running revokes both keys in ClickHouse after the first copy.
      await ch.command(
        `INSERT INTO api_keys VALUES ('0000000000000001', 'hash-1', 'practice', 'north', '', ${at}, 1, toDate('1970-01-01'), 9223372036854775809)`,
      );
      await ch.command(`INSERT INTO ingest_keys VALUES ('ingest-hash', 'north', ${at}, 1, 2)`);
      expect((await move()).moved).toMatchObject({ practices: 0, api_keys: 1, ingest_keys: 1 });
      expect(await pg.query('SELECT revoked_at IS NOT NULL AS revoked FROM api_keys')).toEqual([{ revoked: true }]);
      expect(await pg.query('SELECT revoked_at IS NOT NULL AS revoked FROM ingest_keys')).toEqual([{ revoked: true }]);
      // Run once more: nothing left to change.
      expect((await move()).moved).toMatchObject({ practices: 0, api_keys: 0, ingest_keys: 0 });

      // ClickHouse never enforced unique site keys: a clash refuses the whole move rather than dropping a practice.
      await ch.command(
        `INSERT INTO practices VALUES ('south', 'site-north', 'South', ['south.example'], 'UTC', 0, '[]', [], [], 0, 0, 1, 0, 1, ${at})`,
      );
      await expect(move()).rejects.toMatchObject({ code: '23505' });
      expect(await pg.query('SELECT practice_id FROM practices')).toEqual([{ practice_id: 'north' }]);
    } finally {
      await Promise.all([ch.close(), pg.close()]);
    }
  });
});
