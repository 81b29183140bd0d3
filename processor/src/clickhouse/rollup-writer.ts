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
import type { DailyRollupRow, HourlyRollupRow } from '../aggregate/rollup-accumulator.ts';
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
  pageviews: number;
  visits: number;
  bounces: number;
  engagedMs: number;
  events: number;
  visitorHashes: number[];
  ledger: LedgerEntry | null;
  line: LineWord | null;
};

const blank = {
  practiceId: '',
  day: 0,
  hour: 0,
  source: ROLLUP_SOURCE_CODES.snippet,
  dim: '',
  value: '',
  pageviews: 0,
  visits: 0,
  bounces: 0,
  engagedMs: 0,
  events: 0,
  visitorHashes: [],
  ledger: null,
  line: null,
};

/**
 * One Native block for `rollup_ingest_v2`: the daily rows, the hourly rows, the import lines they
 * apply (`lines`) and exactly one ledger row, so all of them commit or none. Throws BlockEncodeError
 * for a value the columns cannot hold.
 */
export function buildIngestBlock(
  daily: readonly DailyRollupRow[],
  hourly: readonly HourlyRollupRow[],
  ledger: LedgerEntry,
  lines: readonly LineWord[] = [],
): Buffer {
  try {
    return encodeIngestRows(daily, hourly, ledger, lines);
  } catch (error) {
    throw new BlockEncodeError(error instanceof Error ? error.message : String(error));
  }
}

function encodeIngestRows(
  daily: readonly DailyRollupRow[],
  hourly: readonly HourlyRollupRow[],
  ledger: LedgerEntry,
  lines: readonly LineWord[],
): Buffer {
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
    ...lines.map((line) => ({
      ...blank,
      kind: INGEST_KIND_CODES.lines,
      ledger: { ...ledger, topic: '', partition: 0, nextOffset: 0n, batchId: '' },
      line,
    })),
    { ...blank, kind: INGEST_KIND_CODES.ledger, ledger },
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
  pageviews: values(col.int64, (r) => BigInt(r.pageviews)),
  visits: values(col.int64, (r) => BigInt(r.visits)),
  bounces: values(col.int64, (r) => BigInt(r.bounces)),
  engaged_ms: values(col.int64, (r) => BigInt(r.engagedMs)),
  events: values(col.int64, (r) => BigInt(r.events)),
  visitor_hashes: values(col.arrayUInt64, (r) => r.visitorHashes),
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
  const url = new URL(config.url);
  url.searchParams.set('database', config.database);
  url.searchParams.set('query', `INSERT INTO ${sqlv.ident(TABLES.rollupIngestV2)} FORMAT Native`);
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
