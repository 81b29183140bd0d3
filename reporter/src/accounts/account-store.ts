import { randomBytes } from 'node:crypto';
import type { ControlQueries } from '@confidant/shared';

export const PRACTICE_ROLES = ['owner', 'viewer'] as const;
export type PracticeRole = (typeof PRACTICE_ROLES)[number];

export type Account = {
  userId: string;
  email: string;
  passwordHash: string | null;
  totpSecret: string | null;
  totpPendingSecret: string | null;
  operatorAdmin: boolean;
  disabled: boolean;
};

/** What a signed-in person may reach: their practices (with the role in each) and partners. */
export type Grants = {
  operatorAdmin: boolean;
  practices: Map<string, PracticeRole>;
  partners: Set<string>;
};

type AccountRow = {
  user_id: string;
  email: string;
  password_hash: string | null;
  totp_secret: string | null;
  totp_pending_secret: string | null;
  operator_admin: boolean;
  disabled: boolean;
};

const ACCOUNT_COLUMNS = `u.user_id, u.email, u.password_hash, u.totp_secret, u.totp_pending_secret,
  EXISTS (SELECT 1 FROM operator_admins a WHERE a.user_id = u.user_id) AS operator_admin, u.disabled_at IS NOT NULL AS disabled`;

const fromRow = (r: AccountRow): Account => ({
  userId: r.user_id,
  email: r.email,
  passwordHash: r.password_hash,
  totpSecret: r.totp_secret,
  totpPendingSecret: r.totp_pending_secret,
  operatorAdmin: r.operator_admin,
  disabled: r.disabled,
});

/** People and their roles in the control plane. Emails arrive normalised (the table's CHECK refuses others). */
export class AccountStore {
  constructor(private readonly db: ControlQueries) {}

  async byEmail(email: string, tx: ControlQueries = this.db): Promise<Account | null> {
    const [row] = await tx.query<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM users u WHERE u.email = $1`, [email]);
    return row ? fromRow(row) : null;
  }

  async byId(userId: string, tx: ControlQueries = this.db): Promise<Account | null> {
    const [row] = await tx.query<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM users u WHERE u.user_id = $1`, [userId]);
    return row ? fromRow(row) : null;
  }

  /** The user with this email, created (without a password) when there is none. */
  async ensure(email: string, tx: ControlQueries = this.db): Promise<string> {
    const [row] = await tx.query<{ user_id: string }>(
      `INSERT INTO users (user_id, email) VALUES ($1, $2)
       ON CONFLICT (email) DO UPDATE SET email = excluded.email RETURNING user_id`,
      [randomBytes(8).toString('hex'), email],
    );
    return row!.user_id;
  }

  async setPassword(userId: string, passwordHash: string, tx: ControlQueries = this.db): Promise<void> {
    await tx.query('UPDATE users SET password_hash = $2 WHERE user_id = $1', [userId, passwordHash]);
  }

  async grantOperatorAdmin(userId: string, tx: ControlQueries = this.db): Promise<void> {
    await tx.query('INSERT INTO operator_admins (user_id) VALUES ($1) ON CONFLICT DO NOTHING', [userId]);
  }

  async grantPractice(userId: string, practiceId: string, role: PracticeRole, tx: ControlQueries = this.db) {
    await tx.query(
      `INSERT INTO memberships (user_id, practice_id, role) VALUES ($1, $2, $3)
       ON CONFLICT (user_id, practice_id) DO UPDATE SET role = excluded.role`,
      [userId, practiceId, role],
    );
  }

  async grantPartner(userId: string, partnerId: string, tx: ControlQueries = this.db): Promise<void> {
    await tx.query('INSERT INTO partner_users (user_id, partner_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
      userId,
      partnerId,
    ]);
  }

  /** Changes a member's role; false when the person is not a member of the practice. */
  async changeRole(userId: string, practiceId: string, role: PracticeRole, tx: ControlQueries = this.db) {
    const rows = await tx.query(
      'UPDATE memberships SET role = $3 WHERE user_id = $1 AND practice_id = $2 RETURNING 1 AS x',
      [userId, practiceId, role],
    );
    return rows.length > 0;
  }

  async removeMembership(userId: string, practiceId: string, tx: ControlQueries = this.db): Promise<boolean> {
    const rows = await tx.query('DELETE FROM memberships WHERE user_id = $1 AND practice_id = $2 RETURNING 1 AS x', [
      userId,
      practiceId,
    ]);
    return rows.length > 0;
  }

  async members(practiceId: string): Promise<Array<{ userId: string; email: string; role: PracticeRole }>> {
    const rows = await this.db.query<{ user_id: string; email: string; role: PracticeRole }>(
      `SELECT m.user_id, u.email, m.role FROM memberships m JOIN users u USING (user_id)
       WHERE m.practice_id = $1 ORDER BY u.email`,
      [practiceId],
    );
    return rows.map((r) => ({ userId: r.user_id, email: r.email, role: r.role }));
  }

  async list(): Promise<Array<{ userId: string; email: string; operatorAdmin: boolean; twoFactor: boolean }>> {
    const rows = await this.db.query<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM users u ORDER BY u.email`);
    return rows.map((r) => ({
      userId: r.user_id,
      email: r.email,
      operatorAdmin: r.operator_admin,
      twoFactor: r.totp_secret !== null,
    }));
  }

  async grants(userId: string, tx: ControlQueries = this.db): Promise<Grants> {
    const [admin] = await tx.query('SELECT 1 AS x FROM operator_admins WHERE user_id = $1', [userId]);
    const practices = await tx.query<{ practice_id: string; role: PracticeRole }>(
      'SELECT practice_id, role FROM memberships WHERE user_id = $1',
      [userId],
    );
    const partners = await tx.query<{ partner_id: string }>('SELECT partner_id FROM partner_users WHERE user_id = $1', [
      userId,
    ]);
    return {
      operatorAdmin: admin !== undefined,
      practices: new Map(practices.map((p) => [p.practice_id, p.role])),
      partners: new Set(partners.map((p) => p.partner_id)),
    };
  }
}
