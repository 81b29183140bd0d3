import type { Db } from '../clickhouse/clickhouse-client.ts';
import { ident, str } from '../clickhouse/sql-values.ts';
import type { ControlDb, ControlQueries } from './control-db.ts';

/**
 * Before the control plane moved to PostgreSQL it lived in ClickHouse tables of these names
 * (migrations 0001, 0005 and 0020); ClickHouse migration 0024 drops them once their rows are here.
 */
export const LEGACY_CONTROL_TABLES = [
  'practices',
  'partners',
  'api_keys',
  'ingest_keys',
  'partner_releases',
  'privacy_budget_ledger',
] as const;

export type LegacyMove = { moved: Record<string, number>; skipped: Record<string, number> };

type Rows = Record<string, unknown>[];

/**
 * Copies the control-plane rows still held by ClickHouse into PostgreSQL, in one transaction and
 * idempotently, so an interrupted upgrade can simply run again: rows already present win, except that
 * a revocation recorded in ClickHouse meanwhile is carried over (a revoked key never comes back). A key
 * whose practice or partner no longer exists is skipped (its foreign key would refuse it); a practice
 * whose site key another practice holds stops the move (and so the migration that would drop its rows).
 */
export async function moveLegacyControlPlane(ch: Db, database: string, control: ControlDb): Promise<LegacyMove> {
  const present = new Set(
    (
      await ch.rows<{ name: string }>(
        `SELECT name FROM system.tables WHERE database = ${str(database)} AND name IN (${LEGACY_CONTROL_TABLES.map(str).join(', ')})`,
      )
    ).map((t) => t.name),
  );
  // `ch` may have no default database yet, so every table is named with its database: {table}.
  const read = (table: string, query: string): Promise<Rows> =>
    present.has(table)
      ? ch.rows(query.replace(/\{(\w+)\}/g, (_, t: string) => `${ident(database)}.${ident(t)}`))
      : Promise.resolve([]);
  // 64-bit and date values come back as strings; times as Unix seconds.
  const [practices, partners, apiKeys, ingestKeys, releases, ledger] = await Promise.all([
    read(
      'practices',
      'SELECT practice_id, site_key, name, domains, timezone, cookie_mode, page_classes, exit_allowlist, props_allowlist, share_with_partners, share_identity, mark_not_found, toUInt32(updated_at) AS updated_s FROM {practices} FINAL WHERE deleted = 0 ORDER BY practice_id',
    ),
    read('partners', 'SELECT partner_id, name, toUInt32(created_at) AS created_s FROM {partners} FINAL'),
    read(
      'api_keys',
      "SELECT key_id, hash, toString(role) AS role, scope_id, label, toUInt32(created_at) AS created_s, revoked, if(last_used_day = toDate(0), '', toString(last_used_day)) AS last_used FROM {api_keys} FINAL",
    ),
    read(
      'ingest_keys',
      'SELECT key_hash, practice_id, toUInt32(created_at) AS created_s, revoked FROM {ingest_keys} FINAL',
    ),
    read(
      'partner_releases',
      'SELECT release_id, partner_id, month, format, body, manifest, toUInt32(created_at) AS created_s FROM {partner_releases} ORDER BY created_at, release_id',
    ),
    read(
      'privacy_budget_ledger',
      'SELECT release_id, partner_id, year, month, toString(epsilon_micro) AS epsilon_micro, toUInt32(created_at) AS created_s FROM {privacy_budget_ledger} ORDER BY created_at',
    ),
  ]);
  const result: LegacyMove = { moved: {}, skipped: {} };
  if (present.size === 0) return result;
  const at = (row: Record<string, unknown>, column: string) => new Date(Number(row[column]) * 1000);
  await control.transaction(async (tx) => {
    const insert = async (
      table: string,
      rows: Rows,
      statement: string,
      values: (r: Record<string, unknown>) => unknown[],
    ) => {
      let moved = 0;
      for (const row of rows) moved += (await tx.query(`${statement} RETURNING 1 AS x`, values(row))).length;
      result.moved[table] = moved;
    };
    await insert(
      'practices',
      practices,
      `INSERT INTO practices (practice_id, site_key, name, domains, timezone, cookie_mode, page_classes, exit_allowlist,
         props_allowlist, share_with_partners, share_identity, mark_not_found, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
       ON CONFLICT (practice_id) DO NOTHING`,
      (r) => [
        r.practice_id,
        r.site_key,
        r.name,
        r.domains,
        r.timezone,
        Number(r.cookie_mode) === 1,
        r.page_classes,
        r.exit_allowlist,
        r.props_allowlist,
        Number(r.share_with_partners) === 1,
        Number(r.share_identity) === 1,
        Number(r.mark_not_found) === 1,
        at(r, 'updated_s'),
      ],
    );
    await insert(
      'partners',
      partners,
      'INSERT INTO partners (partner_id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
      (r) => [r.partner_id, r.name, at(r, 'created_s')],
    );
    const scoped = await scopeExists(tx);
    const keys = apiKeys.filter((k) => k.role === 'admin' || scoped(String(k.role), String(k.scope_id)));
    result.skipped.api_keys = apiKeys.length - keys.length;
    await insert(
      'api_keys',
      keys,
      `INSERT INTO api_keys (key_id, hash, role, practice_id, partner_id, label, created_at, revoked_at, last_used_day)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (key_id) DO UPDATE SET revoked_at = excluded.revoked_at
       WHERE api_keys.revoked_at IS NULL AND excluded.revoked_at IS NOT NULL`,
      (r) => [
        r.key_id,
        r.hash,
        r.role,
        r.role === 'practice' ? r.scope_id : null,
        r.role === 'partner' ? r.scope_id : null,
        r.label,
        at(r, 'created_s'),
        Number(r.revoked) !== 0 ? new Date() : null,
        r.last_used || null,
      ],
    );
    const ingest = ingestKeys.filter((k) => scoped('practice', String(k.practice_id)));
    result.skipped.ingest_keys = ingestKeys.length - ingest.length;
    await insert(
      'ingest_keys',
      ingest,
      `INSERT INTO ingest_keys (key_hash, practice_id, created_at, revoked_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (key_hash) DO UPDATE SET revoked_at = excluded.revoked_at
       WHERE ingest_keys.revoked_at IS NULL AND excluded.revoked_at IS NOT NULL`,
      (r) => [r.key_hash, r.practice_id, at(r, 'created_s'), Number(r.revoked) !== 0 ? new Date() : null],
    );
    // The earliest release per partner, month and format is the one that was served: it wins.
    await insert(
      'partner_releases',
      releases.filter((r) => scoped('partner', String(r.partner_id))),
      `INSERT INTO partner_releases (partner_id, month, format, release_id, body, manifest, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT DO NOTHING`,
      (r) => [r.partner_id, r.month, r.format, r.release_id, r.body, r.manifest, at(r, 'created_s')],
    );
    await insert(
      'privacy_budget_ledger',
      ledger.filter((r) => scoped('partner', String(r.partner_id))),
      `INSERT INTO privacy_budget_ledger (release_id, partner_id, year, month, epsilon_micro, created_at)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT DO NOTHING`,
      (r) => [r.release_id, r.partner_id, r.year, r.month, r.epsilon_micro, at(r, 'created_s')],
    );
  });
  return result;
}

async function scopeExists(tx: ControlQueries): Promise<(role: string, id: string) => boolean> {
  const practices = new Set(
    (await tx.query<{ id: string }>('SELECT practice_id AS id FROM practices')).map((r) => r.id),
  );
  const partners = new Set((await tx.query<{ id: string }>('SELECT partner_id AS id FROM partners')).map((r) => r.id));
  return (role, id) => (role === 'practice' ? practices.has(id) : role === 'partner' ? partners.has(id) : false);
}
