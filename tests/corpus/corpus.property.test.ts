import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTimes, logLine, ORIGIN, pageview } from './corpus.ts';
import { DECLARED_EVENT } from './adversarial-items.ts';
import { countOnlyProblems } from './corpus-check.ts';
import { CorpusCollector, type Outcome } from './corpus-runner.ts';
import {
  disguise,
  disguised,
  PII_KINDS,
  SEGMENT_SEPARATORS,
  type Disguise,
  type GeneratedPii,
} from './pii-generators.ts';
import { describeSurviving, survivingPii } from './pii-search.ts';

/**
 * More PII than the corpus lists: generated values (dates of birth in every layout, phone numbers
 * of six countries, record numbers, obfuscated emails, IPs, tokens) in other digit scripts, with
 * zero-width characters, percent-encoded up to three times, at random places of a hit.
 */
const RUNS = { numRuns: 250 };
let collector: CorpusCollector;

beforeAll(async () => {
  collector = await CorpusCollector.start();
});
afterAll(() => collector?.close());

function leaked(outcomes: Outcome | Outcome[], pii: GeneratedPii): string[] {
  if (Array.isArray(outcomes)) return outcomes.flatMap((o) => leaked(o, pii));
  const outcome = outcomes;
  if (outcome.kind !== 'ok') return [];
  return [
    ...survivingPii(outcome.event as Record<string, unknown>, pii.pii).map(describeSurviving),
    ...countOnlyProblems(outcome.event),
  ];
}

const SEGMENTS = ['patients', 'visit', 'summary', 'services', 'cardiology', 'results', 'share', 'thank-you', 'lookup'];
const placed = (pii: GeneratedPii, d: Disguise) => encodeTimes(disguised(pii, d), d.encodings);

describe.each(Object.entries(PII_KINDS))('a generated %s never survives', (_kind, generate) => {
  const inSegment = generate(SEGMENT_SEPARATORS);
  const anywhere = generate([...SEGMENT_SEPARATORS, '/']);
  it('in a path segment at any position', async () => {
    await fc.assert(
      fc.asyncProperty(
        inSegment,
        disguise,
        fc.array(fc.constantFrom(...SEGMENTS), { maxLength: 3 }),
        fc.array(fc.constantFrom(...SEGMENTS), { maxLength: 2 }),
        async (pii, d, before, after) => {
          const path = ['', ...before, encodeURIComponent(placed(pii, d)), ...after].join('/');
          expect(leaked(await collector.send(pageview(`${ORIGIN}${path}`)), pii)).toEqual([]);
        },
      ),
      RUNS,
    );
  });

  it('in a kept query parameter, with `/` separators too', async () => {
    await fc.assert(
      fc.asyncProperty(
        anywhere,
        disguise,
        fc.constantFrom('utm_source', 'utm_medium', 'utm_campaign', 'ref', 'source'),
        async (pii, d, param) => {
          const url = `${ORIGIN}/newsletter?utm_medium=email&${param}=${encodeURIComponent(placed(pii, d))}`;
          // From k visitors: the pattern must remove it, not the rare-value gate.
          expect(leaked(await collector.fromK(pageview(url)), pii)).toEqual([]);
        },
      ),
      RUNS,
    );
  });

  it('in an event name and a property value', async () => {
    await fc.assert(
      fc.asyncProperty(anywhere, disguise, fc.boolean(), async (pii, d, plausible) => {
        const value = disguised(pii, d);
        const named = await collector.send({
          kind: 'hit',
          via: plausible ? 'plausible' : 'snippet',
          type: 'event',
          url: `${ORIGIN}/services`,
          name: `Booked ${value}`,
        });
        expect(leaked(named, pii)).toEqual([]);
        const prop = await collector.fromK({
          kind: 'hit',
          via: 'plausible',
          type: 'event',
          url: `${ORIGIN}/services`,
          name: DECLARED_EVENT,
          props: { plan: value },
        });
        expect(leaked(prop, pii)).toEqual([]);
      }),
      RUNS,
    );
  });

  it('in a download path on the practice host or an outbound target', async () => {
    await fc.assert(
      fc.asyncProperty(inSegment, disguise, async (pii, d) => {
        const segment = encodeURIComponent(placed(pii, d));
        for (const [type, target] of [
          ['download', `${ORIGIN}/files/${segment}/report.pdf`],
          ['outbound', `https://portal.example.org/${segment}?who=${segment}`],
        ] as const) {
          const outcome = await collector.send({ kind: 'hit', via: 'snippet', type, url: `${ORIGIN}/`, target });
          expect(leaked(outcome, pii)).toEqual([]);
        }
      }),
      RUNS,
    );
  });

  it('in a log line’s request target and referrer', async () => {
    await fc.assert(
      fc.asyncProperty(
        inSegment,
        disguise,
        fc.array(fc.constantFrom(...SEGMENTS), { maxLength: 2 }),
        async (pii, d, before) => {
          const segment = encodeURIComponent(placed(pii, d));
          const target = ['', ...before, segment].join('/') + `?utm_campaign=${segment}`;
          const line = logLine(target, `https://search.example.com/${segment}`);
          const outcome = await collector.fromK({
            id: 'property',
            category: 'property',
            input: line,
            expect: { outcome: 'ok' },
            pii: pii.pii,
          });
          expect(leaked(outcome, pii)).toEqual([]);
        },
      ),
      { numRuns: 100 },
    );
  });
});
