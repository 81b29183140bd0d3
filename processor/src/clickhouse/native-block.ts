/**
 * A minimal encoder for ClickHouse's Native format as accepted over HTTP
 * (`INSERT … FORMAT Native`): varint column count, varint row count, then per column its
 * name, its type name and its values. Native is used instead of JSONEachRow because a
 * block cut short (the process killed mid-send) fails to parse and nothing is stored,
 * whereas a row format commits the rows that arrived.
 */

/** Buffer's writers check the range but let NaN through as 0, which would silently store 1970-01-01. */
function checkedUInt(value: number, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max)
    throw new RangeError(`${value} is not an integer in 0..${max}`);
  return value;
}

class ByteWriter {
  private chunks: Buffer[] = [];
  private current = Buffer.allocUnsafe(64 * 1024);
  private pos = 0;

  private ensure(bytes: number): void {
    if (this.pos + bytes <= this.current.length) return;
    this.chunks.push(this.current.subarray(0, this.pos));
    this.current = Buffer.allocUnsafe(Math.max(64 * 1024, bytes));
    this.pos = 0;
  }

  varUInt(value: number): void {
    this.ensure(10);
    let v = value;
    while (v >= 0x80) {
      this.current[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.current[this.pos++] = v;
  }

  string(value: string): void {
    const length = Buffer.byteLength(value, 'utf8');
    this.varUInt(length);
    this.ensure(length);
    this.pos += this.current.write(value, this.pos, 'utf8');
  }

  int8(value: number): void {
    this.ensure(1);
    this.pos = this.current.writeInt8(value, this.pos);
  }

  uint8(value: number): void {
    this.ensure(1);
    this.pos = this.current.writeUInt8(checkedUInt(value, 0xff), this.pos);
  }

  uint16(value: number): void {
    this.ensure(2);
    this.pos = this.current.writeUInt16LE(checkedUInt(value, 0xffff), this.pos);
  }

  uint32(value: number): void {
    this.ensure(4);
    this.pos = this.current.writeUInt32LE(checkedUInt(value, 0xffff_ffff), this.pos);
  }

  uint64(value: bigint): void {
    this.ensure(8);
    this.pos = this.current.writeBigUInt64LE(value, this.pos);
  }

  /** A UInt64 from a non-negative safe integer, without a BigInt per value. */
  uint64Number(value: number): void {
    this.ensure(8);
    this.current.writeUInt32LE(value % 0x1_0000_0000, this.pos);
    this.current.writeUInt32LE(Math.floor(value / 0x1_0000_0000), this.pos + 4);
    this.pos += 8;
  }

  int64(value: bigint): void {
    this.ensure(8);
    this.pos = this.current.writeBigInt64LE(value, this.pos);
  }

  finish(): Buffer {
    return Buffer.concat([...this.chunks, this.current.subarray(0, this.pos)]);
  }
}

export type NativeColumn = { name: string; type: string; rows: number; write(w: ByteWriter): void };

const fixed =
  <T>(type: string, put: (w: ByteWriter, v: T) => void) =>
  (name: string, values: readonly T[]): NativeColumn => ({
    name,
    type,
    rows: values.length,
    write: (w) => values.forEach((v) => put(w, v)),
  });

/** Column constructors for the types the processor writes. */
export const nativeColumn = {
  string: fixed<string>('String', (w, v) => w.string(v)),
  uint8: fixed<number>('UInt8', (w, v) => w.uint8(v)),
  uint32: fixed<number>('UInt32', (w, v) => w.uint32(v)),
  uint64: fixed<bigint>('UInt64', (w, v) => w.uint64(v)),
  int64: fixed<bigint>('Int64', (w, v) => w.int64(v)),
  /** Days since 1970-01-01. */
  date: fixed<number>('Date', (w, v) => w.uint16(v)),
  /** `type` is the exact Enum8 declaration, e.g. `Enum8('a' = 1, 'b' = 2)`; values are the codes. */
  enum8: (name: string, type: string, values: readonly number[]): NativeColumn =>
    fixed<number>(type, (w, v) => w.int8(v))(name, values),
  /** Array(UInt64) of unsigned 32-bit numbers: cumulative end offsets (UInt64) for every row, then all elements. */
  arrayUInt64: (name: string, values: readonly (readonly number[])[]): NativeColumn => ({
    name,
    type: 'Array(UInt64)',
    rows: values.length,
    write(w) {
      let end = 0;
      for (const row of values) {
        end += row.length;
        w.uint64Number(end);
      }
      for (const row of values) for (const v of row) w.uint64Number(v);
    },
  }),
};

export function encodeNativeBlock(columns: readonly NativeColumn[]): Buffer {
  const rows = columns[0]?.rows ?? 0;
  const w = new ByteWriter();
  w.varUInt(columns.length);
  w.varUInt(rows);
  for (const column of columns) {
    if (column.rows !== rows) throw new Error(`column ${column.name} has ${column.rows} rows, expected ${rows}`);
    w.string(column.name);
    w.string(column.type);
    column.write(w);
  }
  return w.finish();
}
