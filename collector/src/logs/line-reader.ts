import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

/** Longest line kept; a longer one is reported as malformed (`too-long`) without holding it in memory. */
export const MAX_LINE_CHARS = 64 * 1024;

export class InputTooLargeError extends Error {
  override name = 'InputTooLargeError';
}

/**
 * Reads up to `bytes` from the start of a byte stream and returns them with a stream that
 * replays them followed by the rest, so a caller can sniff the format without a second read.
 */
export async function peekHead(input: Readable, bytes: number): Promise<{ head: Buffer; stream: Readable }> {
  const iterator = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const parts: Buffer[] = [];
  let size = 0;
  let done = false;
  while (size < bytes) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    parts.push(chunk);
    size += chunk.length;
  }
  const buffered = Buffer.concat(parts);
  async function* replay(): AsyncGenerator<Buffer> {
    if (buffered.length) yield buffered;
    if (done) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    }
  }
  return { head: buffered.subarray(0, bytes), stream: Readable.from(replay(), { objectMode: false }) };
}

export const isGzip = (head: Buffer): boolean => head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;

/** `unterminated`: the batch's last line ended with the input, not with a newline. */
export type LineBatch = { lines: string[]; tooLong: number[]; bytesRead: number; unterminated?: boolean };

const NEWLINE = 0x0a;
const CR = 0x0d;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
/** A line of more bytes than this has more than MAX_LINE_CHARS characters whatever its encoding. */
const MAX_LINE_BYTES = MAX_LINE_CHARS * 4;

/**
 * Yields the input's lines in batches (one per read chunk), gunzipping when the data starts with the
 * gzip magic bytes. `bytesRead` counts input bytes (compressed, if gzip), for progress.
 * `maxDecodedBytes` bounds what a small gzip body may expand to. `tooLong` holds indexes, within
 * `lines`, of lines longer than MAX_LINE_CHARS (their text is '').
 * Lines are split on newline bytes (which no UTF-8 sequence contains) and each is decoded on its own:
 * a line is then a string of its own, not a slice that would keep a whole read chunk in memory for as
 * long as a cache holds a piece of it.
 */
export async function* readLines(
  input: Readable,
  options: { maxDecodedBytes?: number } = {},
): AsyncGenerator<LineBatch> {
  const { head, stream } = await peekHead(input, 2);
  let bytesRead = 0;
  const counted = stream.on('data', (chunk: Buffer) => {
    bytesRead += chunk.length;
  });
  const source: Readable = isGzip(head) ? counted.pipe(createGunzip()) : counted;
  if (source !== counted) counted.on('error', (e) => source.destroy(e));
  const max = options.maxDecodedBytes ?? Number.POSITIVE_INFINITY;
  let decoded = 0;
  let carry: Buffer = Buffer.alloc(0);
  let skipping = false;
  let first = true;
  /** Pushes the lines of `buf` that end in a newline from `start` on; returns where the rest begins. */
  const split = (buf: Buffer, start: number, lines: string[], tooLong: number[]): number => {
    for (let nl = buf.indexOf(NEWLINE, start); nl >= 0; nl = buf.indexOf(NEWLINE, start)) {
      if (skipping) skipping = false;
      else pushLine(lines, tooLong, buf, start, nl);
      start = nl + 1;
    }
    return start;
  };
  for await (const chunk of source as AsyncIterable<Buffer>) {
    decoded += chunk.length;
    if (decoded > max) {
      source.destroy();
      throw new InputTooLargeError(`input expands beyond ${max} bytes`);
    }
    const lines: string[] = [];
    const tooLong: number[] = [];
    let buf = chunk;
    let start = 0;
    // Only the carried rest of a line is joined with this chunk's bytes up to its first newline, not the whole chunk.
    const nl = carry.length > 0 ? chunk.indexOf(NEWLINE) : -1;
    if (carry.length > 0) buf = Buffer.concat([carry, nl < 0 ? chunk : chunk.subarray(0, nl + 1)]);
    if (first) {
      // A byte-order mark (logs saved by Windows tools) is not part of the first line.
      if (buf.length < BOM.length && BOM.subarray(0, buf.length).equals(buf)) {
        carry = Buffer.from(buf);
        continue;
      }
      if (buf.subarray(0, BOM.length).equals(BOM)) start = BOM.length;
      first = false;
    }
    if (buf !== chunk && nl >= 0) {
      split(buf, start, lines, tooLong);
      buf = chunk;
      start = nl + 1;
    }
    start = split(buf, start, lines, tooLong);
    // A copy: the rest of a line must not hold on to the chunk it came in.
    carry = Buffer.from(buf.subarray(start));
    if (carry.length > MAX_LINE_BYTES) {
      if (!skipping) {
        tooLong.push(lines.length);
        lines.push('');
      }
      skipping = true;
      carry = Buffer.alloc(0);
    }
    yield { lines, tooLong, bytesRead };
  }
  if (first && carry.length > 0 && carry.equals(BOM.subarray(0, carry.length))) carry = Buffer.alloc(0);
  if (carry.length > 0 && !skipping) {
    const lines: string[] = [];
    const tooLong: number[] = [];
    pushLine(lines, tooLong, carry, 0, carry.length);
    yield { lines, tooLong, bytesRead, unterminated: true };
  }
}

function pushLine(lines: string[], tooLong: number[], buf: Buffer, start: number, end: number): void {
  if (end > start && buf[end - 1] === CR) end--;
  const text = end - start > MAX_LINE_BYTES ? null : buf.toString('utf8', start, end);
  if (text === null || text.length > MAX_LINE_CHARS) {
    tooLong.push(lines.length);
    lines.push('');
  } else {
    lines.push(text);
  }
}
