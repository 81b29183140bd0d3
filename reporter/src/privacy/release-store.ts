import { TABLES, sqlv, type Db } from '@confidant/shared';

export type ExportFormat = 'csv' | 'ndjson';
export const EXPORT_FORMATS: ExportFormat[] = ['csv', 'ndjson'];

export type StoredRelease = { releaseId: string; body: string; manifest: string };

/** Stored partner releases and the privacy-budget ledger they are charged to. */
export class ReleaseStore {
  constructor(private readonly db: Db) {}

  /** The first release made for this partner, month and format, if any. */
  async find(partnerId: string, month: string, format: ExportFormat): Promise<StoredRelease | null> {
    const rows = await this.db.rows<{ release_id: string; body: string; manifest: string }>(
      `SELECT release_id, body, manifest FROM ${TABLES.partnerReleases} WHERE partner_id = ${sqlv.str(partnerId)} AND month = ${sqlv.str(month)}` +
        ` AND format = ${sqlv.str(format)} ORDER BY created_at ASC, release_id ASC LIMIT 1`,
    );
    const r = rows[0];
    return r ? { releaseId: r.release_id, body: r.body, manifest: r.manifest } : null;
  }

  /** Epsilon spent by a partner on one data year, in millionths. */
  async spentMicro(partnerId: string, year: number): Promise<bigint> {
    const [row] = await this.db.rows<{ spent: string }>(
      `SELECT toString(sum(epsilon_micro)) AS spent FROM ${TABLES.privacyBudgetLedger} WHERE partner_id = ${sqlv.str(partnerId)} AND year = ${sqlv.int(year)}`,
    );
    return BigInt(row?.spent ?? '0');
  }

  /**
   * Charges the ledger first, then stores the bodies: a failure in between loses budget
   * rather than publishing an uncharged release.
   */
  async record(
    r: {
      releaseId: string;
      partnerId: string;
      month: string;
      year: number;
      epsilonMicro: bigint;
      manifest: string;
      bodies: Record<ExportFormat, string>;
    },
    now: Date,
  ): Promise<void> {
    const at = sqlv.dateTime(now);
    await this.db.command(
      `INSERT INTO ${TABLES.privacyBudgetLedger} (partner_id, year, month, release_id, epsilon_micro, created_at) VALUES (` +
        `${sqlv.str(r.partnerId)}, ${sqlv.int(r.year)}, ${sqlv.str(r.month)}, ${sqlv.str(r.releaseId)}, ${sqlv.int(r.epsilonMicro)}, ${at})`,
    );
    const values = EXPORT_FORMATS.map(
      (f) =>
        `(${sqlv.str(r.releaseId)}, ${sqlv.str(r.partnerId)}, ${sqlv.str(r.month)}, ${sqlv.str(f)}, ${sqlv.str(r.bodies[f])}, ${sqlv.str(r.manifest)}, ${at})`,
    );
    await this.db.command(
      `INSERT INTO ${TABLES.partnerReleases} (release_id, partner_id, month, format, body, manifest, created_at) VALUES ${values.join(', ')}`,
    );
  }
}
