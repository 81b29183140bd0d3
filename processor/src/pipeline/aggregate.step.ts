import { ok, type StepResult } from '@confidant/shared';
import type { Dimension, Metrics, RollupAccumulator } from '../aggregate/rollup-accumulator.ts';
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
  const base = { practiceId: event.practiceId, source: event.source };
  const linked = !event.countOnly;
  const visitor = linked ? visitorHash(event.visitor) : null;
  // `who` is the visitor to add to the row's uniq state; null for rows that count no visitors.
  const daily = (dim: Dimension, value: string, delta: Partial<Metrics>, who: bigint | null = visitor, day = slot.day) =>
    acc.addDaily({ ...base, day, dim, value }, delta, who);
  const hourly = (delta: Partial<Metrics>, who: bigint | null = visitor, at = slot) => acc.addHourly({ ...base, day: at.day, hour: at.hour }, delta, who);

  switch (event.type) {
    case 'pageview':
    case 'notfound': {
      const pv = { pageviews: 1 };
      daily('total', '', pv);
      daily('page', event.page, pv);
      hourly(pv);
      if (event.type === 'notfound') daily('notfound', event.page, pv, null);
      if (!linked) {
        daily('page_class', event.page, pv);
        break;
      }
      for (const [dim, value] of technology(event)) daily(dim, value, pv);
      break;
    }
    case 'engagement': {
      const engaged = { engagedMs: event.engagedMs ?? 0 };
      daily('total', '', engaged);
      daily('page', event.page, engaged, null);
      hourly(engaged);
      break;
    }
    case 'outbound':
    case 'download':
    case 'event': {
      const dim: Dimension = event.type === 'outbound' ? 'exit_domain' : event.type;
      const value = (event.type === 'event' ? event.name : event.target) ?? UNKNOWN;
      daily('total', '', { events: 1 });
      daily(dim, value, { events: 1 }, event.type === 'event' ? visitor : null);
      if (linked) hourly({});
      break;
    }
  }

  if (effect.kind === 'started') {
    const visit = { visits: 1, bounces: 1 };
    daily('total', '', visit);
    daily('entry', event.page, visit, null);
    daily('exit', event.page, { visits: 1 }, null);
    const referrer = event.referrerDomain && !isInternalReferrer(event.referrerDomain, practice.domains) ? event.referrerDomain : DIRECT;
    daily('referrer', referrer, { visits: 1 }, null);
    if (event.utmSource) daily('utm_source', event.utmSource, { visits: 1 }, null);
    if (event.utmMedium) daily('utm_medium', event.utmMedium, { visits: 1 }, null);
    if (event.utmCampaign) daily('utm_campaign', event.utmCampaign, { visits: 1 }, null);
    for (const [dim, value] of technology(event)) daily(dim, value, { visits: 1 });
    hourly(visit);
  } else if (effect.kind === 'continued') {
    const { visit, previousExit } = effect;
    if (previousExit !== visit.exit) {
      daily('exit', previousExit, { visits: -1 }, null, visit.slot.day);
      daily('exit', visit.exit, { visits: 1 }, null, visit.slot.day);
    }
    if (effect.bounceRemoved) {
      daily('total', '', { bounces: -1 }, null, visit.slot.day);
      daily('entry', visit.entry, { bounces: -1 }, null, visit.slot.day);
      hourly({ bounces: -1 }, null, visit.slot);
    }
  }
  return ok(null);
}

function technology(event: Sessionized['event']): Array<[Dimension, string]> {
  return [
    ['country', event.country],
    ['browser', event.browser],
    ['os', event.os],
    ['device', event.device],
  ];
}
