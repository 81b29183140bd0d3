import { pathPatternProblem } from '../contracts/practice.ts';

/**
 * Page-class and path-template patterns, matched without backtracking: segment by segment, a `*`
 * inside a segment by cutting the segment pattern at its stars and finding each literal piece at its
 * leftmost place (for `*`-only globs the leftmost choice is always right, so nothing is retried), and
 * `**` as any rest. The work is linear in the path's length for a pattern of bounded length
 * (`MAX_PATH_PATTERN_CHARS`), whatever the pattern; `steps` counts it for tests.
 */
type SegmentMatcher = { kind: 'any' } | { kind: 'literal'; text: string } | { kind: 'glob'; pieces: string[] };

export type PathGlob = { segments: SegmentMatcher[]; rest: boolean };

/** Character comparisons made by the matcher since the process started (for tests of its linear work). */
export const globWork = { steps: 0 };

/** Compiles a pattern the practice schema accepted; throws on one it would refuse. */
export function compileGlob(pattern: string): PathGlob {
  const problem = pathPatternProblem(pattern);
  if (problem) throw new Error(`invalid path pattern ${pattern}: ${problem}`);
  const parts = pattern === '/' ? [] : pattern.replace(/\/$/, '').slice(1).toLowerCase().split('/');
  const rest = parts.at(-1) === '**';
  if (rest) parts.pop();
  return {
    rest,
    segments: parts.map((part): SegmentMatcher => {
      if (part === '*') return { kind: 'any' };
      if (!part.includes('*')) return { kind: 'literal', text: part };
      return { kind: 'glob', pieces: part.split('*') };
    }),
  };
}

/** Whether the canonical path's segments (lower-cased, no empty ones) match the pattern. */
export function matchGlob(glob: PathGlob, segments: readonly string[]): boolean {
  const n = glob.segments.length;
  if (glob.rest ? segments.length < n : segments.length !== n) return false;
  for (let i = 0; i < n; i++) {
    const matcher = glob.segments[i]!;
    const segment = segments[i]!;
    if (
      matcher.kind === 'literal'
        ? !equals(matcher.text, segment)
        : matcher.kind === 'glob' && !globSegment(matcher.pieces, segment)
    )
      return false;
  }
  return true;
}

function equals(a: string, b: string): boolean {
  globWork.steps += Math.min(a.length, b.length) + 1;
  return a === b;
}

/** `pieces` are the literal texts between the stars: the first is a prefix, the last a suffix, the others in order between. */
function globSegment(pieces: readonly string[], segment: string): boolean {
  const first = pieces[0]!;
  const last = pieces[pieces.length - 1]!;
  if (segment.length < first.length + last.length) return false;
  if (!startsAt(segment, first, 0) || !startsAt(segment, last, segment.length - last.length)) return false;
  let from = first.length;
  const end = segment.length - last.length;
  for (let p = 1; p < pieces.length - 1; p++) {
    const piece = pieces[p]!;
    const at = find(segment, piece, from, end);
    if (at < 0) return false;
    from = at + piece.length;
  }
  return true;
}

function startsAt(text: string, piece: string, at: number): boolean {
  for (let i = 0; i < piece.length; i++) {
    globWork.steps++;
    if (text.charCodeAt(at + i) !== piece.charCodeAt(i)) return false;
  }
  return true;
}

/** The leftmost place of `piece` in text[from, end), or -1: at most (end - from) × piece.length comparisons. */
function find(text: string, piece: string, from: number, end: number): number {
  for (let at = from; at + piece.length <= end; at++) if (startsAt(text, piece, at)) return at;
  return -1;
}
