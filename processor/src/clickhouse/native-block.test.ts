import { describe, expect, it } from 'vitest';
import { encodeNativeBlock, nativeColumn as col } from './native-block.ts';

const hex = (b: Buffer) => b.toString('hex');

describe('encodeNativeBlock', () => {
  it('writes column count, row count, then name, type and values per column', () => {
    const block = encodeNativeBlock([col.uint8('a', [1, 255]), col.string('s', ['x', 'é'])]);
    expect(hex(block)).toBe(
      [
        '02', // columns
        '02', // rows
        '0161',
        '0555496e7438',
        '01ff', // a UInt8 [1, 255]
        '0173',
        '06537472696e67',
        '0178',
        '02c3a9', // s String ['x', 'é']
      ].join(''),
    );
  });

  it('encodes fixed-width integers and dates little-endian', () => {
    const block = encodeNativeBlock([
      col.uint32('u', [0x01020304]),
      col.uint64('g', [2n ** 64n - 1n]),
      col.int64('i', [-2n]),
      col.date('d', [19737]),
      col.enum8('k', "Enum8('a' = 1)", [-1]),
    ]);
    const body = hex(block);
    expect(body).toContain('04030201');
    expect(body).toContain('ffffffffffffffff');
    expect(body).toContain('feffffffffffffff');
    expect(body).toContain(Buffer.from([19737 & 0xff, 19737 >> 8]).toString('hex'));
    expect(body.endsWith('ff')).toBe(true);
    expect(block.includes(Buffer.from("Enum8('a' = 1)"))).toBe(true);
  });

  it('writes arrays as cumulative end offsets followed by all elements', () => {
    const block = encodeNativeBlock([col.arrayUInt64('h', [[7, 8], [], [9]])]);
    const u64 = (v: number) => Buffer.from(new BigUint64Array([BigInt(v)]).buffer).toString('hex');
    expect(hex(block)).toBe(
      ['01', '03', '0168', '0d41727261792855496e74363429', u64(2), u64(2), u64(3), u64(7), u64(8), u64(9)].join(''),
    );
  });

  it('uses multi-byte varints for long strings and large row counts', () => {
    const long = 'x'.repeat(300);
    const block = encodeNativeBlock([col.string('s', [long])]);
    // 300 = 0b10_0101100 → ac 02
    expect(hex(block.subarray(0, 2))).toBe('0101');
    expect(block.includes(Buffer.from([0xac, 0x02]))).toBe(true);
    const many = encodeNativeBlock([col.uint8('n', new Array(200).fill(0))]);
    expect(hex(many.subarray(0, 3))).toBe('01c801');
  });

  it('refuses columns of different lengths', () => {
    expect(() => encodeNativeBlock([col.uint8('a', [1]), col.uint8('b', [])])).toThrow(/b has 0 rows/);
  });

  it('grows past its initial buffer', () => {
    const values = Array.from({ length: 20_000 }, (_, i) => BigInt(i));
    const block = encodeNativeBlock([col.uint64('v', values)]);
    expect(block.readBigUInt64LE(block.length - 8)).toBe(19_999n);
  });

  it('refuses a value its column cannot hold instead of writing it as something else', () => {
    for (const day of [65_536, -1, Number.NaN, 1.5])
      expect(() => encodeNativeBlock([col.date('d', [day])])).toThrow(RangeError);
    expect(() => encodeNativeBlock([col.uint8('h', [Number.NaN])])).toThrow(RangeError);
    expect(() => encodeNativeBlock([col.uint32('p', [2 ** 32])])).toThrow(RangeError);
    expect(
      encodeNativeBlock([col.date('d', [65_535])])
        .subarray(-2)
        .toString('hex'),
    ).toBe('ffff');
  });
});
