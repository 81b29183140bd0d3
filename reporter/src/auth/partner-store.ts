import { z } from 'zod';
import type { ControlQueries } from '@confidant/shared';

export const partnerSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and -'),
  name: z.string().min(1).max(200),
});
export type Partner = z.infer<typeof partnerSchema>;

/** Data partners (recipients of cross-practice exports), in the control plane. */
export class PartnerStore {
  constructor(private readonly db: ControlQueries) {}

  /** Inserts or renames a partner. */
  async save(input: Partner): Promise<Partner> {
    const p = partnerSchema.parse(input);
    await this.db.query(
      'INSERT INTO partners (partner_id, name) VALUES ($1, $2) ON CONFLICT (partner_id) DO UPDATE SET name = excluded.name',
      [p.id, p.name],
    );
    return p;
  }

  /** Inserts a new partner; null when one with this id exists (checked and written in one statement). */
  async create(input: Partner): Promise<Partner | null> {
    const p = partnerSchema.parse(input);
    const rows = await this.db.query(
      'INSERT INTO partners (partner_id, name) VALUES ($1, $2) ON CONFLICT (partner_id) DO NOTHING RETURNING 1 AS x',
      [p.id, p.name],
    );
    return rows.length ? p : null;
  }

  async get(id: string): Promise<Partner | null> {
    const [row] = await this.db.query<Partner>('SELECT partner_id AS id, name FROM partners WHERE partner_id = $1', [
      id,
    ]);
    return row ?? null;
  }

  async list(): Promise<Partner[]> {
    return this.db.query<Partner>('SELECT partner_id AS id, name FROM partners ORDER BY partner_id');
  }
}
