import type { Db } from './clickhouse/clickhouse-client.ts';
import { int, str } from './clickhouse/sql-values.ts';
import { TABLES } from '../contracts/names.ts';
import { practiceSchema, type Practice, type PracticeInput } from '../contracts/practice.ts';

type PracticeRow = {
  practice_id: string;
  site_key: string;
  name: string;
  domains: string[];
  timezone: string;
  cookie_mode: number;
  page_classes: string;
  exit_allowlist: string[];
  props_allowlist: string[];
  share_with_partners: number;
  share_identity: number;
  mark_not_found: number;
  version: string;
};

const arr = (values: string[]): string => `[${values.map(str).join(', ')}]`;

/** The practice registry in ClickHouse: versioned rows, latest wins. */
export class PracticeStore {
  constructor(private readonly db: Db) {}

  async list(): Promise<Practice[]> {
    const rows = await this.db.rows<PracticeRow>(
      `SELECT * FROM ${TABLES.practices} FINAL WHERE deleted = 0 ORDER BY practice_id`,
    );
    return rows.map(fromRow);
  }

  async get(id: string): Promise<Practice | null> {
    const rows = await this.db.rows<PracticeRow>(
      `SELECT * FROM ${TABLES.practices} FINAL WHERE practice_id = ${str(id)} AND deleted = 0`,
    );
    return rows[0] ? fromRow(rows[0]) : null;
  }

  /** Latest change marker: lets services poll cheaply for registry changes. */
  async revision(): Promise<string> {
    const [row] = await this.db.rows<{ r: string }>(`SELECT toString(max(version)) AS r FROM ${TABLES.practices}`);
    return row?.r ?? '0';
  }

  /** Inserts or replaces a practice; returns the stored value. */
  async save(input: PracticeInput): Promise<Practice> {
    const now = Date.now();
    const p = practiceSchema.parse({ ...input, updatedAt: now });
    const version = BigInt(now) * 1000n + BigInt(Math.floor(Math.random() * 1000));
    await this.db.command(
      `INSERT INTO ${TABLES.practices} (practice_id, site_key, name, domains, timezone, cookie_mode, page_classes, exit_allowlist, props_allowlist, share_with_partners, share_identity, mark_not_found, deleted, version, updated_at) VALUES (` +
        [
          str(p.id),
          str(p.siteKey),
          str(p.name),
          arr(p.domains),
          str(p.timezone),
          int(p.cookieMode ? 1 : 0),
          str(JSON.stringify(p.pageClasses)),
          arr(p.exitAllowlist),
          arr(p.propsAllowlist),
          int(p.shareWithPartners ? 1 : 0),
          int(p.shareIdentity ? 1 : 0),
          int(p.markNotFound ? 1 : 0),
          '0',
          int(version),
          `toDateTime(${int(Math.floor(now / 1000))}, 'UTC')`,
        ].join(', ') +
        ')',
    );
    return p;
  }
}

function fromRow(row: PracticeRow): Practice {
  return practiceSchema.parse({
    id: row.practice_id,
    siteKey: row.site_key,
    name: row.name,
    domains: row.domains,
    timezone: row.timezone,
    cookieMode: row.cookie_mode === 1,
    pageClasses: JSON.parse(row.page_classes),
    exitAllowlist: row.exit_allowlist,
    propsAllowlist: row.props_allowlist,
    shareWithPartners: row.share_with_partners === 1,
    shareIdentity: row.share_identity === 1,
    markNotFound: row.mark_not_found === 1,
    updatedAt: Number(BigInt(row.version) / 1000n),
  });
}
