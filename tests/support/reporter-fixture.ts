import {
  connectClickHouse,
  connectControlDb,
  createLogger,
  migrateStores,
  PracticeStore,
  sqlv,
  ROLLUP_STATES,
  TABLES,
  type ControlDb,
  type CommonConfig,
  type ControlQueries,
  type Db,
  type PracticeInput,
} from '@confidant/shared';
import { insertPartnerDays, type PartnerDayRow } from '@confidant/processor';
import type { FastifyInstance } from 'fastify';
import { buildApp, type ReporterAppDeps, loadReporterConfig, type ReporterConfig } from '@confidant/reporter';
import { dropTestControlDatabase } from './control-db.ts';
import { isolatedConfig } from './test-env.ts';

export const ADMIN_KEY = 'test-admin-key-0123456789abcdef';
export const adminAuth = { authorization: `Bearer ${ADMIN_KEY}` };
export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

export type ReporterHarness = {
  app: FastifyInstance;
  db: Db;
  control: ControlDb;
  config: ReporterConfig;
  cleanup: () => Promise<void>;
};

/**
 * A reporter on its own migrated ClickHouse and control-plane databases (no Kafka: the reporter never touches it).
 * `env` overrides reporter settings such as the rate limit or the DP budget.
 */
export async function startReporter(
  label: string,
  env: Record<string, string> = {},
  extra: Partial<ReporterAppDeps> = {},
): Promise<ReporterHarness> {
  const common = isolatedConfig(label);
  const config = loadReporterConfig({
    ...process.env,
    CLICKHOUSE_DATABASE: common.clickhouse.database,
    POSTGRES_URL: common.controlPlane.url,
    REPORTER_ADMIN_KEY: ADMIN_KEY,
    LOG_LEVEL: 'silent',
    ...env,
  });
  await migrateStores(config);
  const db = connectClickHouse(config.clickhouse);
  const control = connectControlDb(config.controlPlane);
  const app = await buildApp({ config, db, control, logger: createLogger('reporter-test', 'silent'), ...extra });
  return {
    app,
    db,
    control,
    config,
    async cleanup() {
      await app.close();
      await Promise.all([db.close(), control.close()]);
      await dropTestControlDatabase(config.controlPlane);
      if (process.env.KEEP_TEST_DATA !== '1') {
        const server = connectClickHouse(config.clickhouse, { database: null });
        await server.command(`DROP DATABASE IF EXISTS ${sqlv.ident(config.clickhouse.database)}`);
        await server.close();
      }
    },
  };
}

export const practice = (id: string, extra: Partial<PracticeInput> = {}): PracticeInput => ({
  id,
  siteKey: `site-${id}`,
  name: `Practice ${id}`,
  domains: [`${id}.example`],
  timezone: 'America/New_York',
  ...extra,
});

export async function savePractices(control: ControlQueries, ...inputs: PracticeInput[]): Promise<void> {
  const store = new PracticeStore(control);
  for (const p of inputs) await store.save(p);
}

type Counts = {
  pageviews?: number;
  visits?: number;
  bounces?: number;
  engagedMs?: number;
  events?: number;
  /** Visitor values of open states (a daily salt's, or a monthly salt's with `monthlySalt`). */
  visitors?: number[];
  monthlySalt?: boolean;
  /** Late states: their visitors came after their period closed, written in this hour (since 1970). */
  lateHour?: number;
  /** Visitors already sealed into a count. */
  sealedVisitors?: number;
};
type DailyRow = Counts & { practiceId: string; day: string; dim: string; value?: string; source?: 'snippet' | 'logs' };
type HourlyRow = Counts & { practiceId: string; day: string; hour: number; source?: 'snippet' | 'logs' };

/** Builds rollup rows the way the processor writes them: through the rollup_ingest Null table. */
export class RollupFixture {
  private readonly rows: string[] = [];

