/**
 * Canonicalisation, before any rule looks at a path or value: what a browser, a server or a person
 * reads as the same text is made the same text, so that no spelling escapes a page class, a template
 * or the scrubber. It fails closed: text that does not reach a fixed point is not kept at all.
 */

/** Longer input is not canonicalised but refused (beacons and log lines are bounded far below this). */
export const MAX_CANONICAL_INPUT = 8192;

// Zero-width and other format characters (U+200B, U+00AD, U+FEFF, bidi controls) and control characters.
const INVISIBLE = /[\p{Cf}\p{Cc}]/gu;

/**
 * Decodes percent-escapes (malformed ones one by one) and, in query values (`plusIsSpace`), `+`; removes
 * invisible characters and applies NFKC, repeatedly until the text no longer changes: `%2525…40`,
 * `％４０` and `%E2%80%8B` all end where their plain spelling starts. Each changing round shortens the
 * text or removes its `+`, so this ends within about the text's length in rounds; null when the text is
 * longer than MAX_CANONICAL_INPUT or (as a backstop) has not settled by then: such text is replaced,
 * never kept half-decoded.
 */
export function decodeToFixedPoint(text: string, plusIsSpace = true): string | null {
  if (text.length > MAX_CANONICAL_INPUT) return null;
  let current = text;
  const rounds = 2 * text.length + 4;
  for (let i = 0; i < rounds; i++) {
    // Fast path: most text has nothing to decode or normalise.
    const next = /[%+]|[^\x20-\x7e]/.test(current)
      ? decodeOnce(plusIsSpace ? current.replace(/\+/g, ' ') : current)
          .replace(INVISIBLE, '')
          .normalize('NFKC')
      : current;
    if (next === current) return current;
    current = next;
  }
  return null;
}

function decodeOnce(text: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text.replace(/(%[0-9a-f]{2})+/gi, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
      }
    });
  }
}

/** A canonical path: its segments (none empty, no `.` or `..`) and whether it ended with `/`. */
export type CanonicalPath = { segments: string[]; trailingSlash: boolean };

/**
 * The canonical form of a URL path: decoded to a fixed point, `\` read as `/` (as browsers do), slashes
 * collapsed, `;` parameters cut from every segment, dot segments resolved, trailing dots and spaces (and
 * leading spaces) stripped from every segment. Null when the path does not decode to a fixed point.
 */
export function canonicalPath(rawPath: string): CanonicalPath | null {
  // In a path `+` is itself (`/call/+4915112345678`), unlike in a query.
  const decoded = decodeToFixedPoint(rawPath, false);
  if (decoded === null) return null;
  const segments: string[] = [];
  const parts = decoded.replace(/\\/g, '/').split('/');
  for (const part of parts) {
    const semi = part.indexOf(';');
    const raw = semi >= 0 ? part.slice(0, semi) : part;
    if (raw === '.') continue;
    if (raw === '..') {
      segments.pop();
      continue;
    }
    const segment = raw.replace(/^\s+/, '').replace(/[.\s]+$/, '');
    if (segment) segments.push(segment);
  }
  const last = parts[parts.length - 1]!;
  return { segments, trailingSlash: segments.length > 0 && last.trim() === '' };
}

/** The canonical path as text: `/a/b`, `/a/b/` or `/`. */
export function pathText(path: CanonicalPath): string {
  return `/${path.segments.join('/')}${path.trailingSlash ? '/' : ''}`;
}
