import { TABLES } from './names.ts';

const DAY_MS = 86_400_000;

/**
 * Partner visitor-days (migration 0033): the unit of privacy of partner releases is one visitor key
 * on one UTC day of its salt (the collector's daily salt is a UTC day; a cookie counts once per UTC
 * day). Rows are keyed by that UTC day, never by a practice's local day, so a time-zone change
 * cannot spread one visitor-day over several rows.
 */

/** The cell of every visitor key; the other cells are country codes (daily-salt keys only). */
export const PARTNER_ALL_CELL = 'all';

/** The UTC day (days since 1970-01-01) of an event's salt. */
export const partnerDayOf = (ts: number): number => Math.floor(ts / DAY_MS);

/**
 * When a UTC day's partner states close (epoch ms): the processor writes none for it from then on (a
 * late event is left out of partner releases), and the sealer counts it once SEAL_MARGIN_MS later.
 */
export const partnerDayClosesAt = (day: number): number => (day + 2) * DAY_MS;

/** How partner rows are read (migration 0033): open states' unique count, sealed rows' counts. */
export const PARTNER_VISITOR_DAYS_TABLE = {
  name: TABLES.partnerVisitorDays,
  statesMerge: 'uniqArrayMerge(visitors)',
  sealedMerge: 'sumMerge(visitors_sealed)',
} as const;
