import type { ControlQueries } from '@confidant/shared';
import type { PracticeRole } from './account-store.ts';
import { newAccountToken, tokenHash } from './account-token.ts';

export type LinkPurpose = 'invitation' | 'password_reset';

export type AccountLink = {
  purpose: LinkPurpose;
  email: string;
  practiceId: string | null;
  role: PracticeRole | null;
  partnerId: string | null;
  invitedBy: string | null;
  expiresAt: Date;
};

export type Invitation = { email: string; practiceId?: string; role?: PracticeRole; partnerId?: string };

/** Why a link cannot be used. */
export class LinkRefused extends Error {
  override name = 'LinkRefused';
  constructor(readonly reason: 'unknown' | 'used' | 'expired') {
    super(`link ${reason}`);
  }
}

type LinkRow = {
  purpose: LinkPurpose;
  email: string;
  practice_id: string | null;
  role: PracticeRole | null;
  partner_id: string | null;
  invited_by: string | null;
  expires_at: Date;
  used_at: Date | null;
};

const LINK_COLUMNS = 'purpose, email, practice_id, role, partner_id, invited_by, expires_at, used_at';
// Raised by the table's single-use trigger, and its CHECK that a link is used before it expires.
const ALREADY_USED = 'P0002';
const CHECK_VIOLATION = '23514';

const fromRow = (r: LinkRow): AccountLink => ({
  purpose: r.purpose,
  email: r.email,
  practiceId: r.practice_id,
  role: r.role,
  partnerId: r.partner_id,
  invitedBy: r.invited_by,
  expiresAt: r.expires_at,
});

const sqlstateOf = (error: unknown): string | undefined =>
  typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;

/**
 * Invitations and password resets: links with a 256-bit token, stored as its SHA-256. That a link is
 * used once and never after it expires is the table's rule (a trigger and a CHECK), not this code's.
 */
export class AccountLinkStore {
  constructor(private readonly db: ControlQueries) {}

  async create(
    purpose: LinkPurpose,
    invitation: Invitation,
    ttlMs: number,
    invitedBy: string | null,
    tx: ControlQueries = this.db,
  ): Promise<{ token: string; expiresAt: Date }> {
    const token = newAccountToken();
    const [row] = await tx.query<{ expires_at: Date }>(
      `INSERT INTO account_links (token_hash, purpose, email, practice_id, role, partner_id, invited_by, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, now() + $8 * interval '1 millisecond') RETURNING expires_at`,
      [
        tokenHash(token),
        purpose,
        invitation.email,
        invitation.practiceId ?? null,
        invitation.role ?? null,
        invitation.partnerId ?? null,
        invitedBy,
        ttlMs,
      ],
    );
    return { token, expiresAt: row!.expires_at };
  }

  /** The link, to show its form; refused when unknown, used or expired (the redemption decides for good). */
  async peek(token: string, purpose: LinkPurpose): Promise<AccountLink> {
    const [row] = await this.db.query<LinkRow & { expired: boolean }>(
      `SELECT ${LINK_COLUMNS}, expires_at <= now() AS expired FROM account_links WHERE token_hash = $1 AND purpose = $2`,
      [tokenHash(token), purpose],
    );
    if (!row) throw new LinkRefused('unknown');
    if (row.used_at) throw new LinkRefused('used');
    if (row.expired) throw new LinkRefused('expired');
    return fromRow(row);
  }

  /** Marks the link used inside `tx` and returns it; the database refuses a second use and a late one. */
  async redeem(token: string, purpose: LinkPurpose, tx: ControlQueries): Promise<AccountLink> {
    let rows: LinkRow[];
    try {
      rows = await tx.query<LinkRow>(
        `UPDATE account_links SET used_at = now() WHERE token_hash = $1 AND purpose = $2 RETURNING ${LINK_COLUMNS}`,
        [tokenHash(token), purpose],
      );
    } catch (error) {
      const code = sqlstateOf(error);
      if (code === ALREADY_USED) throw new LinkRefused('used');
      if (code === CHECK_VIOLATION) throw new LinkRefused('expired');
      throw error;
    }
    if (!rows[0]) throw new LinkRefused('unknown');
    return fromRow(rows[0]);
  }
}
