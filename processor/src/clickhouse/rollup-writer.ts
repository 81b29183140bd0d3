import {
  INGEST_KIND_CODES,
  INGEST_TABLE,
  PORTABLE_SETTINGS,
  ROLLUP_SOURCE_CODES,
  TABLES,
  sqlv,
  type ColumnSpec,
  type CommonConfig,
  type Db,
  type IngestColumn,
} from '@confidant/shared';
import type { DailyRollupKey, DailyRollupRow, HourlyRollupRow } from '../aggregate/rollup-accumulator.ts';
import type { LineWord } from '../imports/import-line-ledger.ts';
import { BlockEncodeError, clickHouseErrorCode, InsertError } from './insert-error.ts';
import { encodeNativeBlock, nativeColumn as col, type NativeColumn } from './native-block.ts';

/** Where a batch ends: written in the same block as its rollups, so both commit or neither. */
export type LedgerEntry = {
  consumerGroup: string;
  topic: string;
  partition: number;
  nextOffset: bigint;
  batchId: string;
};

export type IngestRow = {
  kind: number;
  practiceId: string;
  day: number;
  hour: number;
  source: number;
  dim: string;
  value: string;
  states: number;
  writtenHour: number;
  pageviews: number;
  visits: number;
  bounces: number;
  engagedMs: number;
  events: number;
  visitorHashes: number[];
  visitorCount: number;
  ledger: LedgerEntry | null;
  line: LineWord | null;
};

/** A cookie-mode month's unique visitors of one row, as the sealer counted them (`month`: its first day). */
export type MonthlyVisitorsRow = Omit<DailyRollupKey, 'day'> & { month: number; visitorCount: number };

/** The rows of a batch or of a sealing, all written in one block. */
export type IngestRows = {
  daily: readonly DailyRollupRow[];
  hourly: readonly HourlyRollupRow[];
  monthly?: readonly MonthlyVisitorsRow[];
  /** A sealing's `seal` rows: which practice's states of which partition it sealed. */
  seals?: ReadonlyArray<{ practiceId: string; day: number; states: number; writtenHour: number }>;
  lines?: readonly LineWord[];
  /** Exactly one per processor batch; a sealing has none. */
  ledger: LedgerEntry | null;
};

const blank = {
  practiceId: '',
  day: 0,
  hour: 0,
  source: ROLLUP_SOURCE_CODES.snippet,
  dim: '',
  value: '',
  states: 0,
  writtenHour: 0,
  pageviews: 0,
  visits: 0,
  bounces: 0,
  engagedMs: 0,
  events: 0,
  visitorHashes: [],
  visitorCount: 0,
  ledger: null,
  line: null,
};

/**
 * One Native block for `rollup_ingest_v3`: the daily, hourly and monthly rows, the import lines they
 * apply (`lines`) and the ledger row or the seal rows, so all of them commit or none. Throws
 * BlockEncodeError for a value the columns cannot hold.
 */
export function buildIngestBlock(rows: IngestRows): Buffer {
  try {
    return encodeIngestRows(rows);
  } catch (error) {
    throw new BlockEncodeError(error instanceof Error ? error.message : String(error));
  }
}

function encodeIngestRows({ daily, hourly, monthly = [], seals = [], lines = [], ledger }: IngestRows): Buffer {
  const rows: IngestRow[] = [
    ...daily.map((r) => ({
      ...r,
      kind: INGEST_KIND_CODES.daily,
      hour: 0,
      source: ROLLUP_SOURCE_CODES[r.source],
      ledger: null,
      line: null,
    })),
    ...hourly.map((r) => ({
      ...r,
      kind: INGEST_KIND_CODES.hourly,
      dim: '',
      value: '',
      events: 0,
      source: ROLLUP_SOURCE_CODES[r.source],
      ledger: null,
      line: null,
    })),
    ...monthly.map((r) => ({
      ...blank,
      kind: INGEST_KIND_CODES.monthly,
      practiceId: r.practiceId,
      day: r.month,
      source: ROLLUP_SOURCE_CODES[r.source],
      dim: r.dim,
      value: r.value,
      visitorCount: r.visitorCount,
    })),
    ...seals.map((seal) => ({ ...blank, kind: INGEST_KIND_CODES.seal, ...seal })),
    ...lines.map((line) => ({
      ...blank,
      kind: INGEST_KIND_CODES.lines,
      ledger: { consumerGroup: ledger?.consumerGroup ?? '', topic: '', partition: 0, nextOffset: 0n, batchId: '' },
      line,
    })),
    ...(ledger ? [{ ...blank, kind: INGEST_KIND_CODES.ledger, ledger }] : []),
  ];
  return encodeNativeBlock(ingestColumns(rows));
}

