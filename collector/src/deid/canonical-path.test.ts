import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalPath, decodeToFixedPoint, MAX_CANONICAL_INPUT, pathText } from './canonical-path.ts';

const canonical = (raw: string) => {
  const path = canonicalPath(raw);
  return path && pathText(path);
};

describe('canonical paths', () => {
  it('gives every spelling of /portal/records/smith-john the same canonical path', () => {
    for (const raw of [
      '//portal/records/smith-john',
      '/portal%2Frecords%2Fsmith-john',
      '/portal%252Frecords%252Fsmith-john',
      '/portal;x/records/smith-john',
      '/portal./records/smith-john',
      '/portal ./records/smith-john',
      '/portal%2E/records/smith-john',
      '/por\u200btal/records/smith-john',
      '/por%E2%80%8Btal/records/smith-john',
      '/\uff50\uff4f\uff52\uff54\uff41\uff4c/records/smith-john',
      '/portal\\records\\smith-john',
      '/x/../portal/./records/smith-john',
      '/x/%2e%2e/portal/records/smith-john',
      '/portal\uff0frecords/smith-john',
    ])
      expect(canonical(raw), raw).toBe('/portal/records/smith-john');
  });

  it('decodes any number of rounds of percent-encoding, including the seven the old decoder stopped short of', () => {
    let text = 'jane@x.org';
    for (let i = 0; i < 7; i++) text = encodeURIComponent(text);
    expect(decodeToFixedPoint(text)).toBe('jane@x.org');
    let deep = '@';
    for (let i = 0; i < 200; i++) deep = encodeURIComponent(deep);
    expect(decodeToFixedPoint(deep)).toBe('@');
  });

  it('fails closed on input too long to canonicalise', () => {
    expect(decodeToFixedPoint('a'.repeat(MAX_CANONICAL_INPUT + 1))).toBeNull();
    expect(canonicalPath('/' + 'a'.repeat(MAX_CANONICAL_INPUT))).toBeNull();
  });

  it('keeps + in paths and reads it as a space in query values', () => {
    expect(canonical('/call/+4915112345678')).toBe('/call/+4915112345678');
    expect(decodeToFixedPoint('spring+sale')).toBe('spring sale');
  });

  it('keeps the root and a trailing slash', () => {
    expect(canonical('/')).toBe('/');
    expect(canonical('/services/cardiology/')).toBe('/services/cardiology/');
    expect(canonical('/.well-known/security.txt')).toBe('/.well-known/security.txt');
  });

  it('is idempotent: a canonical path is its own canonical form', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200, unit: 'binary' }), (tail) => {
        const once = canonical(`/${tail}`);
        if (once !== null) expect(canonical(once)).toBe(once);
      }),
      { numRuns: 1000 },
    );
  });
});
