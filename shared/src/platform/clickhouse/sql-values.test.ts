import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  date,
  dateTime,
  float,
  ident,
  inList,
  int,
  isIsoDate,
  likePrefix,
  raw,
  sql,
  SqlValueError,
  str,
} from './sql-values.ts';

/** Reads a string literal the way ClickHouse's lexer does, to check the escaping is reversible. */
function unquote(literal: string): string {
  expect(literal.startsWith("'") && literal.endsWith("'")).toBe(true);
  const body = literal.slice(1, -1);
  const map: Record<string, string> = { '\\': '\\', "'": "'", n: '\n', r: '\r', t: '\t', '0': '\0', b: '\b', f: '\f' };
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '\\') {
      const next = body[++i]!;
      expect(map[next], `unexpected escape \\${next}`).toBeDefined();
      out += map[next];
    } else {
      expect(c, 'unescaped quote inside literal').not.toBe("'");
      out += c;
    }
  }
  return out;
}

describe('str', () => {
  const hostile = [
    "\\'; DROP TABLE l; --",
    'trailing backslash\\',
    "x' OR '1'='1",
    '{s:String}',
    'emoji 🩺 and ünïcödé',
    'nul\0byte',
    'lines\nand\rreturns\tand\btabs\f',
    "''",
    '\\\\',
  ];
  it.each(hostile)('escapes %j so it round-trips and cannot close the literal', (value) => {
    const literal = str(value);
    expect(unquote(literal)).toBe(value);
  });

  it('round-trips any well-formed string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (value) => {
        expect(unquote(str(value))).toBe(value);
      }),
    );
  });

  it('refuses lone surrogates and non-strings', () => {
    expect(() => str('\ud800')).toThrow(SqlValueError);
    expect(() => str(5 as unknown as string)).toThrow(SqlValueError);
  });
});

describe('int', () => {
  it('accepts safe integers, bigints and digit strings in 64-bit range', () => {
    expect(int(42)).toBe('42');
    expect(int(-1)).toBe('(-1)');
    expect(int(18446744073709551615n)).toBe('18446744073709551615');
    expect(int('-9223372036854775808')).toBe('(-9223372036854775808)');
  });
  it.each([['1 OR 1=1'], [1.5], [Number.NaN], [2 ** 60], ['18446744073709551616'], ['0x10'], ['']])(
    'refuses %j',
    (value) => {
      expect(() => int(value as never)).toThrow(SqlValueError);
    },
  );
  it('refuses bigints below Int64', () => {
    expect(() => int(-(2n ** 63n) - 1n)).toThrow(SqlValueError);
  });
  it('keeps subtraction of negatives valid', () => {
    expect(sql`SELECT 10 - ${-1}`).toBe('SELECT 10 - (-1)');
  });
});

describe('float', () => {
  it('refuses non-finite numbers', () => {
    for (const v of [Number.NaN, Infinity, -Infinity]) expect(() => float(v)).toThrow(SqlValueError);
  });
  it('flushes subnormals to zero and parenthesises negatives', () => {
    expect(float(5e-324)).toBe('0');
    expect(float(-2.5)).toBe('(-2.5)');
    expect(float(0.1)).toBe('0.1');
  });
});

describe('dates', () => {
  it('accepts only real calendar dates', () => {
    expect(isIsoDate('2024-02-29')).toBe(true);
    for (const bad of ['2024-02-30', '2023-02-29', '2024-13-01', '2024-1-01', "2024-01-01' OR 1", '1969-12-31']) {
      expect(isIsoDate(bad)).toBe(false);
      expect(() => date(bad)).toThrow(SqlValueError);
    }
    expect(date('2024-01-15')).toBe("toDate('2024-01-15')");
  });
  it('writes DateTimes as UTC epoch seconds', () => {
    expect(dateTime(new Date('2024-01-15T10:00:00Z'))).toBe("toDateTime(1705312800, 'UTC')");
    expect(() => dateTime(-1)).toThrow(SqlValueError);
    expect(() => dateTime(1.5)).toThrow(SqlValueError);
  });
});

describe('identifiers, lists and LIKE', () => {
  it('accepts plain identifiers only', () => {
    expect(ident('rollup_daily')).toBe('`rollup_daily`');
    for (const bad of ['a-b', '1abc', 'a`b', 'a b', '', 'x;DROP']) expect(() => ident(bad)).toThrow(SqlValueError);
  });
  it('turns an empty IN list into a false condition', () => {
    expect(inList('x', [], str)).toBe('0');
    expect(inList('x', ['a', "b'"], str)).toBe("x IN ('a', 'b\\'')");
  });
  it('escapes LIKE wildcards in prefixes', () => {
    expect(likePrefix('50%_off\\')).toBe("'50\\\\%\\\\_off\\\\\\\\%'");
  });
  it('formats template interpolations by type and passes fragments through', () => {
    expect(sql`SELECT * FROM ${raw(ident('t'))} WHERE a = ${"it's"} AND b = ${2} AND c = ${0.5}`).toBe(
      "SELECT * FROM `t` WHERE a = 'it\\'s' AND b = 2 AND c = 0.5",
    );
  });
});
