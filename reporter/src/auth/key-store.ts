import type { ControlQueries } from '@confidant/shared';
import { generateApiKey, type Role } from './api-key.ts';

export type StoredKey = {
  keyId: string;
  hash: string;
  role: Role;
  scopeId: string;
  label: string;
  createdAt: string;
  revoked: boolean;
  lastUsedDay: string | null;
};

type KeyRow = {
  key_id: string;
  hash: string;
  role: Role;
  scope_id: string;
  label: string;
  created_at: Date;
  revoked: boolean;
  last_used_day: string | null;
};

// last_used_day comes back as text: a DATE would be read in the process's time zone.
const KEY_COLUMNS = `key_id, hash, role, coalesce(practice_id, partner_id, '') AS scope_id, label, created_at,
  revoked_at IS NOT NULL AS revoked, to_char(last_used_day, 'YYYY-MM-DD') AS last_used_day`;

const utcDay = (d: Date): string => d.toISOString().slice(0, 10);

/**
 * API keys in the control plane. Every lookup reads the table, so a revocation applies to the next
 * request; the foreign keys refuse a key for a practice or partner that does not exist.
 */
export class KeyStore {
  constructor(private readonly db: ControlQueries) {}

  async create(role: Role, scopeId: string, label: string): Promise<{ key: string; stored: StoredKey }> {
    const { keyId, key, hash } = generateApiKey();
    const [row] = await this.db.query<KeyRow>(
      `INSERT INTO api_keys (key_id, hash, role, practice_id, partner_id, label) VALUES ($1, $2, $3, $4, $5, $6)
       RETURNING ${KEY_COLUMNS}`,
      [keyId, hash, role, role === 'practice' ? scopeId : null, role === 'partner' ? scopeId : null, label],
    );
    return { key, stored: fromRow(row!) };
  }

  async get(keyId: string): Promise<StoredKey | null> {
    const [row] = await this.db.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE key_id = $1`, [keyId]);
    return row ? fromRow(row) : null;
  }

  async list(): Promise<StoredKey[]> {
    return (await this.db.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys ORDER BY created_at, key_id`)).map(
      fromRow,
    );
  }

  /** Returns false when the key does not exist. Revocation is permanent (a second revoke keeps the first time). */
  async revoke(keyId: string): Promise<boolean> {
    const rows = await this.db.query(
      'UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE key_id = $1 RETURNING 1 AS x',
      [keyId],
    );
    return rows.length > 0;
  }

  /** Records the day a key was last used (at most one write per key and day). */
  async touch(key: StoredKey, now: Date): Promise<void> {
    const day = utcDay(now);
    if (key.revoked || key.lastUsedDay === day) return;
    await this.db.query(
      'UPDATE api_keys SET last_used_day = $2 WHERE key_id = $1 AND revoked_at IS NULL AND last_used_day IS DISTINCT FROM $2',
      [key.keyId, day],
    );
  }
}

function fromRow(r: KeyRow): StoredKey {
  return {
    keyId: r.key_id,
    hash: r.hash,
    role: r.role,
    scopeId: r.scope_id,
    label: r.label,
    createdAt: new Date(Math.floor(r.created_at.getTime() / 1000) * 1000).toISOString(),
    revoked: r.revoked,
    lastUsedDay: r.last_used_day,
  };
}

/** A key as the admin API and CLI show it: never the hash. */
export const publicKey = (k: StoredKey) => ({
  keyId: k.keyId,
  role: k.role,
  scopeId: k.scopeId || null,
  label: k.label,
  createdAt: k.createdAt,
  revoked: k.revoked,
  lastUsedDay: k.lastUsedDay,
});
