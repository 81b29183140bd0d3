/**
 * The search for planted PII. Both the planted value and every envelope field are reduced to
 * one canonical spelling before comparing, so a value that survives in another spelling is
 * still found: NFKC (full-width letters and digits), decoded percent-escapes, case-folded,
 * diacritics removed, every decimal digit (Arabic-Indic, Thai, Devanagari…) as ASCII, and
 * everything that is neither letter nor digit (separators, dots, `@`, zero-width characters) removed.
 */
export function canonicalPii(text: string): string {
  return decodeAll(text)
    .normalize('NFKC')
    .toLowerCase()
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/\p{Nd}/gu, (d) => String(asciiDigit(d)))
    .replace(/[^\p{L}\p{N}]/gu, '');
}

/** Decimal digits of every script are consecutive code points starting at a multiple of 16 minus 0 or 6. */
function asciiDigit(d: string): number {
  const code = d.codePointAt(0)!;
  for (let zero = code; zero > code - 10; zero--) {
    if (!/\p{Nd}/u.test(String.fromCodePoint(zero - 1))) return code - zero;
  }
  return 0;
}

function decodeAll(text: string): string {
  let current = text;
  for (let i = 0; i < 20; i++) {
    const next = current.replace(/(%[0-9a-f]{2})+/gi, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
    if (next === current) break;
    current = next;
  }
  return current;
}

/**
 * The needles of planted values: their canonical forms. A needle must be long enough not to turn up
 * by chance: 4 Latin letters or digits, or 3 characters of a script like Han or Hangul.
 */
export function needlesOf(pii: readonly string[]): string[] {
  const needles = pii.map(canonicalPii);
  for (const [i, n] of needles.entries())
    if (n.length < (/^[a-z0-9]*$/.test(n) ? 4 : 3))
      throw new Error(`planted value ${JSON.stringify(pii[i])} is too short to search for`);
  return needles;
}

/** Fields of an envelope that hold keyed hashes, random ids (hex by schema) or the receive time, not text from the input. */
const OPAQUE_FIELDS = new Set(['id', 'visitor', 'ts']);

/** Every text the envelope carries, by field (`props.plan` for a property), except the opaque hex fields. */
export function envelopeTexts(event: Record<string, unknown>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [key, value] of Object.entries(event)) {
    if (OPAQUE_FIELDS.has(key) || value === null || value === undefined) continue;
    if (typeof value === 'object') {
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        out.push([`${key}.${k}(key)`, k]);
        out.push([`${key}.${k}`, String(v)]);
      }
    } else out.push([key, String(value)]);
  }
  return out;
}

export type Surviving = { pii: string; field: string; text: string };

/** Where each planted value survives in the envelope; empty when every one is gone. */
export function survivingPii(event: Record<string, unknown>, pii: readonly string[]): Surviving[] {
  const found: Surviving[] = [];
  const texts = envelopeTexts(event).map(([field, text]) => [field, text, canonicalPii(text)] as const);
  for (const [i, needle] of needlesOf(pii).entries())
    for (const [field, text, canonical] of texts)
      if (canonical.includes(needle)) found.push({ pii: pii[i]!, field, text });
  return found;
}

export const describeSurviving = (s: Surviving): string =>
  `${JSON.stringify(s.pii)} in ${s.field} (${JSON.stringify(s.text)})`;
