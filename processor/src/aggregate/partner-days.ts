import {
  PARTNER_ALL_CELL,
  partnerDayClosesAt,
  partnerDayOf,
  type EventEnvelope,
  type EventSource,
} from '@confidant/shared';
import { rowVisitorValue } from '../session/visitor-hash.ts';

/** One row of partner visitor-days: a practice's visitor values of one UTC salt day, source and cell. */
export type PartnerDayRow = {
  practiceId: string;
  day: number;
  source: EventSource;
  cell: string;
  /** Open states: one value per visitor key. Sealed rows carry `visitorCount` instead. */
  visitorHashes: number[];
  visitorCount: number;
  sealed: boolean;
};

/** A partner row's identity: nothing links one visitor's values across days, cells or practices. */
export const partnerRowIdentity = (practiceId: string, source: string, day: number, cell: string): string =>
  `pd\u0000${practiceId}\u0000${source}\u0000${day}\u0000${cell}`;

type Cell = { practiceId: string; day: number; source: EventSource; cell: string; visitors: Set<string> };

/**
 * The visitor keys of a batch by practice, UTC salt day, source and cell, for partner releases. A
 * key counts once per row (a uniq state), so one visitor-day adds at most 1 to the `all` cell and 1
 * to one country cell of one row, whatever the practice's time zone. Country cells take daily-salt
 * keys only: those include the IP address, from which the country comes; a cookie does not.
 */
export class PartnerDays {
  private readonly cells = new Map<string, Cell>();

  add(event: EventEnvelope): void {
    if (event.countOnly || event.visitor === undefined) return;
    const day = partnerDayOf(event.ts);
    this.cell(event.practiceId, day, event.source, PARTNER_ALL_CELL).add(event.visitor);
    if (event.visitorPeriod !== 'month')
      this.cell(event.practiceId, day, event.source, event.country).add(event.visitor);
  }

  get size(): number {
    return this.cells.size;
  }

  /** The rows of days still open at `now`: a day's late events are left out, never written after its seal. */
  rows(now: number): PartnerDayRow[] {
    const out: PartnerDayRow[] = [];
    for (const c of this.cells.values()) {
      if (now >= partnerDayClosesAt(c.day)) continue;
      const identity = partnerRowIdentity(c.practiceId, c.source, c.day, c.cell);
      out.push({
        practiceId: c.practiceId,
        day: c.day,
        source: c.source,
        cell: c.cell,
        visitorHashes: [...c.visitors].map((v) => rowVisitorValue(v, identity)),
        visitorCount: 0,
        sealed: false,
      });
    }
    return out;
  }

  private cell(practiceId: string, day: number, source: EventSource, cell: string): Set<string> {
    const id = `${practiceId}\u0000${day}\u0000${source}\u0000${cell}`;
    let c = this.cells.get(id);
    if (c === undefined) this.cells.set(id, (c = { practiceId, day, source, cell, visitors: new Set() }));
    return c.visitors;
  }
}
