import type { Admin } from 'kafkajs';
import { clickHouseErrorCode, type Db } from '../platform/clickhouse/clickhouse-client.ts';
import * as sqlv from '../platform/clickhouse/sql-values.ts';
import { topicsFor } from '../contracts/names.ts';
import type { ControlQueries } from '../platform/postgres/control-db.ts';
import { PARTITION_MONTH_SQL, RETAINED_TABLES, oldestKeptMonth } from './partition-retention.ts';
import { saltPeriodIdEnd } from './salt-expiry.ts';
import { findLingeringVisitorStates } from './visitor-states-audit.ts';

/**
 * `confidant audit`: evidence that storage holds aggregates only. Lists every table and column,
 * flags columns whose name or type could hold an identifier, scans stored strings for
 * identifier-like values, reports salt ages and the retention of topics and tables.
 * Any finding makes the audit fail.
 */
export type AuditFinding = {
  kind:
    | 'column-name'
    | 'column-type'
    | 'value-pattern'
    | 'salt-age'
    | 'visitor-states'
    | 'salt-location'
    | 'topic-retention'
    | 'table-retention';
  table?: string;
  column?: string;
  detail: string;
};

export type AuditReport = {
  database: string;
  tables: Array<{ table: string; engine: string; columns: Array<{ name: string; type: string }> }>;
  /** The salt database audited, or null when the caller has no access to it (the reporter's audit). */
  saltDatabase: string | null;
  salts: Array<{ table: string; column: string; oldestAgeHours: number }>;
  /** Columns not scanned for some patterns, and why: nothing is left out without saying so. */
  exemptions: Array<{ table: string; column: string; patterns: string[]; reason: string }>;
  topics: Array<{ topic: string; retentionMs: number }>;
  tableRetention: Array<{ table: string; oldestPartition: number | null; oldestAllowed: number }>;
  findings: AuditFinding[];
};

export type AuditOptions = {
  db: Db;
  /**
   * Connected to the salt database as the salts user: salt ages are checked there. Without it (the
   * reporter, which has no grant on salts) `saltDatabase` is null and only the main database is checked.
   */
  salts?: Db;
  /** When given, the control plane's tables are listed and their text scanned too (as `control.<table>`). */
  control?: ControlQueries;
  /** When given, topic retention is checked too. */
  admin?: Admin;
  topicPrefix: string;
  retentionMonths: number;
  /** A daily salt is destroyed within 48 h after its day ends. */
  maxSaltAgeHours?: number;
  now?: Date;
};

/** kafkajs' ConfigResourceTypes.TOPIC (a CommonJS export ESM cannot import by name). */
const TOPIC_RESOURCE = 2;
const IDENTIFIER_NAME =
  /(^|_)(ip|ips|ip_address|remote_addr|user_agent|useragent|ua|cookie|cookie_id|email|phone|ssn|visitor|visitor_id|visitor_key|session_id|fingerprint|device_id)($|_)/i;
const IDENTIFIER_TYPE = /\b(IPv4|IPv6)\b/;
/** re2 patterns (ClickHouse `match`) for values that look like identifiers. */
export const VALUE_PATTERNS: Record<string, string> = {
  ipv4: '(^|[^0-9.])([0-9]{1,3}\\.){3}[0-9]{1,3}([^0-9.]|$)',
  ipv6: '([0-9A-Fa-f]{1,4}:){5,7}[0-9A-Fa-f]{1,4}|[0-9A-Fa-f]{1,4}::[0-9A-Fa-f]{1,4}',
  email: '[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}',
  phone: '(^|[^0-9])(\\+?1[ .-]?)?\\(?[0-9]{3}\\)?[ .-][0-9]{3}[ .-][0-9]{4}([^0-9]|$)',
  ssn: '(^|[^0-9])[0-9]{3}-[0-9]{2}-[0-9]{4}([^0-9]|$)',
};
/**
 * Operator configuration that names hosts, where the address pattern does not apply: a practice may serve
 * its own site from an IPv4 address (the demo's `127.0.0.1`; the practice schema takes no IPv6 there).
 * Visitor-derived values (pages, referrers, exit targets in rollups) are scanned with every pattern; so
 * is every other control-plane column, and this one with the other patterns.
 */
