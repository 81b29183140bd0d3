import { createHash, type Hash } from 'node:crypto';
import type { ParseResult } from './log-parser.ts';

/** The input's first line with content matches an earlier import, but its committed lines differ: a different file. */
export class ImportMismatchError extends Error {
  override name = 'ImportMismatchError';
  constructor() {
    super(
      'this input starts like an earlier import but differs from it within the lines that import committed; if it is another log, name its import yourself (`--import-id NAME` on the CLI, `X-Import-Id` on POST /v1/logs)',
    );
  }
}

/** A shipper's chunk starts after the committed position (a gap would be skipped on resume). */
export class ChunkGapError extends Error {
  override name = 'ChunkGapError';
  constructor(
    readonly chunkStart: number,
    readonly committed: number,
  ) {
    super(`chunk starts after line ${chunkStart} but only ${committed} lines of this import are committed`);
  }
}

/**
 * What a content-derived import remembers of a line: its time, method and status when it parses, or
 * why not, and its length. Never its address, user agent or target: the import id and the ledger's
 * prefix hash are built from shapes, so nothing stored is a hash of what a visitor sent (a hash of a
 * raw line could be matched by trying the addresses of one network).
 */
export function lineShape(line: string, parsed: ParseResult | null): string {
  if (!parsed) return `${line.trim() === '' ? 'blank' : 'other'} ${line.length}`;
  return parsed.ok
    ? `${parsed.hit.time} ${parsed.hit.method} ${parsed.hit.status} ${line.length}`
    : `${parsed.reason} ${line.length}`;
}

const SHAPES_PER_UPDATE = 4096;

/**
 * The SHA-256 of the shapes of the lines read so far (each followed by a newline), taken at every
 * chunk end and stored with the ledger row; on resume, the digest at the committed line must equal
 * the stored one, or the input is another log. Shapes are fed to the hash in runs.
 */
export class PrefixHash {
  private readonly hash: Hash = createHash('sha256');
  private shapes: string[] = [];

  add(shape: string): void {
    this.shapes.push(shape);
    if (this.shapes.length >= SHAPES_PER_UPDATE) this.feed();
  }

  digest(): string {
    this.feed();
    return this.hash.copy().digest('hex');
  }

  /** Throws ImportMismatchError unless the lines so far are the committed ones (`expected` empty: nothing to check). */
  verify(expected: string): void {
    if (expected && this.digest() !== expected) throw new ImportMismatchError();
  }

  private feed(): void {
    if (this.shapes.length === 0) return;
    this.hash.update(`${this.shapes.join('\n')}\n`);
    this.shapes = [];
  }
}
