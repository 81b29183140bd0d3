import type { ControlQueries } from '@confidant/shared';

export type ExportFormat = 'csv' | 'ndjson';
export const EXPORT_FORMATS: ExportFormat[] = ['csv', 'ndjson'];

export type StoredRelease = { releaseId: string; manifest: string; bodies: Record<ExportFormat, string> };

// One holder at a time across every process that shares the control plane (pg_advisory_xact_lock key).
const RELEASE_LOCK = 'confidant.monthly-release';

/**
 * The month's release (one for every partner) and the yearly budget it is charged to, in the control
 * plane. Made inside one transaction that holds `lockReleases`: claim and charge commit together.
 */
export class ReleaseStore {
  constructor(private readonly db: ControlQueries) {}

  /**
   * Held until the transaction ends: every release, of any month and in any process, is made after the
   * one before it committed or rolled back, so a month is claimed once and the budget read is the one
   * charged. A request waits at most 10 s for it (then 503, retry).
   */
  async lockReleases(): Promise<void> {
    await this.db.query("SET LOCAL lock_timeout = '10s'");
    await this.db.query('SELECT pg_advisory_xact_lock(hashtext($1))', [RELEASE_LOCK]);
  }

  async find(month: string): Promise<StoredRelease | null> {
    const [row] = await this.db.query<{ releaseId: string; manifest: string; csv: string; ndjson: string }>(
      `SELECT release_id AS "releaseId", manifest, body_csv AS csv, body_ndjson AS ndjson FROM monthly_releases WHERE month = $1`,
      [month],
    );
    return row
      ? { releaseId: row.releaseId, manifest: row.manifest, bodies: { csv: row.csv, ndjson: row.ndjson } }
      : null;
  }

  async partnerExists(partnerId: string): Promise<boolean> {
    return (await this.db.query('SELECT 1 AS x FROM partners WHERE partner_id = $1', [partnerId])).length > 0;
  }

  /**
   * Epsilon spent on one data year, in millionths: the shared releases, plus the per-partner releases
   * made before them (migration 0001's ledger), which were all about the same people.
   */
  async spentMicro(year: number): Promise<bigint> {
    const [row] = await this.db.query<{ spent: string }>(
      `SELECT ((SELECT coalesce(sum(epsilon_micro), 0) FROM monthly_releases WHERE year = $1)
             + (SELECT coalesce(sum(epsilon_micro), 0) FROM privacy_budget_ledger WHERE year = $1))::text AS spent`,
      [year],
    );
    return BigInt(row?.spent ?? '0');
  }

  /**
   * Practices that shared with partners when the month ended (`frozenAt`) and still do now (a
   * withdrawal is honoured). History rows from before control migration 0003 stand for all earlier
   * time; no month that began before partner visitor-days were recorded (after 0003) is released.
   */
  async frozenPractices(frozenAt: Date): Promise<string[]> {
    const rows = await this.db.query<{ id: string }>(
      `WITH at_end AS (
         SELECT DISTINCT ON (practice_id) practice_id, share_with_partners FROM practice_settings_history
         WHERE changed_at <= $1 ORDER BY practice_id, changed_at DESC, seq DESC
       )
       SELECT p.practice_id AS id FROM practices p JOIN at_end e ON e.practice_id = p.practice_id
       WHERE e.share_with_partners AND p.share_with_partners ORDER BY p.practice_id`,
      [frozenAt.toISOString()],
    );
    return rows.map((r) => r.id);
  }

  /** Whether any partner was released the month under the per-partner scheme (control migration 0001). */
  async releasedBeforeSharedScheme(month: string): Promise<boolean> {
    const rows = await this.db.query(
      `SELECT 1 AS x FROM partner_releases WHERE month = $1 UNION ALL SELECT 1 AS x FROM privacy_budget_ledger WHERE month = $1 LIMIT 1`,
      [month],
    );
    return rows.length > 0;
  }

  /** Claims the month and charges the budget in one row; in the caller's transaction. */
  async record(r: {
    releaseId: string;
    month: string;
    year: number;
    epsilonMicro: bigint;
    practiceIds: string[];
    manifest: string;
    bodies: Record<ExportFormat, string>;
  }): Promise<void> {
    await this.db.query(
      `INSERT INTO monthly_releases (month, release_id, year, epsilon_micro, practice_ids, manifest, body_csv, body_ndjson)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        r.month,
        r.releaseId,
        r.year,
        r.epsilonMicro.toString(),
        r.practiceIds,
        r.manifest,
        r.bodies.csv,
        r.bodies.ndjson,
      ],
    );
  }

  /** Notes that a partner was served the month's release (first time only). */
  async delivered(month: string, partnerId: string): Promise<void> {
    await this.db.query(
      'INSERT INTO release_deliveries (month, partner_id) VALUES ($1, $2) ON CONFLICT (month, partner_id) DO NOTHING',
      [month, partnerId],
    );
  }
}
