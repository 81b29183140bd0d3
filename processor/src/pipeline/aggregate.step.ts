import {
  goalValue,
  ok,
  propDimension,
  ROLLUP_STATES,
  SCROLL_PAGE_SEPARATOR,
  type EventEnvelope,
  type StepResult,
} from '@confidant/shared';
import { D, M, NO_METRIC, type DayRollup, type RollupAccumulator } from '../aggregate/rollup-accumulator.ts';
import type { Conversions, ScrollChange, Visit } from '../session/sessionizer.ts';
import type { PracticeInfo } from './resolve-practice.step.ts';
import type { Sessionized } from './sessionize.step.ts';

export const UNKNOWN = '(unknown)';

/** Country, browser, OS, device and screen rows of one event. */
function technology(rows: DayRollup, event: EventEnvelope, metric: number, visitor: string | null): void {
  rows.add(D.country, event.country, metric, 1, visitor);
  rows.add(D.browser, event.browser, metric, 1, visitor);
  rows.add(D.os, event.os, metric, 1, visitor);
  rows.add(D.device, event.device, metric, 1, visitor);
  if (event.screen) rows.add(D.screen, event.screen, metric, 1, visitor);
}

/** A page view's deepest scroll, moved from its previous bucket (page views by bucket, overall and per page). */
function scrollRows(rows: DayRollup, change: ScrollChange): void {
  if (change.from >= 0) {
    rows.add(D.scroll, String(change.from), M.pageviews, -1, null);
    rows.add(D.scroll_page, `${change.page}${SCROLL_PAGE_SEPARATOR}${change.from}`, M.pageviews, -1, null);
  }
  rows.add(D.scroll, String(change.to), M.pageviews, 1, null);
  rows.add(D.scroll_page, `${change.page}${SCROLL_PAGE_SEPARATOR}${change.to}`, M.pageviews, 1, null);
}

/**
 * A declared event's properties, a row per key and value (`prop:<key>`). A declared value is counted at
 * once; any other is free text, so its row carries the visitor and is held for the rare-value rule
 * (0030), which also caps how many of them a practice's day keeps. A count-only event carries none.
 */
function propRows(rows: DayRollup, event: EventEnvelope, practice: PracticeInfo, visitor: string | null): void {
  if (!event.props || visitor === null) return;
  for (const [key, value] of Object.entries(event.props)) {
    const declared = practice.declaredPropValues?.get(key)?.has(value) ?? false;
    rows.addDim(propDimension(key), value, M.events, 1, declared ? null : visitor);
  }
}

/**
 * The goal rows of one event: a conversion per goal it reached, and a converting visit for each goal
 * its visit reaches for the first time, in the goal's row and its breakdowns by the visit's entry and
 * acquisition and the event's country and device. Free-text breakdowns carry the visitor (the rare
 * value rule, as for referrers); a conversion outside a visit (a count-only page, an event with no
 * page view before it) has no breakdowns.
 */
function goalRows(
  rows: DayRollup,
  event: EventEnvelope,
  visit: Visit | null,
  conversions: Conversions,
  visitor: string | null,
): void {
  for (const id of conversions.matched) {
    rows.add(D.goal, id, M.events, 1, visitor);
    if (visit) breakdowns(rows, event, visit, id, M.events, visitor);
  }
  if (!visit) return;
  for (const id of conversions.first) {
    rows.add(D.goal, id, M.visits, 1, null);
    breakdowns(rows, event, visit, id, M.visits, null);
  }
}

function breakdowns(
  rows: DayRollup,
  event: EventEnvelope,
  visit: Visit,
  id: string,
  metric: number,
  visitor: string | null,
) {
  const { referrer, campaign, channel } = visit.acquisition;
  rows.add(D.goal_entry, goalValue(id, visit.entry), metric, 1, null);
  rows.add(D.goal_channel, goalValue(id, channel), metric, 1, null);
  rows.add(D.goal_referrer, goalValue(id, referrer), metric, 1, visitor);
  if (campaign) rows.add(D.goal_campaign, goalValue(id, campaign), metric, 1, visitor);
  rows.add(D.goal_country, goalValue(id, event.country), metric, 1, null);
  rows.add(D.goal_device, goalValue(id, event.device), metric, 1, null);
}

/**
 * Turns one sessionized event into signed rollup deltas. Page views and events count where
 * they happen; visit, entry, exit, referrer and bounce counts are corrected as the visit goes on.
 * Runs for every event, so it creates no closures and finds its day's rows once.
 */
