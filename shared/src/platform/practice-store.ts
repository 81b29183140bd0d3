import { DomainError } from '../contracts/errors.ts';
import { practiceSchema, type Practice, type PracticeInput } from '../contracts/practice.ts';
import type { ControlQueries } from './postgres/control-db.ts';

type PracticeRow = {
  practice_id: string;
  site_key: string;
  name: string;
  domains: string[];
  timezone: string;
  cookie_mode: boolean;
  page_classes: unknown;
  exit_allowlist: string[];
  props_allowlist: string[];
  events: unknown;
  path_templates: unknown;
  share_with_partners: boolean;
  share_identity: boolean;
  mark_not_found: boolean;
  updated_at: Date;
};

const COLUMNS = `practice_id, site_key, name, domains, timezone, cookie_mode, page_classes, exit_allowlist,
  props_allowlist, events, path_templates, share_with_partners, share_identity, mark_not_found, updated_at`;

const REPLACE = `DO UPDATE SET
  site_key = excluded.site_key, name = excluded.name, domains = excluded.domains, timezone = excluded.timezone,
  cookie_mode = excluded.cookie_mode, page_classes = excluded.page_classes,
  exit_allowlist = excluded.exit_allowlist, props_allowlist = excluded.props_allowlist,
  events = excluded.events, path_templates = excluded.path_templates,
  share_with_partners = excluded.share_with_partners, share_identity = excluded.share_identity,
  mark_not_found = excluded.mark_not_found, revision = nextval('practice_revision'), updated_at = now()`;

/** The practice registry in the control plane. */
export class PracticeStore {
  constructor(private readonly db: ControlQueries) {}

  async list(): Promise<Practice[]> {
    return (await this.db.query<PracticeRow>(`SELECT ${COLUMNS} FROM practices ORDER BY practice_id`)).map(fromRow);
  }

  async get(id: string): Promise<Practice | null> {
    const [row] = await this.db.query<PracticeRow>(`SELECT ${COLUMNS} FROM practices WHERE practice_id = $1`, [id]);
    return row ? fromRow(row) : null;
  }

  /**
   * Change marker: lets services poll cheaply for registry changes. Each save takes a new, higher
   * revision, so the sum grows with every commit, also when two saves commit out of revision order
   * (a plain max would miss the one committed last with the lower revision).
   */
  async revision(): Promise<string> {
    const [row] = await this.db.query<{ r: string }>(
      "SELECT count(*) || ':' || coalesce(sum(revision), 0) AS r FROM practices",
    );
    return row?.r ?? '0:0';
  }

  /** Inserts or replaces a practice; returns the stored value. A site key another practice has is a conflict. */
  async save(input: PracticeInput): Promise<Practice> {
    return (await this.write(input, REPLACE))!;
  }

  /** Inserts a new practice; null when one with this id exists (checked and written in one statement). */
  create(input: PracticeInput): Promise<Practice | null> {
    return this.write(input, 'DO NOTHING');
  }

  private async write(input: PracticeInput, onConflict: string): Promise<Practice | null> {
    const p = practiceSchema.parse(input);
    try {
      const [row] = await this.db.query<PracticeRow>(
        `INSERT INTO practices (practice_id, site_key, name, domains, timezone, cookie_mode, page_classes, exit_allowlist,
           props_allowlist, events, path_templates, share_with_partners, share_identity, mark_not_found)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (practice_id) ${onConflict}
         RETURNING ${COLUMNS}`,
        [
          p.id,
          p.siteKey,
          p.name,
          p.domains,
          p.timezone,
          p.cookieMode,
          JSON.stringify(p.pageClasses),
          p.exitAllowlist,
          p.propsAllowlist,
          JSON.stringify(p.events),
          JSON.stringify(p.pathTemplates),
          p.shareWithPartners,
          p.shareIdentity,
          p.markNotFound,
        ],
      );
      return row ? fromRow(row) : null;
    } catch (error) {
      if ((error as { code?: string }).code === '23505')
        throw new DomainError('conflict', `site key ${p.siteKey} belongs to another practice`);
      throw error;
    }
  }
}

function fromRow(row: PracticeRow): Practice {
  return practiceSchema.parse({
    id: row.practice_id,
    siteKey: row.site_key,
    name: row.name,
    domains: row.domains,
    timezone: row.timezone,
    cookieMode: row.cookie_mode,
    pageClasses: row.page_classes,
    exitAllowlist: row.exit_allowlist,
    propsAllowlist: row.props_allowlist,
    events: row.events,
    pathTemplates: row.path_templates,
    shareWithPartners: row.share_with_partners,
    shareIdentity: row.share_identity,
    markNotFound: row.mark_not_found,
    updatedAt: row.updated_at.getTime(),
  });
}
