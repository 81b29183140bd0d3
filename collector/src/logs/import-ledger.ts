import { createHash, createHmac } from 'node:crypto';
import { EVENT_BATCH_KEY_BUCKETS, sqlv, TABLES, type Db } from '@confidant/shared';

/**
 * Where an import stands: how many of its lines are durably produced (a re-import resumes after
 * them), the SHA-256 of their shapes (to tell a grown log from a different one; empty for shipper
 * imports), and its bucket secret (`clientBucket`), the same for every run of the import.
 */
export type ImportProgress = { lines: number; prefixHash: string; bucketSecret: string };

export interface ImportLedger {
  open(practiceId: string, importId: string): Promise<ImportProgress>;
  commit(practiceId: string, importId: string, progress: Omit<ImportProgress, 'bucketSecret'>): Promise<void>;
}

/**
 * `log_import_progress` (migration 0022): ReplacingMergeTree on the line count, so the row with the most
 * lines wins. An import's bucket secret is derived, not stored: a keyed hash of the practice and import
 * under the deployment's `import_bucket_key`, so two runs can never disagree on it, even when they start
 * at the same moment.
 */
export class ClickHouseImportLedger implements ImportLedger {
  private bucketKey: Promise<string> | null = null;

  constructor(private readonly db: Db) {}

  async open(practiceId: string, importId: string): Promise<ImportProgress> {
    const [row] = await this.db.rows<{ n: string; h: string }>(
      `SELECT toString(lines_committed) AS n, prefix_hash AS h FROM ${TABLES.logImportProgress} WHERE practice_id = ${sqlv.str(practiceId)} AND import_id = ${sqlv.str(importId)} ORDER BY lines_committed DESC LIMIT 1`,
    );
    const key = await (this.bucketKey ??= this.readBucketKey().catch((error: unknown) => {
      this.bucketKey = null;
      throw error;
    }));
    return {
      lines: Number(row?.n ?? 0),
      prefixHash: row?.h ?? '',
      bucketSecret: createHmac('sha256', key).update(`${practiceId}\u0000${importId}`).digest('hex'),
    };
  }

  async commit(practiceId: string, importId: string, progress: Omit<ImportProgress, 'bucketSecret'>): Promise<void> {
    await this.db.command(
      `INSERT INTO ${TABLES.logImportProgress} (import_id, practice_id, lines_committed, prefix_hash, updated_at) VALUES (${sqlv.str(importId)}, ${sqlv.str(practiceId)}, ${sqlv.int(progress.lines)}, ${sqlv.str(progress.prefixHash)}, ${sqlv.dateTime(Math.floor(Date.now() / 1000))})`,
    );
  }

  private async readBucketKey(): Promise<string> {
    const [row] = await this.db.rows<{ k: string }>(`SELECT min(key) AS k FROM ${TABLES.importBucketKey}`);
    if (!row?.k) throw new Error(`${TABLES.importBucketKey} is empty: run the migrations`);
    return row.k;
  }
}

/**
 * The Kafka batch bucket of a client (address and user agent) in one import: a keyed hash under
 * the import's random bucket secret. Not the visitor key, whose daily salt may be gone and redrawn
 * when an interrupted import of old days resumes: a line sent again must reach the partition it
 * went to the first time, where the processor's line ledger recognises it. The same client always
 * gets the same bucket, so a visitor's events still share a partition, as sessions need. Five bits,
 * on Kafka only, under a secret that is never stored or sent: no use for telling visitors apart.
 */
export function clientBucket(bucketSecret: string, ip: string, userAgent: string): number {
  return (
    createHmac('sha256', bucketSecret).update(`${ip}\u0000${userAgent}`).digest().readUInt32BE(0) %
    EVENT_BATCH_KEY_BUCKETS
  );
}

/**
 * The import id of a file or body: a hash of the practice and the shape (`lineShape`: time, method,
 * status, length) of the input's first line with content, which makes it specific to one log. Neither
 * the size nor more of the content goes in, because access logs grow by appending and a re-import of
 * a grown log must resume after the lines already produced. A different log that happens to start
 * alike is caught on resume by the hash of the committed lines' shapes.
 */
export function fileImportId(practiceId: string, firstShape: string): string {
  return createHash('sha256').update(`file\u0000${practiceId}\u0000${firstShape}`).digest('hex');
}

/** What a caller may name an import (`X-Import-Id`, `--import-id`). */
export const CLIENT_IMPORT_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/** The import id for a shipper-chosen `X-Import-Id`; scoped to the practice so practices never share a ledger row. */
export function shipperImportId(practiceId: string, clientImportId: string): string {
  return createHash('sha256').update(`shipper\u0000${practiceId}\u0000${clientImportId}`).digest('hex');
}
