import type { ControlQueries } from '@confidant/shared';

export type ThrottlePolicy = { perAccount: number; perAddress: number; windowMs: number };

/**
 * Sign-in attempts per account (a digest of its email) and per client address (a digest of it). Each attempt is counted by one upsert before
 * its password is checked, so parallel guesses get consecutive counts and no more than the limit is
 * ever checked in a window; an account or address over its limit is locked for the rest of the window.
 * A success clears the account's count; the address's count only runs out (signing in to one's own
 * account must not reset the count of guesses at others').
 */
export class SignInThrottle {
  constructor(
    private readonly db: ControlQueries,
    private readonly policy: ThrottlePolicy,
  ) {}

  /** Counts an attempt; true when it may go ahead, false while the account or the address is locked. */
  async admit(email: string, addressHash: string): Promise<boolean> {
    const account = await this.count('account', email);
    const address = await this.count('address', addressHash);
    return account <= this.policy.perAccount && address <= this.policy.perAddress;
  }

  /** Counts a request from an address alone (a password reset); false while the address is locked. */
  async admitAddress(addressHash: string): Promise<boolean> {
    return (await this.count('address', addressHash)) <= this.policy.perAddress;
  }

  async succeeded(email: string): Promise<void> {
    await this.db.query(`DELETE FROM sign_in_throttle WHERE kind = 'account' AND subject = sign_in_account($1)`, [
      email,
    ]);
  }

  private async count(kind: 'account' | 'address', subject: string): Promise<number> {
    // The account's subject is the database's digest of the email as typed (normalised there).
    const value = kind === 'account' ? 'sign_in_account($2)' : '$2';
    const [row] = await this.db.query<{ attempts: number }>(
      `INSERT INTO sign_in_throttle AS t (kind, subject, attempts, window_started_at) VALUES ($1, ${value}, 1, now())
       ON CONFLICT (kind, subject) DO UPDATE SET
         attempts = CASE WHEN t.window_started_at <= now() - $3 * interval '1 millisecond' THEN 1 ELSE t.attempts + 1 END,
         window_started_at = CASE WHEN t.window_started_at <= now() - $3 * interval '1 millisecond' THEN now() ELSE t.window_started_at END
       RETURNING attempts`,
      [kind, subject, this.policy.windowMs],
    );
    return row!.attempts;
  }
}
