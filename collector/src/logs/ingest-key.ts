import { createHash, randomBytes } from 'node:crypto';
import type { ControlQueries } from '@confidant/shared';

/** Per-practice ingest keys for `POST /v1/logs`; only the SHA-256 of a secret is stored (control-plane table ingest_keys). */
const KEY_PREFIX = 'cfi_';
const hashKey = (secret: string): string => createHash('sha256').update(secret).digest('hex');

/** Creates an ingest key for a practice; the secret is returned once and only its hash is stored. */
export async function createIngestKey(db: ControlQueries, practiceId: string): Promise<string> {
  const secret = KEY_PREFIX + randomBytes(32).toString('base64url');
  await db.query('INSERT INTO ingest_keys (key_hash, practice_id) VALUES ($1, $2)', [hashKey(secret), practiceId]);
  return secret;
}

/** Revokes a key by its secret, for good. */
export async function revokeIngestKey(db: ControlQueries, secret: string): Promise<void> {
  await db.query('UPDATE ingest_keys SET revoked_at = coalesce(revoked_at, now()) WHERE key_hash = $1', [
    hashKey(secret),
  ]);
}

/** The practice an ingest key belongs to, or null for an unknown or revoked key. */
export async function practiceForIngestKey(db: ControlQueries, secret: string): Promise<string | null> {
  if (!secret.startsWith(KEY_PREFIX) || secret.length > 100) return null;
  const [row] = await db.query<{ practice_id: string }>(
    'SELECT practice_id FROM ingest_keys WHERE key_hash = $1 AND revoked_at IS NULL',
    [hashKey(secret)],
  );
  return row?.practice_id ?? null;
}
