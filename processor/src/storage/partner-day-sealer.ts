import {
  PARTNER_VISITOR_DAYS_TABLE,
  partnerDayClosesAt,
  SEAL_MARGIN_MS,
  TABLES,
  sqlv,
  type CommonConfig,
  type Db,
  type EventSource,
} from '@confidant/shared';
import { insertPartnerDays } from '../clickhouse/partner-days-writer.ts';

const DAY_MS = 86_400_000;
const PARTNER = sqlv.ident(PARTNER_VISITOR_DAYS_TABLE.name);
const isoDay = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);
const dayOf = (iso: string) => Date.parse(`${iso}T00:00:00Z`) / DAY_MS;

export type PartnerSealerDeps = {
  db: Db;
  clickhouse: CommonConfig['clickhouse'];
  now?: () => number;
  insert?: typeof insertPartnerDays;
  /** Throws once this process may no longer be the only sealer: checked before each block. */
  stillExclusive?: () => Promise<void>;
};

/**
 * Seals every UTC day of partner states closed at least SEAL_MARGIN_MS ago: each practice's day
 * becomes its exact unique counts per source and cell (one block, so a practice-day is sealed whole
 * or not at all), then the day's states partition is dropped. A practice-day is sealed once: states
 * of a day that already has sealed rows (an insert that landed after its seal, a sealing stopped
 * half way) are dropped uncounted, so no visitor-day is ever counted twice. Returns the days sealed.
 */
export async function sealClosedPartnerDays(deps: PartnerSealerDeps): Promise<number[]> {
  const { db } = deps;
  const now = (deps.now ?? Date.now)();
  const open = await db.rows<{ d: string }>(
    `SELECT DISTINCT toString(day) AS d FROM ${PARTNER} WHERE sealed = 0 ORDER BY d`,
  );
  const sealed: number[] = [];
  for (const { d } of open) {
    const day = dayOf(d);
    if (now < partnerDayClosesAt(day) + SEAL_MARGIN_MS) continue;
    await deps.stillExclusive?.();
    await sealDay(deps, day);
    sealed.push(day);
  }
  return sealed;
}

async function sealDay(deps: PartnerSealerDeps, day: number): Promise<void> {
  const { db } = deps;
  const onDay = `day = ${sqlv.date(isoDay(day))}`;
  const [practices, done] = await Promise.all([
    db.rows<{ p: string }>(`SELECT DISTINCT practice_id AS p FROM ${PARTNER} WHERE sealed = 0 AND ${onDay}`),
    db.rows<{ p: string }>(`SELECT DISTINCT practice_id AS p FROM ${PARTNER} WHERE sealed = 1 AND ${onDay}`),
  ]);
  const skip = new Set(done.map((r) => r.p));
  for (const { p: practiceId } of practices) {
    if (skip.has(practiceId)) continue;
    const counts = await db.rows<{ src: EventSource; cell: string; n: string }>(
      `SELECT toString(source) AS src, cell, toString(${PARTNER_VISITOR_DAYS_TABLE.statesMerge}) AS n FROM ${PARTNER}` +
        ` WHERE sealed = 0 AND ${onDay} AND practice_id = ${sqlv.str(practiceId)} GROUP BY src, cell`,
    );
    await deps.stillExclusive?.();
    await (deps.insert ?? insertPartnerDays)(
      deps.clickhouse,
      counts.map((r) => ({
        practiceId,
        day,
        source: r.src,
        cell: r.cell,
        visitorHashes: [],
        visitorCount: Number(r.n),
        sealed: true,
      })),
      `partner-seal-${day}-${practiceId}`,
    );
  }
  await dropStatesPartition(db, day);
}

/** Drops the day's partition of states (read from system.parts, so the same on every version). */
async function dropStatesPartition(db: Db, day: number): Promise<void> {
  const d = new Date(day * DAY_MS);
  const wanted = `(${d.getUTCFullYear() * 100 + d.getUTCMonth() + 1},0,${d.getUTCDate()})`;
  const parts = await db.rows<{ partition_id: string; partition: string }>(
    `SELECT DISTINCT partition_id, partition FROM system.parts WHERE database = currentDatabase() AND active` +
      ` AND table = ${sqlv.str(TABLES.partnerVisitorDays)}`,
  );
  for (const part of parts)
    if (part.partition.replaceAll(' ', '') === wanted)
      await db.command(`ALTER TABLE ${PARTNER} DROP PARTITION ID ${sqlv.str(part.partition_id)}`);
}
