import { partnerDayClosesAt, SEAL_MARGIN_MS, type EventEnvelope } from '@confidant/shared';
import { testEnvelope } from '@confidant/shared/testing';
import { insertPartnerDays, PartnerDays, sealClosedPartnerDays } from '@confidant/processor';
import type { ReporterHarness } from './reporter-fixture.ts';

const DAY_MS = 86_400_000;

/** A visitor key (hex) for a small number. */
export const visitorKey = (n: number): string => n.toString(16).padStart(16, '0');

let ids = 0;
/** A page view of visitor `n` at `ts` (epoch ms), as the collector sends it. */
export const visit = (practiceId: string, n: number, ts: number, over: Partial<EventEnvelope> = {}): EventEnvelope =>
  testEnvelope({ practiceId, ts, visitor: visitorKey(n), id: (++ids).toString(16).padStart(32, '0'), ...over });

/**
 * Writes events' partner visitor-days as one processor batch does, at `now` (default: an hour after
 * the last event). The rows of a day already closed at `now` are left out, as the processor does.
 */
export async function writePartnerBatch(h: ReporterHarness, events: EventEnvelope[], now?: number): Promise<void> {
  const days = new PartnerDays();
  for (const e of events) days.add(e);
  const at = now ?? Math.max(...events.map((e) => e.ts)) + 3_600_000;
  await insertPartnerDays(h.config.clickhouse, days.rows(at), `batch-${++ids}`);
}

/** Runs the partner sealer as if it were `now` (default: long after every day closed). */
export const sealPartner = (h: ReporterHarness, now = Date.UTC(2030, 0, 1)): Promise<number[]> =>
  sealClosedPartnerDays({ db: h.db, clickhouse: h.config.clickhouse, now: () => now });

/** The moment a UTC day's partner states may be sealed. */
export const sealableAt = (iso: string): number =>
  partnerDayClosesAt(Date.parse(`${iso}T00:00:00Z`) / DAY_MS) + SEAL_MARGIN_MS;
