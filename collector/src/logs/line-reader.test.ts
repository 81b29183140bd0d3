import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MAX_LINE_CHARS, readLines, type LineBatch } from './line-reader.ts';

async function all(pieces: Buffer[]): Promise<{ lines: string[]; tooLong: number; unterminated: boolean }> {
  const batches: LineBatch[] = [];
  for await (const b of readLines(Readable.from(pieces))) batches.push(b);
  return {
    lines: batches.flatMap((b) => b.lines),
    tooLong: batches.reduce((n, b) => n + b.tooLong.length, 0),
    unterminated: Boolean(batches.at(-1)?.unterminated),
  };
}

/** Every way of cutting `bytes` into two pieces. */
const cuts = (bytes: Buffer) =>
  Array.from({ length: bytes.length + 1 }, (_, i) => [bytes.subarray(0, i), bytes.subarray(i)]);

describe('readLines', () => {
  const text = '\uFEFFfirst ünïcödé 🩺\r\nsecond\n\nlast without newline';
  const want = ['first ünïcödé 🩺', 'second', '', 'last without newline'];

  it('reads the same lines however the bytes are cut (byte-order mark, multi-byte characters, CRLF)', async () => {
    for (const pieces of cuts(Buffer.from(text))) expect((await all(pieces)).lines).toEqual(want);
  });

  it('reads the same lines however the bytes are cut into many pieces', async () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const words = ['GET /a', 'ü', '🩺', '"x"', '\r\n', '\n', '\n', ' ', '-', '203.0.113.9'];
    for (let round = 0; round < 200; round++) {
      const body =
        (round % 3 === 0 ? '\uFEFF' : '') +
        Array.from({ length: 60 }, () => words[Math.floor(random() * words.length)]).join('');
      const bytes = Buffer.from(body);
      const at = Array.from({ length: 1 + Math.floor(random() * 8) }, () => Math.floor(random() * bytes.length)).sort(
        (a, b) => a - b,
      );
      const pieces = [0, ...at].map((from, i) => bytes.subarray(from, [...at, bytes.length][i]));
      const want = body
        .replace(/^\uFEFF/, '')
        .split('\n')
        .map((l) => l.replace(/\r$/, ''));
      if (want.at(-1) === '') want.pop();
      expect((await all(pieces)).lines).toEqual(want);
    }
  });

  it('reads gzip like plain text and marks an unterminated last line', async () => {
    const read = await all([gzipSync(text)]);
    expect(read).toEqual({ lines: want, tooLong: 0, unterminated: true });
  });

  it('reports an over-long line in place, spread over many chunks or in one', async () => {
    const long = 'x'.repeat(MAX_LINE_CHARS + 1);
    const body = Buffer.from(`a\n${long}\nb\n`);
    for (const size of [1000, body.length]) {
      const pieces = Array.from({ length: Math.ceil(body.length / size) }, (_, i) =>
        body.subarray(i * size, (i + 1) * size),
      );
      expect(await all(pieces)).toEqual({ lines: ['a', '', 'b'], tooLong: 1, unterminated: false });
    }
  });
});
