import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTimes, ORIGIN, pageview } from './corpus.ts';
import { DECLARED_EVENT } from './adversarial-items.ts';
import { countOnlyProblems } from './corpus-check.ts';
import { CorpusCollector, type Outcome } from './corpus-runner.ts';
import { anyPii, disguise, disguised, type Disguise, type GeneratedPii } from './pii-generators.ts';
import { describeSurviving, survivingPii } from './pii-search.ts';

/**
 * More PII than the corpus lists: generated values (dates of birth in every layout, phone numbers
 * of six countries, record numbers, obfuscated emails, IPs, tokens) in other digit scripts, with
 * zero-width characters, percent-encoded up to three times, at random places of a hit.
 */
const RUNS = { numRuns: 400 };
let collector: CorpusCollector;

beforeAll(async () => {
  collector = await CorpusCollector.start();
});
afterAll(() => collector?.close());

function leaked(outcome: Outcome, pii: GeneratedPii): string[] {
  if (outcome.kind !== 'ok') return [];
  return [
    ...survivingPii(outcome.event as Record<string, unknown>, pii.pii).map(describeSurviving),
    ...countOnlyProblems(outcome.event),
  ];
}

const SEGMENTS = ['patients', 'visit', 'summary', 'services', 'cardiology', 'results', 'share', 'thank-you', 'lookup'];
const placed = (pii: GeneratedPii, d: Disguise) => encodeTimes(disguised(pii, d), d.encodings);

describe('generated PII never survives', () => {
  it('in a path segment at any position', async () => {
    await fc.assert(
      fc.asyncProperty(
        anyPii(),
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
        anyPii(['-', '.', '_', ' ', '', '/']),
        disguise,
        fc.constantFrom('utm_source', 'utm_medium', 'utm_campaign', 'ref', 'source'),
        async (pii, d, param) => {
          const url = `${ORIGIN}/newsletter?utm_medium=email&${param}=${encodeURIComponent(placed(pii, d))}`;
          expect(leaked(await collector.send(pageview(url)), pii)).toEqual([]);
        },
      ),
      RUNS,
    );
  });

  it('in an event name and a property value', async () => {
    await fc.assert(
      fc.asyncProperty(anyPii(['-', '.', '_', ' ', '', '/']), disguise, fc.boolean(), async (pii, d, plausible) => {
        const value = disguised(pii, d);
        const named = await collector.send({
          kind: 'hit',
          via: plausible ? 'plausible' : 'snippet',
          type: 'event',
          url: `${ORIGIN}/services`,
          name: `Booked ${value}`,
        });
        expect(leaked(named, pii)).toEqual([]);
        const prop = await collector.send({
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
      fc.asyncProperty(anyPii(), disguise, async (pii, d) => {
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
});
