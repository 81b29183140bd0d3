// The control-plane migrations against the real PostgreSQL: forward-only, applied once however many
// processes start at the same moment, and constraints that refuse what the stores must never write.
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { CONTROL_MIGRATIONS_DIR, connectControlDb, migrateControlPlane, type ControlDbConfig } from '@confidant/shared';
import { isolatedControlDb, dropTestControlDatabase } from '../support/control-db.ts';

const created: ControlDbConfig[] = [];
const fresh = () => {
  const config = isolatedControlDb('migrate');
  created.push(config);
  return config;
};
afterAll(async () => {
  for (const config of created) await dropTestControlDatabase(config);
});

describe('control-plane migrations', () => {
  it('create the database, apply every migration once, and apply nothing the second time', async () => {
    const config = fresh();
    const first = await migrateControlPlane(config);
    expect(first.applied[0]).toBe('0001-control-plane');
    expect(await migrateControlPlane(config)).toEqual({ applied: [] });
    const db = connectControlDb(config);
    try {
      const tables = await db.query<{ tablename: string }>(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
      );
      expect(tables.map((t) => t.tablename)).toEqual([
        'account_links',
        'api_keys',
        'audit_log',
        'goals',
        'ingest_keys',
        'live_visits',
        'memberships',
        'monthly_releases',
        'operator_admins',
        'partner_releases',
        'partner_users',
        'partners',
        'practice_settings_history',
        'practices',
        'privacy_budget_ledger',
        'recovery_codes',
        'release_deliveries',
        'schema_migrations',
        'sessions',
        'share_link_failures',
        'share_link_unlocks',
        'share_links',
        'sign_in_throttle',
        'totp_used_steps',
        'users',
      ]);
    } finally {
      await db.close();
    }
  });

  it('five processes starting at once apply each migration exactly once', async () => {
    const config = fresh();
    const results = await Promise.all(Array.from({ length: 5 }, () => migrateControlPlane(config)));
    expect(results.flatMap((r) => r.applied).filter((name) => name === '0001-control-plane')).toHaveLength(1);
  });

  it('refuse a migration file changed after it was applied', async () => {
    const config = fresh();
    const dir = mkdtempSync(`${tmpdir()}/control-migrations-`);
    try {
      cpSync(CONTROL_MIGRATIONS_DIR, dir, { recursive: true });
      await migrateControlPlane(config, dir);
      writeFileSync(`${dir}/0001-control-plane.sql`, 'CREATE TABLE changed (x int);\n');
      await expect(migrateControlPlane(config, dir)).rejects.toThrow(/changed after it was applied/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('constraints refuse a key without its practice, a duplicate site key and a second release claim', async () => {
    const config = fresh();
    await migrateControlPlane(config);
    const db = connectControlDb(config);
    const practice = (id: string, siteKey: string) =>
      db.query(
        `INSERT INTO practices (practice_id, site_key, name, domains, timezone, cookie_mode, page_classes, exit_allowlist,
           props_allowlist, share_with_partners, share_identity, mark_not_found)
         VALUES ($1, $2, 'A practice', ARRAY['a.example'], 'UTC', false, '[]', '{}', '{}', false, false, true)`,
        [id, siteKey],
      );
    try {
      await practice('p1', 'site-key-1');
      await expect(practice('p2', 'site-key-1')).rejects.toMatchObject({ code: '23505' });
      const key = (role: string, practiceId: string | null) =>
        db.query('INSERT INTO api_keys (key_id, hash, role, practice_id) VALUES ($1, $2, $3, $4)', [
          randomBytes(8).toString('hex'),
          randomBytes(32).toString('hex'),
          role,
          practiceId,
        ]);
      await key('practice', 'p1');
      await expect(key('practice', 'no-such-practice')).rejects.toMatchObject({ code: '23503' });
      await expect(key('practice', null)).rejects.toMatchObject({ code: '23514' });
      await expect(key('admin', 'p1')).rejects.toMatchObject({ code: '23514' });
      await db.query("INSERT INTO partners (partner_id, name) VALUES ('acme', 'Acme')");
      const claim = (releaseId: string) =>
        db.query(
          "INSERT INTO partner_releases (partner_id, month, format, release_id, body, manifest) VALUES ('acme', '2026-10', 'csv', $1, '', '{}')",
          [releaseId],
        );
      await claim('r1');
      await expect(claim('r2')).rejects.toMatchObject({ code: '23505' });
    } finally {
      await db.close();
    }
  });
});
