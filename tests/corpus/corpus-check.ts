import type { EventEnvelope } from '@confidant/shared';
import { fieldMatches, type CorpusItem, type ExpectedEnvelope } from './corpus-item.ts';
import type { OrdinaryUrl } from './ordinary-urls.ts';
import type { Outcome } from './corpus-runner.ts';
import { needlesOf, survivingPii, type Surviving } from './pii-search.ts';

const FIELDS = ['page', 'referrerDomain', 'utmSource', 'utmMedium', 'utmCampaign', 'target', 'name'] as const;

/** How an outcome differs from the item's expectation (empty: as expected). */
export function mismatches(item: CorpusItem, outcome: Outcome): string[] {
  const { expect } = item;
  if (expect.outcome !== 'ok')
    return outcome.kind === expect.outcome ? [] : [`expected ${expect.outcome}, got ${describe(outcome)}`];
  if (outcome.kind !== 'ok') return [`expected an envelope, got ${describe(outcome)}`];
  const event = outcome.event;
  const out = [...countOnlyProblems(event)];
  for (const field of FIELDS) {
    const expected = expect[field];
    if (expected !== undefined && !fieldMatches(expected, event[field]))
      out.push(`${field}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(event[field])}`);
  }
  if (expect.countOnly !== undefined && event.countOnly !== expect.countOnly)
    out.push(`countOnly: expected ${expect.countOnly}, got ${event.countOnly}`);
  out.push(...propsMismatches(expect, event));
  return out;
}

function propsMismatches(expect: ExpectedEnvelope, event: EventEnvelope): string[] {
  if (expect.props === undefined) return [];
  const actual = event.props ?? {};
  const wanted = expect.props ?? {};
  const out: string[] = [];
  for (const key of new Set([...Object.keys(actual), ...Object.keys(wanted)])) {
    const expected = wanted[key];
    if (expected === undefined) out.push(`props.${key}: not expected, got ${JSON.stringify(actual[key])}`);
    else if (!fieldMatches(expected, actual[key] ?? null))
      out.push(`props.${key}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual[key])}`);
  }
  return out;
}

/** A count-only event carries no visitor value and nothing that could tell its visitor apart. */
export function countOnlyProblems(event: EventEnvelope): string[] {
  if (!event.countOnly) return [];
  const out: string[] = [];
  const raw = event as Record<string, unknown>;
  if (raw.visitor !== undefined && raw.visitor !== null) out.push('count-only event carries a visitor value');
  if (raw.visitorPeriod !== undefined) out.push('count-only event carries a visitor period');
  for (const field of ['referrerDomain', 'utmSource', 'utmMedium', 'utmCampaign'] as const)
    if (event[field] !== null) out.push(`count-only event carries ${field} ${JSON.stringify(event[field])}`);
  if (event.props) out.push('count-only event carries properties');
  return out;
}

function describe(outcome: Outcome): string {
  if (outcome.kind === 'ok') return `an envelope (page ${JSON.stringify(outcome.event.page)})`;
  return outcome.kind === 'invalid' ? `invalid (${outcome.reason.slice(0, 120)})` : 'drop';
}

/** Planted values found in the outcome's envelope (none when nothing was produced). */
export function leaks(item: CorpusItem, outcome: Outcome): Surviving[] {
  return outcome.kind === 'ok' ? survivingPii(outcome.event as Record<string, unknown>, item.pii) : [];
}

export type ItemResult = { item: CorpusItem; outcome: Outcome; mismatches: string[]; leaks: Surviving[] };

export type Figures = {
  items: number;
  planted: number;
  removed: number;
  /** Planted values removed, percent (of every planted value in every item). */
  removedPercent: number;
  ordinary: number;
  falsePositives: number;
  falsePositivePercent: number;
};

/** An ordinary URL whose envelope is not the page (or class) and kept parameters it should be: a false positive. */
export function ordinaryProblem(url: OrdinaryUrl, outcome: Outcome): string | null {
  if (outcome.kind !== 'ok') return `expected an envelope, got ${describe(outcome)}`;
  const e = outcome.event;
  const wanted = {
    page: url.page,
    countOnly: url.countOnly,
    utmSource: url.countOnly ? null : url.utmSource,
    utmMedium: url.countOnly ? null : url.utmMedium,
    utmCampaign: url.countOnly ? null : url.utmCampaign,
  };
  const got = {
    page: e.page,
    countOnly: e.countOnly,
    utmSource: e.utmSource,
    utmMedium: e.utmMedium,
    utmCampaign: e.utmCampaign,
  };
  return JSON.stringify(got) === JSON.stringify(wanted)
    ? null
    : `expected ${JSON.stringify(wanted)}, got ${JSON.stringify(got)}`;
}

export function figures(results: ItemResult[], ordinary: Array<{ url: OrdinaryUrl; problem: string | null }>): Figures {
  let planted = 0;
  let removed = 0;
  for (const r of results) {
    const needles = needlesOf(r.item.pii);
    planted += needles.length;
    // One needle can survive in several fields; it counts once. The known gap counts as not removed.
    const survived = new Set(r.leaks.map((l) => l.pii));
    removed += needles.length - survived.size;
  }
  const falsePositives = ordinary.filter((o) => o.problem !== null).length;
  return {
    items: results.length,
    planted,
    removed,
    removedPercent: percent(removed, planted),
    ordinary: ordinary.length,
    falsePositives,
    falsePositivePercent: percent(falsePositives, ordinary.length),
  };
}

const percent = (n: number, of: number) => Math.round((n / of) * 10_000) / 100;

/** The sentence docs/privacy.md's "Measured" paragraph must contain, from the figures of a run. */
export function measuredSentence(f: Figures): string {
  return (
    `${f.items} adversarial corpus items planting ${f.planted} identifying values: ${f.removed} removed (${f.removedPercent} %); ` +
    `${f.ordinary} ordinary clinic URLs: ${f.falsePositives} changed beyond their page classes and templates (${f.falsePositivePercent} % false positives).`
  );
}