  daily(r: DailyRow): this {
    this.rows.push(this.row('daily', r.practiceId, r.day, 0, r.source ?? 'snippet', r.dim, r.value ?? '', r));
    return this;
  }

  hourly(r: HourlyRow): this {
    this.rows.push(this.row('hourly', r.practiceId, r.day, r.hour, r.source ?? 'snippet', '', '', r));
    return this;
  }

  async flush(db: Db): Promise<void> {
    if (!this.rows.length) return;
    await db.command(
      `INSERT INTO ${TABLES.rollupIngest} (kind, practice_id, day, hour, source, dim, value, states, written_hour, pageviews, visits, bounces, engaged_ms, events, visitor_hashes, visitor_count, consumer_group, topic, partition, next_offset, batch_id) VALUES ${this.rows.join(', ')}`,
    );
    this.rows.length = 0;
  }

  private row(
    kind: string,
    practiceId: string,
    day: string,
    hour: number,
    source: string,
    dim: string,
    value: string,
    c: Counts,
  ): string {
    const visitors = `CAST([${(c.visitors ?? []).map((v) => sqlv.int(v)).join(', ')}] AS Array(UInt64))`;
    const open = c.monthlySalt ? ROLLUP_STATES.monthly : ROLLUP_STATES.daily;
    const late = c.monthlySalt ? ROLLUP_STATES.lateMonthly : ROLLUP_STATES.lateDaily;
    const states = c.visitors?.length ? (c.lateHour === undefined ? open : late) : 0;
    return `(${[
      sqlv.str(kind),
      sqlv.str(practiceId),
      sqlv.date(day),
      sqlv.int(hour),
      sqlv.str(source),
      sqlv.str(dim),
      sqlv.str(value),
      sqlv.int(states),
      sqlv.int(states === late ? c.lateHour! : 0),
      sqlv.int(c.pageviews ?? 0),
      sqlv.int(c.visits ?? 0),
      sqlv.int(c.bounces ?? 0),
      sqlv.int(c.engagedMs ?? 0),
      sqlv.int(c.events ?? 0),
      visitors,
      sqlv.int(c.sealedVisitors ?? 0),
      "''",
      "''",
      '0',
      '0',
      "''",
    ].join(', ')})`;
  }
}

/** Partner visitor-days (migration 0033) as the processor and its sealer write them. */
export class PartnerDaysFixture {
  private readonly rows: PartnerDayRow[] = [];

  /** A practice-day's sealed count of one cell (`all` or a country). */
  sealed(practiceId: string, day: string, cell: string, count: number, source: 'snippet' | 'logs' = 'snippet'): this {
    this.rows.push({
      practiceId,
      day: dayNumber(day),
      source,
      cell,
      visitorHashes: [],
      visitorCount: count,
      sealed: true,
    });
    return this;
  }

  /** Open states of a day not sealed yet. */
  open(practiceId: string, day: string, cell: string, visitors: number[]): this {
    this.rows.push({
      practiceId,
      day: dayNumber(day),
      source: 'snippet',
      cell,
      visitorHashes: visitors,
      visitorCount: 0,
      sealed: false,
    });
    return this;
  }

  async flush(h: { config: { clickhouse: CommonConfig['clickhouse'] } }): Promise<void> {
    await insertPartnerDays(h.config.clickhouse, this.rows, `fixture-${Math.random().toString(36).slice(2)}`);
    this.rows.length = 0;
  }
}

/** Says the processor has written partner visitor-days since `iso` (the migration records its own time). */
export async function partnerDataSince(db: Db, iso: string): Promise<void> {
  await db.command(`TRUNCATE TABLE ${sqlv.ident(TABLES.partnerVisitorDaysSince)}`);
  await db.command(
    `INSERT INTO ${sqlv.ident(TABLES.partnerVisitorDaysSince)} (started_at) SELECT toDateTime(${sqlv.str(iso)}, 'UTC')`,
  );
}

const dayNumber = (iso: string) => Date.parse(`${iso}T00:00:00Z`) / 86_400_000;
