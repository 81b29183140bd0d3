import { randomBytes } from 'node:crypto';
import * as OTPAuth from 'otpauth';
import type { ControlQueries } from '@confidant/shared';
import { tokenHash } from './account-token.ts';

const PERIOD_S = 30;
/** Codes one step either side of now are accepted (clock drift), each step once. */
const WINDOW = 1;
const RECOVERY_CODES = 10;
const ALREADY_USED = 'P0002';

const totpFor = (secret: string, email: string) =>
  new OTPAuth.TOTP({
    issuer: 'Confidant',
    label: email,
    secret: OTPAuth.Secret.fromBase32(secret),
    algorithm: 'SHA1',
    digits: 6,
    period: PERIOD_S,
  });

export const newTotpSecret = (): string => new OTPAuth.Secret({ size: 20 }).base32;

/** The `otpauth://` URI an authenticator app reads (typed in or pasted; the page has no QR code). */
export const totpUri = (secret: string, email: string): string => totpFor(secret, email).toString();

/** The time step a 6-digit code belongs to (within the window around `now`), or null when it is wrong. */
export function totpStep(secret: string, email: string, code: string, now: Date): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = totpFor(secret, email).validate({ token: code, timestamp: now.getTime(), window: WINDOW });
  return delta === null ? null : Math.floor(now.getTime() / 1000 / PERIOD_S) + delta;
}

/** A recovery code as typed: spaces and dashes dropped, lower case. */
const normaliseRecoveryCode = (code: string): string => code.replace(/[\s-]/g, '').toLowerCase();

/** Recovery codes (shown once) and two-factor state; single use is the tables' rule. */
export class TwoFactorStore {
  constructor(private readonly db: ControlQueries) {}

  /** Claims a time step for the user: false when a code of that step was already used (a replay). */
  async claimStep(userId: string, step: number, tx: ControlQueries = this.db): Promise<boolean> {
    const rows = await tx.query(
      'INSERT INTO totp_used_steps (user_id, step) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1 AS x',
      [userId, step],
    );
    return rows.length > 0;
  }

  async setPending(userId: string, secret: string): Promise<void> {
    await this.db.query('UPDATE users SET totp_pending_secret = $2 WHERE user_id = $1 AND totp_secret IS NULL', [
      userId,
      secret,
    ]);
  }

  /** Turns the pending secret on and replaces the recovery codes; returns the new codes (shown once). */
  async enable(userId: string, tx: ControlQueries): Promise<string[]> {
    await tx.query(
      'UPDATE users SET totp_secret = totp_pending_secret, totp_pending_secret = NULL WHERE user_id = $1 AND totp_pending_secret IS NOT NULL',
      [userId],
    );
    await tx.query('DELETE FROM recovery_codes WHERE user_id = $1', [userId]);
    const codes = Array.from({ length: RECOVERY_CODES }, () => {
      const hex = randomBytes(5).toString('hex');
      return `${hex.slice(0, 5)}-${hex.slice(5)}`;
    });
    for (const code of codes)
      await tx.query('INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)', [
        userId,
        tokenHash(normaliseRecoveryCode(code)),
      ]);
    return codes;
  }

  /** Uses a recovery code: false when it is not one of the user's, or was used before. */
  async useRecoveryCode(userId: string, code: string): Promise<boolean> {
    try {
      const rows = await this.db.query(
        'UPDATE recovery_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 RETURNING 1 AS x',
        [userId, tokenHash(normaliseRecoveryCode(code))],
      );
      return rows.length > 0;
    } catch (error) {
      if (typeof error === 'object' && error !== null && 'code' in error && error.code === ALREADY_USED) return false;
      throw error;
    }
  }
}
