import type { EventSource } from '../contracts/event-envelope.ts';
import type { ControlDb } from './postgres/control-db.ts';

/** Visits count as current while their last event is at most this old. */
export const LIVE_VISIT_WINDOW_MS = 5 * 60_000;
/** How often a processor publishes its counts. */
export const LIVE_VISITS_PUBLISH_MS = 30_000;
/** Rows older than this are ignored (their processor stopped and nobody took its partitions) and then removed. */
export const LIVE_VISITS_FRESH_MS = 3 * LIVE_VISITS_PUBLISH_MS;

/** Open visits of one practice and source among those of one Kafka partition (`topic:partition`). */
export type LiveVisitCount = { partition: string; practiceId: string; source: EventSource; openVisits: number };

/** The "current visitors" counts in the control plane: written by processors, read by the reporter. */
export class LiveVisitsStore {
  constructor(private readonly db: ControlDb) {}

  /**
   * Replaces, in one transaction, this instance's counts and every count of the partitions it owns
   * (`owned`, as `topic:partition`), whoever published them: a member that crashed counts no longer
   * beside the one that took its partitions over. Also clears stale rows. A member that lost a
   * partition without knowing it yet overwrites that partition's counts, so each visit still counts
   * once. Times are the database's, so processors' and reporters' clocks need not agree.
   */
  async publish(instanceId: string, owned: readonly string[], counts: readonly LiveVisitCount[]): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query(
        `DELETE FROM live_visits
         WHERE instance_id = $1 OR partition_key = ANY($2::text[]) OR published_at < now() - $3 * interval '1 millisecond'`,
        [instanceId, [...owned], LIVE_VISITS_FRESH_MS],
      );
      const rows = counts.filter((c) => c.openVisits > 0);
      if (!rows.length) return;
      await tx.query(
        `INSERT INTO live_visits (instance_id, partition_key, practice_id, source, open_visits, published_at)
         SELECT $1, k, p, s, n, now() FROM unnest($2::text[], $3::text[], $4::text[], $5::int[]) AS t(k, p, s, n)
         ON CONFLICT (partition_key, practice_id, source)
         DO UPDATE SET instance_id = EXCLUDED.instance_id, open_visits = EXCLUDED.open_visits, published_at = EXCLUDED.published_at`,
        [
          instanceId,
          rows.map((r) => r.partition),
          rows.map((r) => r.practiceId),
          rows.map((r) => r.source),
          rows.map((r) => r.openVisits),
        ],
      );
    });
  }

  /** Removes an instance's counts (on a clean stop). */
  async withdraw(instanceId: string): Promise<void> {
    await this.db.query('DELETE FROM live_visits WHERE instance_id = $1', [instanceId]);
  }

  /** Current visits of a practice: the sum over the processors that published recently. */
  async current(practiceId: string, source: EventSource): Promise<{ openVisits: number; asOf: Date | null }> {
    const [row] = await this.db.query<{ n: string | null; as_of: Date | null }>(
      `SELECT sum(open_visits) AS n, max(published_at) AS as_of FROM live_visits
       WHERE practice_id = $1 AND source = $2 AND published_at >= now() - $3 * interval '1 millisecond'`,
      [practiceId, source, LIVE_VISITS_FRESH_MS],
    );
    return { openVisits: Number(row?.n ?? 0), asOf: row?.as_of ?? null };
  }
}
