import type { EventEnvelope } from '@confidant/shared';
import type { Overlay } from './bounded-map.ts';
import type { LocalSlot } from './local-time.ts';

export const VISIT_IDLE_MS = 30 * 60_000;
/** A one-page visit stops being a bounce once this much engaged time is reported. */
export const BOUNCE_ENGAGED_MS = 10_000;

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
};

/** What one event did to its visit; the aggregate step turns it into signed counts. */
export type SessionEffect =
  | { kind: 'none' }
  | { kind: 'started'; visit: Visit }
  | { kind: 'continued'; visit: Visit; previousExit: string; bounceRemoved: boolean };

/** Visits are per source, practice, visitor and practice-local day: a visit never crosses local midnight. */
export function sessionKey(event: EventEnvelope, slot: LocalSlot): string {
  return `${event.source}|${event.practiceId}|${event.visitor}|${slot.day}`;
}

const isPageView = (event: EventEnvelope): boolean => event.type === 'pageview' || event.type === 'notfound';

/**
 * Advances the visit of the event's visitor. Page views start a visit when none is open
 * (first one, or 30 minutes idle, or a new local day) and otherwise move its exit page;
 * engagement adds engaged time; other events only keep the visit alive. Count-only events
 * never reach here (they are not linked to a visitor).
 */
export function sessionize(visits: Overlay<Visit>, event: EventEnvelope, slot: LocalSlot): SessionEffect {
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
    };
    visits.set(key, visit);
    return { kind: 'started', visit };
  }

  const pageView = isPageView(event);
  const pages = current.pages + (pageView ? 1 : 0);
  const engagedMs = current.engagedMs + (event.type === 'engagement' ? (event.engagedMs ?? 0) : 0);
  const stillBounce = current.bounceCounted && pages <= 1 && engagedMs < BOUNCE_ENGAGED_MS;
  const visit: Visit = {
    ...current,
    lastAt,
    exit: pageView ? event.page : current.exit,
    pages,
    engagedMs,
    bounceCounted: stillBounce,
  };
  visits.set(key, visit);
  return { kind: 'continued', visit, previousExit: current.exit, bounceRemoved: current.bounceCounted && !stillBounce };
}
