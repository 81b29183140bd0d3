import { createHash, randomBytes } from 'node:crypto';
import { sqlv, TABLES, type Db } from '@confidant/shared';

/** Per-practice ingest keys for `POST /v1/logs`; only the SHA-256 of a secret is stored (migration 0005). */
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
  const [row] = await db.rows<{ practice_id: string }>(
    `SELECT practice_id FROM ${TABLES.ingestKeys} FINAL WHERE key_hash = ${sqlv.str(hashKey(secret))}`,
  );
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
