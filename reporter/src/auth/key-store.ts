import { TABLES, sqlv, type Db } from '@confidant/shared';
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
  created_s: number;
  revoked: number;
  last_used: string;
};

const REVOKED_VERSION_BASE = 2n ** 63n;
const NEVER = '1970-01-01';

let counter = 0n;
/** Monotone per process; ms resolution plus a counter keeps same-millisecond writes ordered. */
const nextVersion = (): bigint => BigInt(Date.now()) * 1000n + (counter = (counter + 1n) % 1000n);

const utcDay = (d: Date): string => d.toISOString().slice(0, 10);

/** API keys in ClickHouse. Every lookup reads the table, so a revocation applies to the next request. */
export class KeyStore {
  constructor(private readonly db: Db) {}

  async create(role: Role, scopeId: string, label: string): Promise<{ key: string; stored: StoredKey }> {
    const { keyId, key, hash } = generateApiKey();
    const now = new Date();
    await this.write(
      { keyId, hash, role, scopeId, label, createdAt: now.toISOString(), revoked: false, lastUsedDay: null },
      nextVersion(),
    );
    return { key, stored: (await this.get(keyId))! };
  }

  async get(keyId: string): Promise<StoredKey | null> {
    const rows = await this.db.rows<KeyRow>(
      `SELECT key_id, hash, role, scope_id, label, toUInt32(created_at) AS created_s, revoked, toString(last_used_day) AS last_used FROM ${TABLES.apiKeys} FINAL WHERE key_id = ${sqlv.str(keyId)}`,
    );
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async list(): Promise<StoredKey[]> {
    const rows = await this.db.rows<KeyRow>(
      `SELECT key_id, hash, role, scope_id, label, toUInt32(created_at) AS created_s, revoked, toString(last_used_day) AS last_used FROM ${TABLES.apiKeys} FINAL ORDER BY created_s, key_id`,
    );
    return rows.map(fromRow);
  }

  /** Returns false when the key does not exist. */
  async revoke(keyId: string): Promise<boolean> {
    const key = await this.get(keyId);
    if (!key) return false;
    await this.write({ ...key, revoked: true }, REVOKED_VERSION_BASE + nextVersion());
    return true;
  }

  /** Records the day a key was last used (at most one write per key and day). */
  async touch(key: StoredKey, now: Date): Promise<void> {
    const day = utcDay(now);
    if (key.revoked || key.lastUsedDay === day) return;
    await this.write({ ...key, lastUsedDay: day }, nextVersion());
  }

  private async write(k: StoredKey, version: bigint): Promise<void> {
    const created = Math.floor(Date.parse(k.createdAt) / 1000);
    await this.db.command(
      `INSERT INTO ${TABLES.apiKeys} (key_id, hash, role, scope_id, label, created_at, revoked, last_used_day, version) VALUES (` +
        [
          sqlv.str(k.keyId),
          sqlv.str(k.hash),
          sqlv.str(k.role),
          sqlv.str(k.scopeId),
          sqlv.str(k.label),
          sqlv.dateTime(created),
          sqlv.int(k.revoked ? 1 : 0),
          sqlv.date(k.lastUsedDay ?? NEVER),
          sqlv.int(version),
        ].join(', ') +
        ')',
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
    createdAt: new Date(Number(r.created_s) * 1000).toISOString(),
    revoked: Number(r.revoked) === 1,
    lastUsedDay: r.last_used === NEVER || r.last_used.startsWith('0000') ? null : r.last_used,
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
