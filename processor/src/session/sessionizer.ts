import { channelOf, type Channel, type EventEnvelope, type GoalMatcher } from '@confidant/shared';
import type { Overlay } from './bounded-map.ts';
import type { LocalSlot } from './local-time.ts';

export const VISIT_IDLE_MS = 30 * 60_000;
/** A one-page visit stops being a bounce once this much engaged time is reported. */
export const BOUNCE_ENGAGED_MS = 10_000;
/** Pages of a visit whose scroll depth is followed; a visit's later pages count no scroll depth. */
export const SCROLL_PAGES_PER_VISIT = 16;

/** An open visit. Immutable: every change makes a new object (the overlay relies on it). */
export type Visit = {
  /** Local day and hour the visit started in: its visit and bounce counts live there. */
  slot: LocalSlot;
  lastAt: number;
  entry: string;
  exit: string;
  pages: number;
  engagedMs: number;
  bounceCounted: boolean;
  /**
   * The scroll bucket counted for each page's latest view (`scroll` rows are corrected as it deepens).
   * Keyed by page, not held as the current one: a view's last engagement may arrive after the next page view.
   */
  scrolls?: Readonly<Record<string, number>>;
  /** Where the visit came from, as its first page view said. */
  acquisition: Acquisition;
  /** The goals the visit has reached so far, by id. */
  goals: readonly string[];
};

/** A page view's deepest scroll moved from one bucket (-1: none counted yet) to a deeper one. */
export type ScrollChange = { page: string; from: number; to: number };

/** A visit's source: its referring site (DIRECT for none or the practice's own), campaign and channel. */
export type Acquisition = { referrer: string; campaign: string | null; channel: Channel };

export const DIRECT = '(direct)';

/** True when the referrer is the practice's own site (a self-referral is not a traffic source). */
export function isInternalReferrer(referrer: string, domains: readonly string[]): boolean {
  return domains.some((d) => referrer === d || referrer.endsWith(`.${d}`));
}

/** The acquisition of a visit that starts with `event`. */
export function acquisitionOf(event: EventEnvelope, domains: readonly string[]): Acquisition {
  const referrer =
    event.referrerDomain && !isInternalReferrer(event.referrerDomain, domains) ? event.referrerDomain : null;
  const channel = channelOf({
    referrer,
    utmSource: event.utmSource,
    utmMedium: event.utmMedium,
    utmCampaign: event.utmCampaign,
    paid: event.paid === true,
  });
  return { referrer: referrer ?? DIRECT, campaign: event.utmCampaign, channel };
}

/** What the sessionizer needs of the event's practice. */
export type VisitContext = { domains: readonly string[]; goals?: GoalMatcher | undefined };

/** The goals an event reached (`matched`), and those of them its visit reaches for the first time. */
export type Conversions = { matched: readonly string[]; first: readonly string[] };
const NO_CONVERSIONS: Conversions = { matched: [], first: [] };

/** What one event did to its visit; the aggregate step turns it into signed counts. */
export type SessionEffect =
  | { kind: 'none' }
  | { kind: 'started'; visit: Visit; conversions: Conversions }
  | {
      kind: 'continued';
      visit: Visit;
      previousExit: string;
      bounceRemoved: boolean;
      conversions: Conversions;
      scroll?: ScrollChange;
    };

/** Visits are per source, practice, visitor and practice-local day: a visit never crosses local midnight. */
export function sessionKey(event: EventEnvelope, slot: LocalSlot): string {
  return `${event.source}|${event.practiceId}|${event.visitor}|${slot.day}`;
}

const isPageView = (event: EventEnvelope): boolean => event.type === 'pageview' || event.type === 'notfound';

/**
 * Advances the visit of the event's visitor. Page views start a visit when none is open
 * (first one, or 30 minutes idle, or a new local day) and otherwise move its exit page;
 * engagement adds engaged time; other events only keep the visit alive. Count-only events
 * never reach here (they are not linked to a visitor). An event that reaches one of the practice's
 * goals is a conversion; the visit is a converting visit of that goal the first time.
 */
export function sessionize(
  visits: Overlay<Visit>,
  event: EventEnvelope,
  slot: LocalSlot,
  context: VisitContext = { domains: [] },
): SessionEffect {
  const matched = context.goals?.matches(event) ?? [];
  const key = sessionKey(event, slot);
  const open = visits.get(key);
  const current = open && event.ts - open.lastAt <= VISIT_IDLE_MS ? open : undefined;
  const lastAt = Math.max(event.ts, current?.lastAt ?? 0);

  if (!current) {
    if (!isPageView(event)) return { kind: 'none' };
    const visit: Visit = {
      slot,
      lastAt,
      entry: event.page,
      exit: event.page,
      pages: 1,
      engagedMs: 0,
      bounceCounted: true,
      acquisition: acquisitionOf(event, context.domains),
      goals: matched,
    };
    visits.set(key, visit);
    return { kind: 'started', visit, conversions: matched.length ? { matched, first: matched } : NO_CONVERSIONS };
  }

  const pageView = isPageView(event);
  const pages = current.pages + (pageView ? 1 : 0);
  const engagedMs = current.engagedMs + (event.type === 'engagement' ? (event.engagedMs ?? 0) : 0);
  const stillBounce = current.bounceCounted && pages <= 1 && engagedMs < BOUNCE_ENGAGED_MS;
  const scroll = scrollChange(current, event, pageView);
  const first = matched.filter((id) => !current.goals.includes(id));
  const visit: Visit = {
    ...current,
    lastAt,
    exit: pageView ? event.page : current.exit,
    pages,
    engagedMs,
    bounceCounted: stillBounce,
    goals: first.length ? [...current.goals, ...first] : current.goals,
  };
  // A new view of a page starts its scroll depth afresh; a deeper scroll replaces the bucket counted.
  if (pageView && current.scrolls?.[event.page] !== undefined) {
    const { [event.page]: _ended, ...rest } = current.scrolls;
    visit.scrolls = rest;
  } else if (scroll) visit.scrolls = { ...current.scrolls, [scroll.page]: scroll.to };
  visits.set(key, visit);
  const effect: SessionEffect = {
    kind: 'continued',
    visit,
    previousExit: current.exit,
    bounceRemoved: current.bounceCounted && !stillBounce,
    conversions: matched.length ? { matched, first } : NO_CONVERSIONS,
  };
  if (scroll) effect.scroll = scroll;
  return effect;
}

/** An engagement's scroll bucket, when it is deeper than the one counted for its page's view. */
function scrollChange(visit: Visit, event: EventEnvelope, pageView: boolean): ScrollChange | undefined {
  if (pageView || event.scroll === undefined) return undefined;
  const from = visit.scrolls?.[event.page] ?? -1;
  if (event.scroll <= from) return undefined;
  if (from < 0 && Object.keys(visit.scrolls ?? {}).length >= SCROLL_PAGES_PER_VISIT) return undefined;
  return { page: event.page, from, to: event.scroll };
}
