import { z } from 'zod';
import { TABLES, sqlv, type Db } from '@confidant/shared';

export const partnerSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and -'),
  name: z.string().min(1).max(200),
});
export type Partner = z.infer<typeof partnerSchema>;

let counter = 0n;

/** Data partners (recipients of cross-practice exports); versioned rows, latest wins. */
export class PartnerStore {
  constructor(private readonly db: Db) {}

  async save(input: Partner): Promise<Partner> {
    const p = partnerSchema.parse(input);
    const version = BigInt(Date.now()) * 1000n + (counter = (counter + 1n) % 1000n);
    await this.db.command(
      `INSERT INTO ${TABLES.partners} (partner_id, name, version, created_at) VALUES (${sqlv.str(p.id)}, ${sqlv.str(p.name)}, ${sqlv.int(version)}, ${sqlv.dateTime(new Date())})`,
    );
    return p;
  }

  async get(id: string): Promise<Partner | null> {
    const rows = await this.db.rows<{ partner_id: string; name: string }>(
      `SELECT partner_id, name FROM ${TABLES.partners} FINAL WHERE partner_id = ${sqlv.str(id)}`,
    );
    return rows[0] ? { id: rows[0].partner_id, name: rows[0].name } : null;
  }

  async list(): Promise<Partner[]> {
    const rows = await this.db.rows<{ partner_id: string; name: string }>(
      `SELECT partner_id, name FROM ${TABLES.partners} FINAL ORDER BY partner_id`,
    );
    return rows.map((r) => ({ id: r.partner_id, name: r.name }));
  }
}
