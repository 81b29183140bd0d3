import type { ControlQueries } from '@confidant/shared';
import { newAccountToken, tokenHash } from './account-token.ts';

export type SessionPolicy = { idleMs: number; absoluteMs: number };
export type ActiveSession = { userId: string; tokenHash: string; needsTotp: boolean };

/**
 * Sessions in the control plane, known by the SHA-256 of their cookie's token. Both expiries are
 * checked by the database clock in the statement that extends the session, so one request cannot
 * revive a session another found expired.
 */
export class SessionStore {
  constructor(
    private readonly db: ControlQueries,
    private readonly policy: SessionPolicy,
  ) {}

  /** A fresh session (never one the client proposed: no fixation); returns the cookie's token. */
  async create(userId: string, needsTotp: boolean, tx: ControlQueries = this.db): Promise<string> {
    const token = newAccountToken();
    await tx.query(
      `INSERT INTO sessions (token_hash, user_id, needs_totp, absolute_expires_at)
       VALUES ($1, $2, $3, now() + $4 * interval '1 millisecond')`,
      [tokenHash(token), userId, needsTotp, this.policy.absoluteMs],
    );
    return token;
  }

  /** The session of `token` when neither expiry has passed (and its idle time restarts); null otherwise. */
  async resolve(token: string): Promise<ActiveSession | null> {
    const hash = tokenHash(token);
    const [row] = await this.db.query<{ user_id: string; needs_totp: boolean }>(
      `UPDATE sessions s SET last_seen_at = now() FROM users u
       WHERE s.token_hash = $1 AND u.user_id = s.user_id AND u.disabled_at IS NULL
         AND s.absolute_expires_at > now() AND s.last_seen_at > now() - $2 * interval '1 millisecond'
       RETURNING s.user_id, s.needs_totp`,
      [hash, this.policy.idleMs],
    );
    if (row) return { userId: row.user_id, tokenHash: hash, needsTotp: row.needs_totp };
    await this.db.query('DELETE FROM sessions WHERE token_hash = $1', [hash]);
    return null;
  }

  async end(hash: string): Promise<void> {
    await this.db.query('DELETE FROM sessions WHERE token_hash = $1', [hash]);
  }

  /** Ends every session of a user (a password reset). */
  async endAll(userId: string, tx: ControlQueries = this.db): Promise<void> {
    await tx.query('DELETE FROM sessions WHERE user_id = $1', [userId]);
  }

  async clearTotpRequirement(userId: string, tx: ControlQueries = this.db): Promise<void> {
    await tx.query('UPDATE sessions SET needs_totp = false WHERE user_id = $1', [userId]);
  }
}