type ColumnWriter = (spec: ColumnSpec, rows: readonly IngestRow[]) => NativeColumn;
const values =
  <T>(column: (name: string, values: readonly T[]) => NativeColumn, value: (r: IngestRow) => T): ColumnWriter =>
  (spec, rows) =>
    column(spec.name, rows.map(value));
/** An Enum8 column declared exactly as the schema spells it. */
const codes =
  (code: (r: IngestRow) => number): ColumnWriter =>
  (spec, rows) =>
    col.enum8(spec.name, spec.type, rows.map(code));

/** How each column of the ingest table is filled: every column of the schema, and only those. */
const INGEST_WRITERS: Record<IngestColumn, ColumnWriter> = {
  kind: codes((r) => r.kind),
  practice_id: values(col.string, (r) => r.practiceId),
  day: values(col.date, (r) => r.day),
  hour: values(col.uint8, (r) => r.hour),
  source: codes((r) => r.source),
  dim: values(col.string, (r) => r.dim),
  value: values(col.string, (r) => r.value),
  states: values(col.uint8, (r) => r.states),
  written_hour: values(col.uint32, (r) => r.writtenHour),
  pageviews: values(col.int64, (r) => BigInt(r.pageviews)),
  visits: values(col.int64, (r) => BigInt(r.visits)),
  bounces: values(col.int64, (r) => BigInt(r.bounces)),
  engaged_ms: values(col.int64, (r) => BigInt(r.engagedMs)),
  events: values(col.int64, (r) => BigInt(r.events)),
  visitor_hashes: values(col.arrayUInt64, (r) => r.visitorHashes),
  visitor_count: values(col.uint64, (r) => BigInt(r.visitorCount)),
  consumer_group: values(col.string, (r) => r.ledger?.consumerGroup ?? ''),
  topic: values(col.string, (r) => r.ledger?.topic ?? ''),
  partition: values(col.uint32, (r) => r.ledger?.partition ?? 0),
  next_offset: values(col.uint64, (r) => r.ledger?.nextOffset ?? 0n),
  batch_id: values(col.string, (r) => r.ledger?.batchId ?? ''),
  import_key: values(col.string, (r) => r.line?.importKey ?? ''),
  word: values(col.uint64, (r) => r.line?.word ?? 0n),
  bits: values(col.uint64, (r) => r.line?.bits ?? 0n),
};

/** The ingest table's columns for `rows`, in the schema's order. */
export function ingestColumns(rows: readonly IngestRow[]): NativeColumn[] {
  return INGEST_TABLE.columns.map((spec) => INGEST_WRITERS[spec.name](spec, rows));
}

/**
 * Sends a Native block in one request with a Content-Length. `queryId` is the batch id:
 * ClickHouse refuses a second query with the id of one still running, so a retry can
 * never overlap an earlier attempt that is still being applied.
 */
export async function insertIngestBlock(
  config: CommonConfig['clickhouse'],
  block: Buffer,
  queryId: string,
  timeoutMs = 20_000,
): Promise<void> {
  await insertNativeBlock(config, TABLES.rollupIngest, block, queryId, timeoutMs);
}

/** Sends a Native block into `table` in one request (see insertIngestBlock). */
export async function insertNativeBlock(
  config: CommonConfig['clickhouse'],
  table: string,
  block: Buffer,
  queryId: string,
  timeoutMs = 20_000,
): Promise<void> {
  const url = new URL(config.url);
  url.searchParams.set('database', config.database);
  url.searchParams.set('query', `INSERT INTO ${sqlv.ident(table)} FORMAT Native`);
  url.searchParams.set('query_id', queryId);
  for (const [name, value] of Object.entries(PORTABLE_SETTINGS)) url.searchParams.set(name, String(value));
  const response = await fetch(url, {
    method: 'POST',
    body: Uint8Array.from(block),
    headers: {
      authorization: `Basic ${Buffer.from(`${config.user}:${config.password}`).toString('base64')}`,
      'content-type': 'application/octet-stream',
    },
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  if (!response.ok)
    throw new InsertError(
      `ClickHouse insert failed (${response.status}): ${text.slice(0, 300)}`,
      response.status,
      clickHouseErrorCode(response.headers.get('x-clickhouse-exception-code'), text),
    );
}

/** The first offset not yet applied for a partition (0 when nothing was ever applied). */
export async function readLedgerOffset(
  db: Db,
  consumerGroup: string,
  topic: string,
  partition: number,
): Promise<bigint> {
  const [row] = await db.rows<{ next: string }>(
    `SELECT toString(max(next_offset)) AS next FROM ${sqlv.ident(TABLES.processorLedger)} WHERE consumer_group = ${sqlv.str(consumerGroup)} AND topic = ${sqlv.str(topic)} AND partition = ${sqlv.int(partition)}`,
  );
  return BigInt(row?.next ?? '0');
}
