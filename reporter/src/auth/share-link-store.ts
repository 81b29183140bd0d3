import { randomBytes } from 'node:crypto';
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';
import type { ControlDb } from '@confidant/shared';
import { hashesMatch, hashSecret } from './api-key.ts';

/** `cs_<linkId>_<secret>` opens a link; `cu_<unlockId>_<secret>` is what its password buys. */
const LINK_RE = /^cs_([0-9a-f]{16})_([0-9a-f]{64})$/;
const UNLOCK_RE = /^cu_([0-9a-f]{16})_([0-9a-f]{64})$/;
/** Wrong passwords per link within the window before it refuses every guess until the window passes. */
export const SHARE_PASSWORD_MAX_FAILURES = 5;
export const SHARE_PASSWORD_WINDOW_MS = 15 * 60_000;
/** An unlock lasts this long, and never beyond its link. */
export const SHARE_UNLOCK_MS = 8 * 3_600_000;

export type ShareLink = {
  linkId: string;
  practiceId: string;
  label: string;
  hasPassword: boolean;
  createdAt: string;
  expiresAt: string;
  revoked: boolean;
};

type LinkRow = {
  link_id: string;
  practice_id: string;
  token_hash: string;
  label: string;
  password_hash: string | null;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
};

const fromRow = (r: LinkRow): ShareLink => ({
  linkId: r.link_id,
  practiceId: r.practice_id,
  label: r.label,
  hasPassword: r.password_hash !== null,
  createdAt: r.created_at.toISOString(),
  expiresAt: r.expires_at.toISOString(),
  revoked: r.revoked_at !== null,
});

const newSecret = () => ({ id: randomBytes(8).toString('hex'), secret: randomBytes(32).toString('hex') });

export type UnlockResult =
  | { kind: 'unlocked'; accessToken: string; expiresAt: string }
  | { kind: 'wrong-password' }
  | { kind: 'throttled' }
  | { kind: 'no-link' };

/**
 * Share links in the control plane; every check reads the table, so a revocation applies to the next
 * request. Expiry is on the database's clock alone.
 */
export class ShareLinkStore {
  constructor(private readonly db: ControlDb) {}

  async create(
    practiceId: string,
    input: { label: string; expiresInDays: number; password?: string },
  ): Promise<{ link: ShareLink; token: string }> {
    const { id, secret } = newSecret();
    const passwordHash = input.password ? await argon2Hash(input.password) : null;
    const [row] = await this.db.query<LinkRow>(
      `INSERT INTO share_links (link_id, practice_id, token_hash, label, password_hash, expires_at)
       VALUES ($1, $2, $3, $4, $5, now() + $6 * interval '1 day') RETURNING *`,
      [id, practiceId, hashSecret(secret), input.label, passwordHash, input.expiresInDays],
    );
    return { link: fromRow(row!), token: `cs_${id}_${secret}` };
  }

  async list(practiceId: string): Promise<ShareLink[]> {
    const rows = await this.db.query<LinkRow>(
      'SELECT * FROM share_links WHERE practice_id = $1 ORDER BY created_at, link_id',
      [practiceId],
    );
    return rows.map(fromRow);
  }

  /** Revokes a link and everything its password unlocked; false when the practice has no such link. */
  async revoke(practiceId: string, linkId: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query(
        'UPDATE share_links SET revoked_at = coalesce(revoked_at, now()) WHERE practice_id = $1 AND link_id = $2 RETURNING link_id',
        [practiceId, linkId],
      );
      if (rows.length === 0) return false;
      await tx.query('DELETE FROM share_link_unlocks WHERE link_id = $1', [linkId]);
      return true;
    });
  }

  /** The live link a `cs_` token opens (not revoked, not expired), or null. */
  async resolve(token: string): Promise<ShareLink | null> {
    const m = LINK_RE.exec(token);
    if (!m) return null;
    const [row] = await this.db.query<LinkRow>(
      'SELECT * FROM share_links WHERE link_id = $1 AND revoked_at IS NULL AND expires_at > now()',
      [m[1]],
    );
    return row && hashesMatch(hashSecret(m[2]!), row.token_hash) ? fromRow(row) : null;
  }

  /**
   * The practice a bearer token may read: a link without a password, or an unlock of a link with one
   * (both still live). A link with a password grants nothing by itself.
   */
  async authorize(token: string): Promise<ShareLink | null> {
    if (LINK_RE.test(token)) {
      const link = await this.resolve(token);
      return link && !link.hasPassword ? link : null;
    }
    const m = UNLOCK_RE.exec(token);
    if (!m) return null;
    const [row] = await this.db.query<LinkRow & { secret_hash: string }>(
      `SELECT l.*, u.secret_hash FROM share_link_unlocks u JOIN share_links l USING (link_id)
       WHERE u.unlock_id = $1 AND u.expires_at > now() AND l.revoked_at IS NULL AND l.expires_at > now()`,
      [m[1]],
    );
    return row && hashesMatch(hashSecret(m[2]!), row.secret_hash) ? fromRow(row) : null;
  }

  /**
   * Checks a link's password. Guesses are counted per link under the link's row lock, so parallel
   * guesses cannot pass the limit; a correct password past the limit is refused as well.
   */
  async unlock(token: string, password: string): Promise<UnlockResult> {
    const m = LINK_RE.exec(token);
    if (!m) return { kind: 'no-link' };
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<LinkRow>(
        'SELECT * FROM share_links WHERE link_id = $1 AND revoked_at IS NULL AND expires_at > now() FOR UPDATE',
        [m[1]],
      );
      if (!row || !hashesMatch(hashSecret(m[2]!), row.token_hash) || row.password_hash === null)
        return { kind: 'no-link' } as const;
      await tx.query(
        `DELETE FROM share_link_failures WHERE link_id = $1 AND failed_at <= now() - $2 * interval '1 millisecond'`,
        [row.link_id, SHARE_PASSWORD_WINDOW_MS],
      );
      const [recent] = await tx.query<{ n: string }>(
        `SELECT count(*) AS n FROM share_link_failures WHERE link_id = $1 AND failed_at > now() - $2 * interval '1 millisecond'`,
        [row.link_id, SHARE_PASSWORD_WINDOW_MS],
      );
      if (Number(recent!.n) >= SHARE_PASSWORD_MAX_FAILURES) return { kind: 'throttled' } as const;
      if (!(await argon2Verify(row.password_hash, password))) {
        await tx.query('INSERT INTO share_link_failures (link_id) VALUES ($1)', [row.link_id]);
        return { kind: 'wrong-password' } as const;
      }
      const { id, secret } = newSecret();
      const [unlock] = await tx.query<{ expires_at: Date }>(
        `INSERT INTO share_link_unlocks (unlock_id, link_id, secret_hash, expires_at)
         VALUES ($1, $2, $3, least(now() + $4 * interval '1 millisecond', $5)) RETURNING expires_at`,
        [id, row.link_id, hashSecret(secret), SHARE_UNLOCK_MS, row.expires_at],
      );
      return {
        kind: 'unlocked',
        accessToken: `cu_${id}_${secret}`,
        expiresAt: unlock!.expires_at.toISOString(),
      } as const;
    });
  }
}
