import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORPUS, ORDINARY_URLS, pageview } from './corpus.ts';
import {
  figures,
  leaks,
  measuredSentence,
  mismatches,
  ordinaryProblem,
  type Figures,
  type ItemResult,
} from './corpus-check.ts';
import { CorpusCollector, ordinaryClient, RARE_K, type Outcome } from './corpus-runner.ts';
import { describeSurviving } from './pii-search.ts';

/**
 * Every corpus item through the collector's de-identification (its HTTP routes in memory for
 * beacons, the log import's steps for log lines): each envelope as expected, no planted value in
 * any field, and the ordinary URLs kept. Prints both figures; docs/privacy.md states them.
 */
let collector: CorpusCollector;
const results: ItemResult[] = [];
const ordinary: Array<{ url: (typeof ORDINARY_URLS)[number]; problem: string | null }> = [];
let measured: Figures;

beforeAll(async () => {
  collector = await CorpusCollector.start();
  for (const item of CORPUS) {
    // The last visitor's envelope is judged; every visitor's is searched.
    const outcomes = await collector.run(item);
    const outcome = outcomes.at(-1)!;
    results.push({
      item,
      outcome,
      mismatches: mismatches(item, outcome),
      leaks: outcomes.flatMap((o) => leaks(item, o)),
    });
  }
  // An ordinary URL is one many visitors open: it is sent from k clients, and the k-th visitor's envelope is judged.
  for (const [i, url] of ORDINARY_URLS.entries()) {
    let outcome: Outcome = { kind: 'drop' };
    for (let visitor = 0; visitor < RARE_K; visitor++)
      outcome = await collector.send(pageview(url.url), ordinaryClient(i, visitor));
    ordinary.push({ url, problem: ordinaryProblem(url, outcome) });
  }
  measured = figures(results, ordinary);
  console.log(`corpus: ${measuredSentence(measured)}`);
  const byCategory = new Map<string, { items: number; leaking: number }>();
  for (const r of results) {
    const c = byCategory.get(r.item.category) ?? { items: 0, leaking: 0 };
    c.items++;
    if (r.leaks.length) c.leaking++;
    byCategory.set(r.item.category, c);
  }
  console.log([...byCategory].map(([name, c]) => `  ${name}: ${c.items} items, ${c.leaking} leaking`).join('\n'));
}, 120_000);

afterAll(() => collector?.close());

describe('the adversarial corpus', () => {
  it('holds at least 500 items, 200 ordinary URLs and every category the issue names', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(500);
    expect(ORDINARY_URLS.length).toBeGreaterThanOrEqual(200);
    expect(new Set(CORPUS.map((i) => i.category))).toEqual(
      new Set([
        'issue-16',
        'names',
        'dates',
        'record-numbers',
        'phones',
        'emails',
        'ips',
        'tokens',
        'foreign-digits',
        'page-class-evasion',
        'children',
        'hosts',
        'log-lines',
        'geographic',
        'events',
      ]),
    );
    expect(CORPUS.filter((i) => i.input.kind === 'log').length).toBeGreaterThanOrEqual(100);
  });

  it('leaves no planted value in any envelope field', () => {
    const found = results.flatMap((r) => r.leaks.map((l) => `${r.item.id}: ${describeSurviving(l)}`));
    expect(found).toEqual([]);
  });

  it('makes the envelope each item expects', () => {
    const wrong = results.flatMap((r) => r.mismatches.map((m) => `${r.item.id}: ${m}`));
    expect(wrong).toEqual([]);
  });

  it('keeps ordinary clinic URLs: at most 2 % false positives', () => {
    const changed = ordinary.filter((o) => o.problem).map((o) => `${o.url.id}: ${o.problem}`);
    if (changed.length) console.log(`false positives:\n${changed.join('\n')}`);
    expect(measured.falsePositivePercent).toBeLessThanOrEqual(2);
  });

  it('docs/privacy.md publishes the figures of this run', () => {
    const doc = readFileSync(new URL('../../docs/privacy.md', import.meta.url), 'utf8').replace(/\s+/g, ' ');
    expect(doc).toContain(measuredSentence(measured));
  });
});
