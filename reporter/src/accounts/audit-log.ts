import type { ControlQueries } from '@confidant/shared';

/** The actions that change access; every one is written to the append-only `audit_log`. */
export type AuditAction =
  | 'sign_in'
  | 'sign_in_failed'
  | 'sign_out'
  | 'invitation_sent'
  | 'invitation_accepted'
  | 'password_reset_requested'
  | 'password_reset'
  | 'membership_removed'
  | 'role_changed'
  | 'operator_admin_created'
  | 'two_factor_enabled'
  | 'recovery_code_used'
  | 'key_created'
  | 'key_revoked'
  | 'share_link_created'
  | 'share_link_revoked';

export type AuditEntry = {
  action: AuditAction;
  /** Who did it: `user:<id>`, `key:<id>` or `cli`; null for an anonymous attempt. */
  actor?: string | null;
  /** Whom or what it concerns: `user:<id>`, `key:<id>`, an email's account (failures name no email). */
  target?: string | null;
  practiceId?: string | null;
  /** SHA-256 of the client address, never the address. */
  addressHash?: string | null;
  detail?: Record<string, unknown>;
};

export type AuditRow = {
  seq: number;
  at: string;
  action: string;
  actor: string | null;
  target: string | null;
  practiceId: string | null;
  addressHash: string | null;
  detail: Record<string, unknown>;
};

type Row = {
  seq: string;
  at: Date;
  action: string;
  actor: string | null;
  target: string | null;
  practice_id: string | null;
  address_hash: string | null;
  detail: Record<string, unknown>;
};

/**
 * The audit log: INSERT only. The table's triggers refuse UPDATE, DELETE and TRUNCATE, so an entry
 * cannot be changed or removed through this process (or any other).
 */
export class AuditLog {
  constructor(private readonly db: ControlQueries) {}

  /** Writes one entry; pass a transaction to make it commit (or not) with the change it records. */
  async record(entry: AuditEntry, tx: ControlQueries = this.db): Promise<void> {
    await tx.query(
      `INSERT INTO audit_log (action, actor, target, practice_id, address_hash, detail) VALUES ($1, $2, $3, $4, $5, $6)`,
      [
        entry.action,
        entry.actor ?? null,
        entry.target ?? null,
        entry.practiceId ?? null,
        entry.addressHash ?? null,
        JSON.stringify(entry.detail ?? {}),
      ],
    );
  }

  /** Entries in order, from `afterSeq` on (for paging and exports), at most `limit`. */
  async list(options: { afterSeq?: number; limit?: number; since?: Date } = {}): Promise<AuditRow[]> {
    const rows = await this.db.query<Row>(
      `SELECT seq::text AS seq, at, action, actor, target, practice_id, address_hash, detail FROM audit_log
       WHERE seq > $1 AND at >= $2 ORDER BY seq LIMIT $3`,
      [options.afterSeq ?? 0, options.since ?? new Date(0), options.limit ?? 1000],
    );
    return rows.map((r) => ({
      seq: Number(r.seq),
      at: r.at.toISOString(),
      action: r.action,
      actor: r.actor,
      target: r.target,
      practiceId: r.practice_id,
      addressHash: r.address_hash,
      detail: r.detail,
    }));
  }
}

export const AUDIT_CSV_COLUMNS = ['seq', 'at', 'action', 'actor', 'target', 'practiceId', 'addressHash', 'detail'];
