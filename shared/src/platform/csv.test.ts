import { describe, expect, it } from 'vitest';
import { csvField } from './csv.ts';

describe('csvField', () => {
  it('defuses text that a spreadsheet would run as a formula', () => {
    for (const s of ['=HYPERLINK("http://x")', '+1+1', '-2+3', '@SUM(A1)', '\t=1', '\r=1'])
      expect(csvField(s).replace(/^"/, '').startsWith("'")).toBe(true);
  });

  it('keeps numbers, negative ones too, and quotes what RFC 4180 requires', () => {
    expect([csvField(-12), csvField('-3.5'), csvField(7), csvField(null)]).toEqual(['-12', '-3.5', '7', '']);
    expect(csvField('a,"b"\nc')).toBe('"a,""b""\nc"');
    expect(csvField('-1 OR 1')).toBe("'-1 OR 1");
  });
});
