import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
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

/**
 * Yields the input's lines in batches (one per decoded chunk), gunzipping when the data
 * starts with the gzip magic bytes. `bytesRead` counts input bytes (compressed, if gzip),
 * for progress. `maxDecodedBytes` bounds what a small gzip body may expand to.
 * `tooLong` holds indexes, within `lines`, of lines cut at MAX_LINE_CHARS (their text is '').
 */
export async function* readLines(input: Readable, options: { maxDecodedBytes?: number } = {}): AsyncGenerator<LineBatch> {
  const { head, stream } = await peekHead(input, 2);
  let bytesRead = 0;
  const counted = stream.on('data', (chunk: Buffer) => {
    bytesRead += chunk.length;
  });
  const source: Readable = isGzip(head) ? counted.pipe(createGunzip()) : counted;
  if (source !== counted) counted.on('error', (e) => source.destroy(e));
  const decoder = new StringDecoder('utf8');
  const max = options.maxDecodedBytes ?? Number.POSITIVE_INFINITY;
  let decoded = 0;
  let carry = '';
  let skipping = false;
  let first = true;
  for await (const chunk of source as AsyncIterable<Buffer>) {
    decoded += chunk.length;
    if (decoded > max) {
      source.destroy();
      throw new InputTooLargeError(`input expands beyond ${max} bytes`);
    }
    let text = carry + decoder.write(chunk);
    // A byte-order mark (logs saved by Windows tools) is not part of the first line.
    if (first && text.length > 0) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
    }
    const lines: string[] = [];
    const tooLong: number[] = [];
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      if (skipping) skipping = false;
      else pushLine(lines, tooLong, text, start, nl);
      start = nl + 1;
    }
    carry = text.slice(start);
    if (carry.length > MAX_LINE_CHARS) {
      if (!skipping) {
        tooLong.push(lines.length);
        lines.push('');
      }
      skipping = true;
      carry = '';
    }
    yield { lines, tooLong, bytesRead };
  }
  const rest = carry + decoder.end();
  if (rest.length > 0 && !skipping) {
    const lines: string[] = [];
    const tooLong: number[] = [];
    pushLine(lines, tooLong, rest, 0, rest.length);
    yield { lines, tooLong, bytesRead, unterminated: true };
  }
}

function pushLine(lines: string[], tooLong: number[], text: string, start: number, end: number): void {
  if (end > start && text.charCodeAt(end - 1) === 13) end--;
  if (end - start > MAX_LINE_CHARS) {
    tooLong.push(lines.length);
    lines.push('');
  } else {
    lines.push(text.slice(start, end));
  }
}
