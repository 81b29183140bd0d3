import type { ControlQueries } from '@confidant/shared';

export type ExportFormat = 'csv' | 'ndjson';
export const EXPORT_FORMATS: ExportFormat[] = ['csv', 'ndjson'];

export type StoredRelease = { releaseId: string; body: string; manifest: string };

/**
 * Stored partner releases and the privacy-budget ledger they are charged to, in the control plane.
 * Run inside one transaction that holds `lockPartner`, a claim is made once across processes.
 */
export class ReleaseStore {
  constructor(private readonly db: ControlQueries) {}

  /**
   * Holds the partner's row until the transaction ends: every release of one partner, in any
   * process, runs after the one before it committed (or rolled back). A request waits at most 10 s
   * for it (then 503, retry). NO KEY: creating the partner's API keys is not blocked. False: no such partner.
   */
  async lockPartner(partnerId: string): Promise<boolean> {
    await this.db.query("SET LOCAL lock_timeout = '10s'");
    const rows = await this.db.query('SELECT 1 AS x FROM partners WHERE partner_id = $1 FOR NO KEY UPDATE', [
      partnerId,
    ]);
    return rows.length > 0;
  }

  /** The release made for this partner, month and format, if any. */
  async find(partnerId: string, month: string, format: ExportFormat): Promise<StoredRelease | null> {
    const [row] = await this.db.query<StoredRelease>(
      `SELECT release_id AS "releaseId", body, manifest FROM partner_releases
       WHERE partner_id = $1 AND month = $2 AND format = $3`,
      [partnerId, month, format],
    );
    return row ?? null;
  }

  /** Epsilon spent by a partner on one data year, in millionths. */
  async spentMicro(partnerId: string, year: number): Promise<bigint> {
    const [row] = await this.db.query<{ spent: string }>(
      'SELECT coalesce(sum(epsilon_micro), 0)::text AS spent FROM privacy_budget_ledger WHERE partner_id = $1 AND year = $2',
      [partnerId, year],
    );
    return BigInt(row?.spent ?? '0');
  }

  /** Charges the ledger and stores the bodies; in the caller's transaction, both or neither. */
  async record(r: {
    releaseId: string;
    partnerId: string;
    month: string;
    year: number;
    epsilonMicro: bigint;
    manifest: string;
    bodies: Record<ExportFormat, string>;
  }): Promise<void> {
    await this.db.query(
      'INSERT INTO privacy_budget_ledger (release_id, partner_id, year, month, epsilon_micro) VALUES ($1, $2, $3, $4, $5)',
      [r.releaseId, r.partnerId, r.year, r.month, r.epsilonMicro.toString()],
    );
    for (const format of EXPORT_FORMATS)
      await this.db.query(
        'INSERT INTO partner_releases (partner_id, month, format, release_id, body, manifest) VALUES ($1, $2, $3, $4, $5, $6)',
        [r.partnerId, r.month, format, r.releaseId, r.bodies[format], r.manifest],
      );
  }
}
