import { ROLLUP_SOURCE_CODES, TABLES, type CommonConfig } from '@confidant/shared';
import type { PartnerDayRow } from '../aggregate/partner-days.ts';
import { encodeNativeBlock, nativeColumn as col } from './native-block.ts';
import { insertNativeBlock } from './rollup-writer.ts';

const SOURCE_TYPE = "Enum8('snippet' = 1, 'logs' = 2)";

/** One Native block for `partner_visitor_days_ingest` (migration 0033). */
export function buildPartnerDaysBlock(rows: readonly PartnerDayRow[]): Buffer {
  return encodeNativeBlock([
    col.string(
      'practice_id',
      rows.map((r) => r.practiceId),
    ),
    col.date(
      'day',
      rows.map((r) => r.day),
    ),
    col.enum8(
      'source',
      SOURCE_TYPE,
      rows.map((r) => ROLLUP_SOURCE_CODES[r.source]),
    ),
    col.string(
      'cell',
      rows.map((r) => r.cell),
    ),
    col.uint8(
      'sealed',
      rows.map((r) => (r.sealed ? 1 : 0)),
    ),
    col.arrayUInt64(
      'visitor_hashes',
      rows.map((r) => r.visitorHashes),
    ),
    col.uint64(
      'visitor_count',
      rows.map((r) => BigInt(r.visitorCount)),
    ),
  ]);
}

/**
 * Writes partner rows. Open states are uniq states: writing the same rows again (a retried or
 * re-delivered batch) changes no count, so they need no ledger of their own.
 */
export async function insertPartnerDays(
  config: CommonConfig['clickhouse'],
  rows: readonly PartnerDayRow[],
  queryId: string,
): Promise<void> {
  if (rows.length)
    await insertNativeBlock(config, TABLES.partnerVisitorDaysIngest, buildPartnerDaysBlock(rows), queryId);
}
