import type { EventType } from '@confidant/shared';

/** Where an item's input enters the collector. */
export type CorpusInput =
  | {
      kind: 'hit';
      /**
       * `snippet`: the beacon `POST /e`; `plausible`: `POST /api/event` (the only beacon with properties);
       * `pixel`: `GET /e.gif` (page views); `buffer`: the buffer page `GET /out` (outbound clicks).
       */
      via: 'snippet' | 'plausible' | 'pixel' | 'buffer';
      type: EventType;
      url: string;
      referrer?: string;
      target?: string;
      name?: string;
      props?: Record<string, unknown>;
    }
  | {
      kind: 'log';
      /** One combined-log-format line; `{time}` is replaced by a recent `[dd/Mon/yyyy:HH:MM:SS +0000]` time. */
      line: string;
    };

export type HitInput = Extract<CorpusInput, { kind: 'hit' }>;

/**
 * An expected field value; `oneOf` where the pipeline's design leaves several PII-free spellings open,
 * `pattern` (a regular expression source) where a placeholder may stand for the whole segment or a part of it.
 */
export type FieldExpectation = string | null | { oneOf: Array<string | null> } | { pattern: string };

export type ExpectedEnvelope = {
  outcome: 'ok';
  page?: FieldExpectation;
  countOnly?: boolean;
  referrerDomain?: FieldExpectation;
  utmSource?: FieldExpectation;
  utmMedium?: FieldExpectation;
  utmCampaign?: FieldExpectation;
  target?: FieldExpectation;
  name?: FieldExpectation;
  /** Exactly these properties (null: none at all). */
  props?: Record<string, FieldExpectation> | null;
};

export type Expected = ExpectedEnvelope | { outcome: 'drop' } | { outcome: 'invalid' };

export type CorpusItem = {
  /** Unique, `category/what/where`. */
  id: string;
  category: string;
  input: CorpusInput;
  expect: Expected;
  /** The planted identifying values as written; none may be found, canonicalised, in any field of the envelope. */
  pii: string[];
};

export const ORIGIN = 'https://clinic.example';
/** The practice's own domain, as registered in the corpus practice. */
export const PRACTICE_DOMAIN = 'clinic.example';
/** The user agent of every corpus request: an ordinary browser, so no bot filter drops it. */
export const CORPUS_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
/** The slot of a log line's client address: each item is sent from its own client (`corpusClient`). */
export const CLIENT_SLOT = '{client}';

export const pageview = (url: string, extra: Partial<HitInput> = {}): HitInput => ({
  kind: 'hit',
  via: 'snippet',
  type: 'pageview',
  url,
  ...extra,
});

/**
 * A combined-log-format line for `target` (a raw request target, already percent-encoded where a server would log it so),
 * from the item's own client unless `ip` names one.
 */
export const logLine = (target: string, referrer = '-', user = '-', ip = CLIENT_SLOT): CorpusInput => ({
  kind: 'log',
  line: `${ip} - ${user} {time} "GET ${target} HTTP/1.1" 200 5120 "${referrer}" "${CORPUS_UA}"`,
});

export const oneOf = (...values: Array<string | null>): FieldExpectation => ({ oneOf: values });

/** True when `actual` is what `expected` allows. */
export function fieldMatches(expected: FieldExpectation, actual: unknown): boolean {
  const value = actual === undefined ? null : actual;
  if (expected === null || typeof expected === 'string') return value === expected;
  if ('oneOf' in expected) return expected.oneOf.includes(value as string | null);
  return typeof value === 'string' && new RegExp(expected.pattern, 'u').test(value);
}

/** `encodeURIComponent` applied `times` times. */
export function encodeTimes(text: string, times: number): string {
  let out = text;
  for (let i = 0; i < times; i++) out = encodeURIComponent(out);
  return out;
}
