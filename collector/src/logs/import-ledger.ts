import { createHash, randomBytes } from 'node:crypto';
import { sqlv, TABLES, type Db } from '@confidant/shared';

/** How many lines of an import are durably produced (and a hash of them); a re-import resumes after them. */
export interface ImportLedger {
  committed(practiceId: string, importId: string): Promise<{ lines: number; prefixHash: string }>;
  commit(practiceId: string, importId: string, lines: number, prefixHash: string): Promise<void>;
}

/**
 * `log_imports` (migration 0005, emptied by 0021): ReplacingMergeTree on the line count, so the row with the most lines
 * wins. `prefix_hash` is the SHA-256 of the committed lines' shapes (`lineShape`), never of the lines themselves.
 */
export class ClickHouseImportLedger implements ImportLedger {
  constructor(private readonly db: Db) {}

  async committed(practiceId: string, importId: string): Promise<{ lines: number; prefixHash: string }> {
    const [row] = await this.db.rows<{ n: string; h: string }>(
      `SELECT toString(lines_committed) AS n, prefix_hash AS h FROM ${TABLES.logImports} WHERE practice_id = ${sqlv.str(practiceId)} AND import_id = ${sqlv.str(importId)} ORDER BY lines_committed DESC LIMIT 1`,
    );
    return { lines: Number(row?.n ?? 0), prefixHash: row?.h ?? '' };
  }

  async commit(practiceId: string, importId: string, lines: number, prefixHash: string): Promise<void> {
    await this.db.command(
      `INSERT INTO ${TABLES.logImports} (import_id, practice_id, lines_committed, prefix_hash, updated_at) VALUES (${sqlv.str(importId)}, ${sqlv.str(practiceId)}, ${sqlv.int(lines)}, ${sqlv.str(prefixHash)}, ${sqlv.dateTime(Math.floor(Date.now() / 1000))})`,
    );
  }
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

/** Envelope id for a line: the same line of the same import always gets the same id, so the processor drops a repeat. */
export function lineEventId(importId: string, lineNo: number): string {
  return importId.slice(0, 20) + lineNo.toString(16).padStart(12, '0');
}

// ---------------------------------------------------------------------------------------
// Ingest keys
// ---------------------------------------------------------------------------------------

const KEY_PREFIX = 'cfi_';
const hashKey = (secret: string): string => createHash('sha256').update(secret).digest('hex');

/** Creates an ingest key for a practice; the secret is returned once and only its hash is stored. */
export async function createIngestKey(db: Db, practiceId: string): Promise<string> {
  const secret = KEY_PREFIX + randomBytes(32).toString('base64url');
  const now = Date.now();
  await db.command(
    `INSERT INTO ${TABLES.ingestKeys} (key_hash, practice_id, created_at, revoked, version) VALUES (${sqlv.str(hashKey(secret))}, ${sqlv.str(practiceId)}, ${sqlv.dateTime(Math.floor(now / 1000))}, 0, ${sqlv.int(now)})`,
  );
  return secret;
}

/** Revokes a key by its secret (a later version with revoked = 1). */
export async function revokeIngestKey(db: Db, secret: string): Promise<void> {
  const [row] = await db.rows<{ practice_id: string }>(`SELECT practice_id FROM ${TABLES.ingestKeys} FINAL WHERE key_hash = ${sqlv.str(hashKey(secret))}`);
  if (!row) return;
  const now = Date.now();
  await db.command(
    `INSERT INTO ${TABLES.ingestKeys} (key_hash, practice_id, created_at, revoked, version) VALUES (${sqlv.str(hashKey(secret))}, ${sqlv.str(row.practice_id)}, ${sqlv.dateTime(Math.floor(now / 1000))}, 1, ${sqlv.int(now + 1)})`,
  );
}

/** The practice an ingest key belongs to, or null for an unknown or revoked key. */
export async function practiceForIngestKey(db: Db, secret: string): Promise<string | null> {
  if (!secret.startsWith(KEY_PREFIX) || secret.length > 100) return null;
  const [row] = await db.rows<{ practice_id: string; revoked: number }>(
    `SELECT practice_id, revoked FROM ${TABLES.ingestKeys} FINAL WHERE key_hash = ${sqlv.str(hashKey(secret))}`,
  );
  return row && Number(row.revoked) === 0 ? row.practice_id : null;
}
