import { PORTABLE_SETTINGS, TABLES, sqlv, type CommonConfig, type Db, type EventSource } from '@confidant/shared';
import type { DailyRow, HourlyRow } from '../aggregate/rollup-accumulator.ts';
import type { LineWord } from '../imports/import-line-ledger.ts';
import { BlockEncodeError, clickHouseErrorCode, InsertError } from './insert-error.ts';
import { encodeNativeBlock, nativeColumn as col } from './native-block.ts';

/** Where a batch ends: written in the same block as its rollups, so both commit or neither. */
export type LedgerEntry = {
  consumerGroup: string;
  topic: string;
  partition: number;
  nextOffset: bigint;
  batchId: string;
};

const KIND_TYPE = "Enum8('daily' = 1, 'hourly' = 2, 'ledger' = 3, 'lines' = 4)";
const SOURCE_TYPE = "Enum8('snippet' = 1, 'logs' = 2)";
const KIND = { daily: 1, hourly: 2, ledger: 3, lines: 4 } as const;
const SOURCE: Record<EventSource, number> = { snippet: 1, logs: 2 };

type IngestRow = {
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
  source: SOURCE.snippet,
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
  daily: readonly DailyRow[],
  hourly: readonly HourlyRow[],
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
  daily: readonly DailyRow[],
  hourly: readonly HourlyRow[],
  ledger: LedgerEntry,
  lines: readonly LineWord[],
): Buffer {
  const rows: IngestRow[] = [
    ...daily.map((r) => ({ ...r, kind: KIND.daily, hour: 0, source: SOURCE[r.source], ledger: null, line: null })),
    ...hourly.map((r) => ({
      ...r,
      kind: KIND.hourly,
      dim: '',
      value: '',
      events: 0,
      source: SOURCE[r.source],
      ledger: null,
      line: null,
    })),
    ...lines.map((line) => ({
      ...blank,
      kind: KIND.lines,
      ledger: { ...ledger, topic: '', partition: 0, nextOffset: 0n, batchId: '' },
      line,
    })),
    { ...blank, kind: KIND.ledger, ledger },
  ];
  const pick = <T>(f: (r: IngestRow) => T): T[] => rows.map(f);
  return encodeNativeBlock([
    col.enum8(
      'kind',
      KIND_TYPE,
      pick((r) => r.kind),
    ),
    col.string(
      'practice_id',
      pick((r) => r.practiceId),
    ),
    col.date(
      'day',
      pick((r) => r.day),
    ),
    col.uint8(
      'hour',
      pick((r) => r.hour),
    ),
    col.enum8(
      'source',
      SOURCE_TYPE,
      pick((r) => r.source),
    ),
    col.string(
      'dim',
      pick((r) => r.dim),
    ),
    col.string(
      'value',
      pick((r) => r.value),
    ),
    col.int64(
      'pageviews',
      pick((r) => BigInt(r.pageviews)),
    ),
    col.int64(
      'visits',
      pick((r) => BigInt(r.visits)),
    ),
    col.int64(
      'bounces',
      pick((r) => BigInt(r.bounces)),
    ),
    col.int64(
      'engaged_ms',
      pick((r) => BigInt(r.engagedMs)),
    ),
    col.int64(
      'events',
      pick((r) => BigInt(r.events)),
    ),
    col.arrayUInt64(
      'visitor_hashes',
      pick((r) => r.visitorHashes),
    ),
    col.string(
      'consumer_group',
      pick((r) => r.ledger?.consumerGroup ?? ''),
    ),
    col.string(
      'topic',
      pick((r) => r.ledger?.topic ?? ''),
    ),
    col.uint32(
      'partition',
      pick((r) => r.ledger?.partition ?? 0),
    ),
    col.uint64(
      'next_offset',
      pick((r) => r.ledger?.nextOffset ?? 0n),
    ),
    col.string(
      'batch_id',
      pick((r) => r.ledger?.batchId ?? ''),
    ),
    col.string(
      'import_key',
      pick((r) => r.line?.importKey ?? ''),
    ),
    col.uint64(
      'word',
      pick((r) => r.line?.word ?? 0n),
    ),
    col.uint64(
      'bits',
      pick((r) => r.line?.bits ?? 0n),
    ),
  ]);
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
