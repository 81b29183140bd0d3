import { ok, type StepResult } from '@confidant/shared';
import type { Dimension, Metric, RollupAccumulator } from '../aggregate/rollup-accumulator.ts';
import { visitorHash } from '../session/visitor-hash.ts';
import type { Sessionized } from './sessionize.step.ts';

export const DIRECT = '(direct)';
export const UNKNOWN = '(unknown)';

/** True when the referrer is the practice's own site (a self-referral is not a traffic source). */
export function isInternalReferrer(referrer: string, domains: readonly string[]): boolean {
  return domains.some((d) => referrer === d || referrer.endsWith(`.${d}`));
}

/**
 * Turns one sessionized event into signed rollup deltas. Page views and events count where
 * they happen; visit, entry, exit, referrer and bounce counts are corrected as the visit goes on.
 */
export function aggregateStep(acc: RollupAccumulator, item: Sessionized): StepResult<null> {
  const { event, practice, slot, effect } = item;
  const { practiceId, source } = event;
  const linked = !event.countOnly;
  // The visitor to add to a row's uniq state; null for rows that count no visitors.
  const visitor = linked ? visitorHash(event.visitor) : null;
  const daily = (dim: Dimension, value: string, metric: Metric | null, amount: number, who: number | null, day = slot.day) =>
    acc.addDaily(practiceId, source, day, dim, value, metric, amount, who);
  const hourly = (metric: HourlyMetric | null, amount: number, who: number | null, at = slot) => acc.addHourly(practiceId, source, at.day, at.hour, metric, amount, who);
  const technology = (metric: Metric) => {
    daily('country', event.country, metric, 1, visitor);
    daily('browser', event.browser, metric, 1, visitor);
    daily('os', event.os, metric, 1, visitor);
    daily('device', event.device, metric, 1, visitor);
  };

  switch (event.type) {
    case 'pageview':
    case 'notfound': {
      daily('total', '', 'pageviews', 1, visitor);
      daily('page', event.page, 'pageviews', 1, visitor);
      hourly('pageviews', 1, visitor);
      if (event.type === 'notfound') daily('notfound', event.page, 'pageviews', 1, null);
      if (linked) technology('pageviews');
      else daily('page_class', event.page, 'pageviews', 1, visitor);
      break;
    }
    case 'engagement': {
      const engaged = event.engagedMs ?? 0;
      daily('total', '', 'engagedMs', engaged, visitor);
      daily('page', event.page, 'engagedMs', engaged, null);
      hourly('engagedMs', engaged, visitor);
      break;
    }
    case 'outbound':
    case 'download':
    case 'event': {
      const dim: Dimension = event.type === 'outbound' ? 'exit_domain' : event.type;
      const value = (event.type === 'event' ? event.name : event.target) ?? UNKNOWN;
      daily('total', '', 'events', 1, visitor);
      daily(dim, value, 'events', 1, event.type === 'event' ? visitor : null);
      if (linked) hourly(null, 0, visitor);
      break;
    }
  }

  if (effect.kind === 'started') {
    daily('total', '', 'visits', 1, null);
    daily('total', '', 'bounces', 1, null);
    daily('entry', event.page, 'visits', 1, null);
    daily('entry', event.page, 'bounces', 1, null);
    daily('exit', event.page, 'visits', 1, null);
    const referrer = event.referrerDomain && !isInternalReferrer(event.referrerDomain, practice.domains) ? event.referrerDomain : DIRECT;
    daily('referrer', referrer, 'visits', 1, null);
    if (event.utmSource) daily('utm_source', event.utmSource, 'visits', 1, null);
    if (event.utmMedium) daily('utm_medium', event.utmMedium, 'visits', 1, null);
    if (event.utmCampaign) daily('utm_campaign', event.utmCampaign, 'visits', 1, null);
    technology('visits');
    hourly('visits', 1, null);
    hourly('bounces', 1, null);
  } else if (effect.kind === 'continued') {
    const { visit, previousExit } = effect;
    if (previousExit !== visit.exit) {
      daily('exit', previousExit, 'visits', -1, null, visit.slot.day);
      daily('exit', visit.exit, 'visits', 1, null, visit.slot.day);
    }
    if (effect.bounceRemoved) {
      daily('total', '', 'bounces', -1, null, visit.slot.day);
      daily('entry', visit.entry, 'bounces', -1, null, visit.slot.day);
      hourly('bounces', -1, null, visit.slot);
    }
  }
  return ok(null);
}

type HourlyMetric = Exclude<Metric, 'events'>;
