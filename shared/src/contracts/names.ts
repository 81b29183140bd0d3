/**
 * Kafka topic and ClickHouse table names: the one place they are spelled. The control plane's tables
 * (PostgreSQL) are named in its migrations (`shared/control-migrations/`) and its stores.
 */
export const HOUR_MS = 3_600_000;

export type TopicSpec = { name: string; partitions: number; retentionMs: number };

/**
 * Topics under a prefix (tests use a unique prefix per run). The raw event topics keep at most
 * 48 h: `events` one beacon event per message, `eventBatches` log hits in batches of events.
 */
export function topicsFor(prefix: string): { events: TopicSpec; eventBatches: TopicSpec; deadLetter: TopicSpec } {
  const p = prefix ? `${prefix}.` : '';
  return {
    events: { name: `${p}events.v1`, partitions: 3, retentionMs: 48 * HOUR_MS },
    eventBatches: { name: `${p}event-batches.v1`, partitions: 3, retentionMs: 48 * HOUR_MS },
    deadLetter: { name: `${p}events.dlq.v1`, partitions: 1, retentionMs: 14 * 24 * HOUR_MS },
  };
}

export const TABLES = {
  migrations: 'schema_migrations',
  /**
   * Counts and, apart from them, visitor states until their salt period closes (migration 0026), sorted
   * by dimension before day (0030).
   */
  rollupDaily: 'rollup_daily_v4',
  rollupHourly: 'rollup_hourly_v3',
  /** Unique visitors of a cookie-mode month, counted when its states were sealed. */
  rollupMonthlyVisitors: 'rollup_monthly_visitors',
  /** Which practices' visitor states of a day or month were sealed into counts. */
  visitorSealLedger: 'visitor_seal_ledger',
  /** The processor's and sealer's one entry point since migration 0026. */
  rollupIngest: 'rollup_ingest_v3',
  /** Partner releases' visitor-days: states per UTC salt day until sealed into counts (migration 0033). */
  partnerVisitorDays: 'partner_visitor_days',
  partnerVisitorDaysIngest: 'partner_visitor_days_ingest',
  /** When the processor began writing partner visitor-days. */
  partnerVisitorDaysSince: 'partner_visitor_days_since',
  importLineLedger: 'import_line_ledger',
  processorLedger: 'processor_ledger',
  logImportProgress: 'log_import_progress',
  importBucketKey: 'import_bucket_key',
} as const;