export function aggregateStep(acc: RollupAccumulator, item: Sessionized): StepResult<null> {
  const { event, practice, slot, effect } = item;
  // Only events with a visitor value are linked; a count-only event carries none (the envelope's rule).
  const visitor = event.countOnly ? null : (event.visitor ?? null);
  const linked = visitor !== null;
  // A cookie-mode practice's period is the month: all its states, with or without a cookie, share the
  // month's partition, so that no partition is the few visitors who came without one.
  const states = practice.cookieMode ? ROLLUP_STATES.monthly : ROLLUP_STATES.daily;
  const rows = acc.day(event.practiceId, event.source, slot.day, states, event.visitorPeriod !== 'month');
  acc.partner.add(event);

  switch (event.type) {
    case 'pageview':
    case 'notfound': {
      rows.add(D.total, '', M.pageviews, 1, visitor);
      rows.add(D.page, event.page, M.pageviews, 1, visitor);
      rows.addHour(slot.hour, M.pageviews, 1, visitor);
      if (event.type === 'notfound') rows.add(D.notfound, event.page, M.pageviews, 1, null);
      if (linked) technology(rows, event, M.pageviews, visitor);
      else rows.add(D.page_class, event.page, M.pageviews, 1, visitor);
      break;
    }
    case 'engagement': {
      const engaged = event.engagedMs ?? 0;
      rows.add(D.total, '', M.engagedMs, engaged, visitor);
      rows.add(D.page, event.page, M.engagedMs, engaged, null);
      rows.addHour(slot.hour, M.engagedMs, engaged, visitor);
      if (effect.kind === 'continued' && effect.scroll) scrollRows(rows, effect.scroll);
      break;
    }
    case 'outbound':
    case 'download':
    case 'event': {
      rows.add(D.total, '', M.events, 1, visitor);
      if (event.action) {
        // A built-in event: its kind, and a form its name (a count-only page's form is its class).
        rows.add(D.action, event.action, M.events, 1, visitor);
        // A declared form name is free text (held for the rare-value rule); a form counted by its page is a scrubbed path.
        if (event.form !== undefined)
          rows.add(D.form, event.form, M.events, 1, event.form.startsWith('/') ? null : visitor);
      } else {
        const dim = event.type === 'outbound' ? D.exit_domain : event.type === 'download' ? D.download : D.event;
        const value = (event.type === 'event' ? event.name : event.target) ?? UNKNOWN;
        rows.add(dim, value, M.events, 1, event.type === 'event' ? visitor : null);
        if (event.type === 'event') propRows(rows, event, practice, visitor);
      }
      if (linked) rows.addHour(slot.hour, NO_METRIC, 0, visitor);
      break;
    }
  }

  if (effect.kind === 'started') {
    rows.add(D.total, '', M.visits, 1, null);
    rows.add(D.total, '', M.bounces, 1, null);
    rows.add(D.entry, event.page, M.visits, 1, null);
    rows.add(D.entry, event.page, M.bounces, 1, null);
    rows.add(D.exit, event.page, M.visits, 1, null);
    const { referrer, channel } = effect.visit.acquisition;
    rows.add(D.channel, channel, M.visits, 1, visitor);
    rows.add(D.channel, channel, M.bounces, 1, null);
    // Free-text values carry their visitors: the sealer stores those seen by fewer than k as (rare).
    rows.add(D.referrer, referrer, M.visits, 1, visitor);
    if (event.utmSource) rows.add(D.utm_source, event.utmSource, M.visits, 1, visitor);
    if (event.utmMedium) rows.add(D.utm_medium, event.utmMedium, M.visits, 1, visitor);
    if (event.utmCampaign) rows.add(D.utm_campaign, event.utmCampaign, M.visits, 1, visitor);
    if (event.utmTerm) rows.add(D.utm_term, event.utmTerm, M.visits, 1, visitor);
    if (event.utmContent) rows.add(D.utm_content, event.utmContent, M.visits, 1, visitor);
    technology(rows, event, M.visits, null);
    rows.addHour(slot.hour, M.visits, 1, null);
    rows.addHour(slot.hour, M.bounces, 1, null);
  } else if (effect.kind === 'continued') {
    const { visit, previousExit } = effect;
    // A visit never crosses the practice's midnight, but it is counted in the hour it started.
    const visitRows = visit.slot.day === slot.day ? rows : acc.day(event.practiceId, event.source, visit.slot.day);
    if (previousExit !== visit.exit) {
      visitRows.add(D.exit, previousExit, M.visits, -1, null);
      visitRows.add(D.exit, visit.exit, M.visits, 1, null);
    }
    if (effect.bounceRemoved) {
      visitRows.add(D.total, '', M.bounces, -1, null);
      visitRows.add(D.entry, visit.entry, M.bounces, -1, null);
      visitRows.add(D.channel, visit.acquisition.channel, M.bounces, -1, null);
      visitRows.addHour(visit.slot.hour, M.bounces, -1, null);
    }
  }

  if (effect.kind === 'none') {
    const matched = practice.goals.matches(event);
    if (matched.length) goalRows(rows, event, null, { matched, first: [] }, visitor);
  } else if (effect.conversions.matched.length) goalRows(rows, event, effect.visit, effect.conversions, visitor);
  return ok(null);
}
