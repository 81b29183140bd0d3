import { BoundedMap } from '../session/bounded-map.ts';
import { VISIT_IDLE_MS, type Visit } from '../session/sessionizer.ts';
import type { SeenId } from '../pipeline/dedupe.step.ts';

/** How long an envelope id is remembered to catch a retried producer's second copy. */
export const DEDUP_WINDOW_MS = 30 * 60_000;

/**
 * What the processor holds for one assigned partition. It is rebuilt after every group join:
 * the ledger offset is re-read, the duplicate filter warmed up from Kafka, and open visits
 * start empty (the next page view of a visitor starts a new visit).
 */
export class PartitionState {
  /** First offset not yet applied in ClickHouse; null until read from the ledger. */
  ledgerNext: bigint | null = null;
  /** Offsets in [warmStart, ledgerNext) are re-read only to refill the duplicate filter. */
  warmStart = 0n;
  /** Last offset committed to Kafka (a hint for where to resume fetching). */
  committedHint = -1n;
  maxEventTs = 0;
  readonly visits: BoundedMap<Visit>;
  readonly seen: BoundedMap<SeenId>;

  constructor(limits: { sessionMaxEntries: number; dedupMaxIds: number }) {
    this.visits = new BoundedMap<Visit>(limits.sessionMaxEntries, 2 * VISIT_IDLE_MS);
    this.seen = new BoundedMap<SeenId>(limits.dedupMaxIds, DEDUP_WINDOW_MS);
  }
}
