import { pathPatternProblem } from '../contracts/practice.ts';
import { describe, expect, it } from 'vitest';
import { compileGlob, globWork, matchGlob } from './path-glob.ts';

const matches = (pattern: string, path: string) => matchGlob(compileGlob(pattern), path.split('/').filter(Boolean));

describe('path globs', () => {
  it('matches * within a segment, * as a segment and ** as any rest', () => {
    expect(matches('/teen*/**', '/teens/acne')).toBe(true);
    expect(matches('/teen*/**', '/teen')).toBe(true);
    expect(matches('/teen*/**', '/team')).toBe(false);
    expect(matches('/doctors/*/reviews', '/doctors/lopez/reviews')).toBe(true);
    expect(matches('/doctors/*/reviews', '/doctors/lopez/x/reviews')).toBe(false);
    expect(matches('/a/*x*y*/b', '/a/1x2y3/b')).toBe(true);
    expect(matches('/a/*x*y*/b', '/a/1y2x3/b')).toBe(false);
    expect(matches('/a/x*x', '/a/x')).toBe(false);
    expect(matches('/a/x*x', '/a/xx')).toBe(true);
    expect(matches('/portal/**', '/portal')).toBe(true);
    expect(matches('/portal', '/portal/x')).toBe(false);
    expect(matches('/', '/')).toBe(true);
  });

  it('does linear work on the 190-character path that made the regex matcher backtrack for 23 s', () => {
    const pattern = '/*a*a*a*a*a*a*a*a*b';
    const path = '/' + 'a'.repeat(189);
    const before = globWork.steps;
    expect(matches(pattern, path)).toBe(false);
    const steps = globWork.steps - before;
    // Each literal piece is looked for once, left to right: at most (segment length × pattern length) comparisons.
    expect(steps).toBeLessThanOrEqual(189 * pattern.length);
    // And doubling the path at most doubles the work.
    const again = globWork.steps;
    matches(pattern, '/' + 'a'.repeat(378));
    expect(globWork.steps - again).toBeLessThanOrEqual(2 * steps + 2 * pattern.length);
    // Where the prefix and suffix match and the middle pieces must be searched for: still one pass per piece.
    for (const [glob, segment] of [
      ['/*a*a*a*a*a*a*a*a*b', 'a'.repeat(188) + 'b'],
      ['/*x*a*a*a*a*a*a*b', 'a'.repeat(188) + 'b'],
      ['/*ab*ab*ab*ab*ab*c', 'ab'.repeat(94) + 'c'],
    ] as const) {
      const start = globWork.steps;
      matches(glob, `/${segment}`);
      expect(globWork.steps - start, glob).toBeLessThanOrEqual(segment.length * glob.length);
    }
  });

  it('refuses, at registration, patterns the matcher cannot take', () => {
    for (const bad of [
      'portal/**',
      '/a/**/b',
      '/a**',
      '//a',
      '/a/../b',
      '/a./b',
      '/a b',
      '/(a|b)',
      '/' + 'a'.repeat(130),
    ])
      expect(pathPatternProblem(bad), bad).not.toBeNull();
    for (const good of ['/', '/portal/**', '/teen*/**', '/doctors/*/reviews', '/*a*b*', '/.well-known/**'])
      expect(pathPatternProblem(good), good).toBeNull();
    expect(() => compileGlob('/a/**/b')).toThrow(/only as the last segment/);
  });
});