const OPERATOR_HOST_COLUMNS = new Set(['practices.domains']);
const ADDRESS_PATTERNS = ['ipv4'];
/** The sign-in emails of the people who use Confidant (staff, partners, operators), which accounts need; no visitor's. */
const ACCOUNT_EMAIL_COLUMNS = new Set(['users.email', 'account_links.email']);
const EMAIL_PATTERNS = ['email'];
/** A salt table's name (its period is checked apart). */
const SALT_LIKE = /salt/i;
/** Engines that keep no rows of their own. */
const STORES_NOTHING = new Set(['Null', 'MaterializedView', 'View']);
const STRING_TYPE = /^(Nullable\(|LowCardinality\()*String\)*$/;
const STRING_ARRAY_TYPE = /^Array\((Nullable\(|LowCardinality\()*String\)*\)$/;
/** Types too narrow to hold an identifier (flags such as `cookie_mode UInt8`). */
const NARROW_TYPE = /^(UInt8|Int8|UInt16|Int16|Enum8|Enum16|Date|DateTime)\b/;

export async function runPrivacyAudit(options: AuditOptions): Promise<AuditReport> {
  const { db } = options;
  const now = options.now ?? new Date();
  const findings: AuditFinding[] = [];
  const [dbRow] = await db.rows<{ d: string }>('SELECT currentDatabase() AS d');
  const tables = await db.rows<{ name: string; engine: string }>(
    'SELECT name, engine FROM system.tables WHERE database = currentDatabase() ORDER BY name',
  );
  const columns = await db.rows<{ table: string; name: string; type: string }>(
    'SELECT table, name, type FROM system.columns WHERE database = currentDatabase()',
  );

  const report: AuditReport = {
    database: dbRow?.d ?? '',
    tables: tables.map((t) => ({
      table: t.name,
      engine: t.engine,
      columns: columns.filter((c) => c.table === t.name).map(({ name, type }) => ({ name, type })),
    })),
    saltDatabase: options.salts?.database ?? null,
    salts: [],
    exemptions: [],
    topics: [],
    tableRetention: [],
    findings,
  };

  for (const table of report.tables) {
    if (STORES_NOTHING.has(table.engine)) continue;
    for (const column of table.columns) {
      if (IDENTIFIER_NAME.test(column.name) && !NARROW_TYPE.test(column.type))
        findings.push({
          kind: 'column-name',
          table: table.table,
          column: column.name,
          detail: `column name suggests an identifier (${column.type})`,
        });
      if (IDENTIFIER_TYPE.test(column.type))
        findings.push({
          kind: 'column-type',
          table: table.table,
          column: column.name,
          detail: `type ${column.type} holds addresses`,
        });
      const scalar = STRING_TYPE.test(column.type);
      if (!scalar && !STRING_ARRAY_TYPE.test(column.type)) continue;
      for (const [pattern, re] of Object.entries(VALUE_PATTERNS)) {
        const col = sqlv.ident(column.name);
        const condition = scalar
          ? `match(${col}, ${sqlv.str(re)})`
          : `arrayExists(x -> match(x, ${sqlv.str(re)}), ${col})`;
        const [hit] = await db.rows<{ n: string }>(
          `SELECT count() AS n FROM ${sqlv.ident(table.table)} WHERE ${condition}`,
        );
        const n = Number(hit?.n ?? 0);
        // The count only: repeating a found value in the report would copy the identifier.
        if (n > 0)
          findings.push({
            kind: 'value-pattern',
            table: table.table,
            column: column.name,
            detail: `${n} value(s) look like ${pattern}`,
          });
      }
    }
  }

  if (options.control) await auditControlPlane(options.control, report);

  for (const lingering of await findLingeringVisitorStates(db, now))
    findings.push({
      kind: 'visitor-states',
      table: lingering.table,
      column: 'visitors',
      detail: `visitor states of ${lingering.day} (states ${lingering.states}) are ${lingering.hoursLate} h past their seal deadline: their salt period is over, they must be counts`,
    });

  // Salts belong in the salt database, which only the salts user reaches: one in the main database is
  // readable by every service, whatever its age.
  for (const table of report.tables.filter((t) => SALT_LIKE.test(t.table) && !STORES_NOTHING.has(t.engine)))
    findings.push({
      kind: 'salt-location',
      table: table.table,
      detail: `a salt table in the main database ${report.database}, which every service can read`,
    });
  if (options.salts) await auditSalts(options.salts, options.maxSaltAgeHours ?? 48, now, report);

  const oldestAllowed = oldestKeptMonth(options.retentionMonths, now);
  for (const table of RETAINED_TABLES) {
    const [row] = await db.rows<{ p: string; n: string }>(
      `SELECT toString(min(${PARTITION_MONTH_SQL})) AS p, toString(count()) AS n FROM system.parts WHERE database = currentDatabase() AND active AND table = ${sqlv.str(table)}`,
    );
    const oldestPartition = row && Number(row.n) > 0 ? Number(row.p) : null;
    report.tableRetention.push({ table, oldestPartition, oldestAllowed });
    if (oldestPartition !== null && oldestPartition < oldestAllowed) {
      findings.push({
        kind: 'table-retention',
        table,
        detail: `partition ${oldestPartition} is older than the ${options.retentionMonths}-month retention`,
      });
    }
  }

  if (options.admin) {
    const specs = Object.values(topicsFor(options.topicPrefix));
    const existing = new Set(await options.admin.listTopics());
    const present = specs.filter((s) => existing.has(s.name));
    if (present.length) {
      const described = await options.admin.describeConfigs({
        includeSynonyms: false,
        resources: present.map((s) => ({ type: TOPIC_RESOURCE, name: s.name, configNames: ['retention.ms'] })),
      });
      for (const resource of described.resources) {
        const retentionMs = Number(
          resource.configEntries.find((e) => e.configName === 'retention.ms')?.configValue ?? -1,
        );
        const spec = present.find((s) => s.name === resource.resourceName)!;
        report.topics.push({ topic: resource.resourceName, retentionMs });
        if (retentionMs < 0 || retentionMs > spec.retentionMs) {
          findings.push({
            kind: 'topic-retention',
            detail: `topic ${resource.resourceName} keeps data ${retentionMs < 0 ? 'forever' : `${retentionMs} ms`} (policy ${spec.retentionMs} ms)`,
          });
        }
      }
    }
  }
  return report;
}

/**
 * The collector keeps one Memory table per salt period (collector_salt_dYYYYMMDD / _mYYYYMM) in the salt
 * database; a period's salt must be gone within `maxAgeHours` after the period ends. Any other table
 * there is a finding. A salt database that does not exist yet holds no salt.
 */
async function auditSalts(salts: Db, maxAgeHours: number, now: Date, report: AuditReport): Promise<void> {
  let tables: Array<{ name: string; engine: string }>;
  try {
    tables = await salts.rows(
      'SELECT name, engine FROM system.tables WHERE database = currentDatabase() ORDER BY name',
    );
  } catch (error) {
    if (clickHouseErrorCode(error) === UNKNOWN_DATABASE) return;
    throw error;
  }
  for (const table of tables.filter((t) => !STORES_NOTHING.has(t.engine))) {
    const periodEnd = saltPeriodEnd(table.name);
    if (periodEnd === null) {
      report.findings.push({
        kind: 'salt-age',
        table: table.name,
        detail: 'a table in the salt database whose salt period cannot be read from its name',
      });
      continue;
    }
    const [row] = await salts.rows<{ n: string }>(`SELECT toString(count()) AS n FROM ${sqlv.ident(table.name)}`);
    if (!row || Number(row.n) === 0) continue;
    const hoursPastPeriod = Math.max(0, Math.round((now.getTime() - periodEnd) / 3_600_000));
    report.salts.push({ table: table.name, column: 'salt', oldestAgeHours: hoursPastPeriod });
    if (hoursPastPeriod > maxAgeHours) {
      report.findings.push({
        kind: 'salt-age',
        table: table.name,
        detail: `a salt still exists ${hoursPastPeriod} h after its period ended (limit ${maxAgeHours} h)`,
      });
    }
  }
}

/** ClickHouse's code for a database that does not exist. */
const UNKNOWN_DATABASE = 81;

/** End (epoch ms, UTC) of the period a collector salt table is for, or null when the name is not one. */
export function saltPeriodEnd(table: string): number | null {
  const id = /_(d\d{8}|m\d{6})$/.exec(table)?.[1];
  return id ? saltPeriodIdEnd(id) : null;
}

/**
 * The control plane holds names, domains, labels and keys' hashes: it is listed like the rollups,
 * and its text columns are scanned with the same patterns (PostgreSQL regular expressions accept them).
 */
async function auditControlPlane(control: ControlQueries, report: AuditReport): Promise<void> {
  const columns = await control.query<{ table: string; name: string; type: string }>(
    `SELECT table_name AS table, column_name AS name, data_type AS type FROM information_schema.columns
     WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`,
  );
  for (const table of [...new Set(columns.map((c) => c.table))]) {
    const own = columns.filter((c) => c.table === table);
    const name = `control.${table}`;
    report.tables.push({ table: name, engine: 'PostgreSQL', columns: own.map(({ name, type }) => ({ name, type })) });
    for (const column of own) {
      if (column.type !== 'text' && column.type !== 'ARRAY') continue;
      // Names come from the catalog and are checked before they are quoted; patterns are parameters.
      if (!/^[a-z_][a-z0-9_]*$/.test(table) || !/^[a-z_][a-z0-9_]*$/.test(column.name)) continue;
      const condition =
        column.type === 'text'
          ? `"${column.name}" ~ $1`
          : `EXISTS (SELECT 1 FROM unnest("${column.name}") v WHERE v ~ $1)`;
      const hosts = OPERATOR_HOST_COLUMNS.has(`${table}.${column.name}`);
      if (hosts)
        report.exemptions.push({
          table: name,
          column: column.name,
          patterns: ADDRESS_PATTERNS,
          reason: "the practice's own configured hosts (operator configuration, not a visitor's data)",
        });
      const accountEmails = ACCOUNT_EMAIL_COLUMNS.has(`${table}.${column.name}`);
      if (accountEmails)
        report.exemptions.push({
          table: name,
          column: column.name,
          patterns: EMAIL_PATTERNS,
          reason: 'the sign-in email of a person with an account (staff or operator), not a visitor',
        });
      for (const [pattern, re] of Object.entries(VALUE_PATTERNS)) {
        if (hosts && ADDRESS_PATTERNS.includes(pattern)) continue;
        if (accountEmails && EMAIL_PATTERNS.includes(pattern)) continue;
        const [hit] = await control.query<{ n: string }>(
          `SELECT count(*)::text AS n FROM "${table}" WHERE ${condition}`,
          [re],
        );
        const n = Number(hit?.n ?? 0);
        if (n > 0)
          report.findings.push({
            kind: 'value-pattern',
            table: name,
            column: column.name,
            detail: `${n} value(s) look like ${pattern}`,
          });
      }
    }
  }
}
