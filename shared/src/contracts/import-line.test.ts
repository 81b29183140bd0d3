import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { importLineOf, lineEventId, MAX_IMPORT_LINE } from './import-line.ts';

const IMPORT = 'ab'.repeat(32);

describe('import line ids', () => {
  it('round-trip the import key and the line for log events', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_IMPORT_LINE }), (line) => {
        const id = lineEventId(IMPORT, line);
        expect(id).toMatch(/^[0-9a-f]{32}$/);
        expect(importLineOf({ source: 'logs', id })).toEqual({ importKey: IMPORT.slice(0, 20), line });
      }),
    );
  });

  it('beacon events carry no import line', () => {
    expect(importLineOf({ source: 'snippet', id: lineEventId(IMPORT, 7) })).toBeNull();
  });

  it('refuses line numbers the id cannot hold', () => {
    for (const bad of [0, -1, 1.5, MAX_IMPORT_LINE + 1]) expect(() => lineEventId(IMPORT, bad)).toThrow(RangeError);
  });
});
