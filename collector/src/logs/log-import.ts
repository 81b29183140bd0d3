import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { batchKey, EVENT_BATCH_MAX_EVENTS, type EventEnvelope, type Practice } from '@confidant/shared';
import type { CountryLookup } from '../deid/country.ts';
import type { SaltSource } from '../deid/salt-store.ts';
import { classifyHit, type SkipReason } from './hit-rules.ts';
import { fileImportId, lineEventId, type ImportLedger } from './import-ledger.ts';
import { readLines } from './line-reader.ts';
import { LogDeidentifier, type LogDeidSkip } from './log-deid.ts';
import { createLineParser, type Hit, type LogFormat, type MalformedReason, type ParseResult } from './log-parser.ts';

export type ImportSkipReason = SkipReason | LogDeidSkip | 'blank';

export type ImportSummary = {
  importId: string;
  /** Lines in the input (including blank and already-committed ones). */
  linesRead: number;
  /** Lines skipped because an earlier import of the same input already produced them. */
  alreadyImported: number;
  /** Page views produced (404s counted separately under notFound). */
  pageviews: number;
  notFound: number;
  skipped: Partial<Record<ImportSkipReason, number>>;
  malformed: { count: number; byReason: Partial<Record<MalformedReason | 'too-long', number>>; lines: number[] };
  /** Ledger position after this import: lines durably produced. */
  linesCommitted: number;
  /** The input ended inside a line that a later import will read whole (`holdUnterminatedLine`). */
  lastLineHeld?: boolean;
  /** Stopped by `signal` before the input ended; a re-run resumes after `linesCommitted`. */
  interrupted?: boolean;
};

/** Where batches of de-identified log events go (`event-batches` topic); `submit` resolves once the batch is durable. */
export interface EventBatchSink {
  submit(key: string, events: readonly EventEnvelope[]): Promise<void>;
}

export type ImportDeps = { sink: EventBatchSink; salts: SaltSource; country: CountryLookup; ledger: ImportLedger };

export type ImportOptions = {
  practice: Practice;
  /**
   * A shipper's import (see `shipperImportId`). Without it the input itself identifies the
   * import: its first line, verified on resume against a hash of the lines committed before.
   */
  importId?: string;
  format: LogFormat;
  /** Lines of this import that precede `input` (a shipper's `X-Chunk-Start`). */
  firstLineOffset?: number;
  /** How many malformed line numbers the summary lists. */
  maxMalformedLines?: number;
  maxDecodedBytes?: number;
  /** Lines per ledger commit. */
  chunkLines?: number;
  onProgress?: (progress: { bytesRead: number; linesRead: number }) => void;
  /**
   * Leave a last line without a newline for the next import: a log being written ends mid-line, and
   * committing that fragment would make the completed log look like a different file. Set for files;
   * a body or a pipe that ended is complete.
   */
  holdUnterminatedLine?: boolean;
  /**
   * Interrupts the import (Ctrl-C): no further input is read, and the lines read so far are produced
   * and committed before it returns, so a re-run at any later time resumes exactly after them.
   */
  signal?: AbortSignal;
};

/** Thrown when a shipper's chunk starts after the committed position (a gap would be skipped on resume). */
export class ChunkGapError extends Error {
  override name = 'ChunkGapError';
  constructor(
    readonly chunkStart: number,
    readonly committed: number,
  ) {
    super(`chunk starts after line ${chunkStart} but only ${committed} lines of this import are committed`);
  }
}

/** The input's first line matches an earlier import but its committed lines differ: a different file. */
export class ImportMismatchError extends Error {
  override name = 'ImportMismatchError';
  constructor() {
    super('this input starts like an earlier import but differs from it within the lines that import committed; if it is another log, name its import yourself (`--import-id NAME` on the CLI, `X-Import-Id` on POST /v1/logs)');
  }
}

const DEFAULT_CHUNK_LINES = 100_000;
const MAX_CHUNKS_IN_FLIGHT = 3;

type Pending = { hits: Array<{ hit: Hit; lineNo: number; type: 'pageview' | 'notfound' }>; lastLine: number; prefixHash: string };

/**
 * What a content-derived import remembers of a line: its time, method and status when it parses, or
 * why not, and its length. Never its address, user agent or target: the import id and the ledger's
 * prefix hash are built from shapes, so nothing stored is a hash of what a visitor sent (a hash of a
 * raw line could be matched by trying the addresses of one network).
 */
export function lineShape(line: string, parsed: ParseResult | null): string {
  if (!parsed) return `${line.trim() === '' ? 'blank' : 'other'} ${line.length}`;
  return parsed.ok ? `${parsed.hit.time} ${parsed.hit.method} ${parsed.hit.status} ${line.length}` : `${parsed.reason} ${line.length}`;
}

/**
 * Streams access-log lines through parse → hit rules → de-identification (daily salt of
 * the hit's own day) → the collector's event sink. Lines are handled in chunks; when all of
 * a chunk's events are durable the ledger records the chunk's last line, in order, so an
 * interrupted import resumes there. Each event id is derived from the import id and line
 * number, so lines produced again after a crash mid-chunk are dropped by the processor.
 * Raw lines and hits live only in memory, only until their chunk is de-identified.
 */
export async function importLogStream(input: Readable, options: ImportOptions, deps: ImportDeps): Promise<ImportSummary> {
  const { practice } = options;
  const offset = options.firstLineOffset ?? 0;
  const chunkLines = options.chunkLines ?? DEFAULT_CHUNK_LINES;
  const maxListed = options.maxMalformedLines ?? 100;
  // Content-derived imports hash every line's shape, so a resume can check it continues the same file.
  const prefix: Hash | null = options.importId ? null : createHash('sha256');
  let importId = options.importId ?? '';
  let committed = 0;
  let committedPrefix = '';

  const parse = createLineParser(options.format);
  const deid = new LogDeidentifier(practice, deps.salts, deps.country);
  const summary: ImportSummary = {
    importId,
    linesRead: 0,
    alreadyImported: 0,
    pageviews: 0,
    notFound: 0,
    skipped: {},
    malformed: { count: 0, byReason: {}, lines: [] },
    linesCommitted: 0,
  };
  const open = async (firstShape: string): Promise<void> => {
    importId ||= fileImportId(practice.id, firstShape);
    summary.importId = importId;
    ({ lines: committed, prefixHash: committedPrefix } = await deps.ledger.committed(practice.id, importId));
    summary.linesCommitted = committed;
    if (offset > committed) throw new ChunkGapError(offset, committed);
  };
  const skip = (reason: ImportSkipReason) => {
    summary.skipped[reason] = (summary.skipped[reason] ?? 0) + 1;
  };
  const malformed = (lineNo: number, reason: MalformedReason | 'too-long') => {
    const m = summary.malformed;
    m.count++;
    m.byReason[reason] = (m.byReason[reason] ?? 0) + 1;
    if (m.lines.length < maxListed) m.lines.push(lineNo);
  };

  let lineNo = offset;
  let pending: Pending = { hits: [], lastLine: offset, prefixHash: '' };
  const inFlight: Array<Promise<void>> = [];
  let ledgerChain: Promise<void> = Promise.resolve();

  // A chunk's events are grouped by batch key (a visitor's events share one, in line order).
  const submitChunk = async (chunk: Pending): Promise<void> => {
    await deid.prepare(chunk.hits.map((h) => h.hit.time));
    const batches = new Map<string, EventEnvelope[]>();
    const acks: Array<Promise<void>> = [];
    for (const { hit, lineNo: n, type } of chunk.hits) {
      const r = deid.deidentify(hit, type, lineEventId(importId, n));
      if (r.kind === 'skip') {
        skip(r.reason);
        continue;
      }
      if (r.event.type === 'notfound') summary.notFound++;
      else summary.pageviews++;
      const key = batchKey(practice.id, r.event.visitor);
      let events = batches.get(key);
      if (!events) batches.set(key, (events = []));
      events.push(r.event);
      if (events.length === EVENT_BATCH_MAX_EVENTS) {
        acks.push(deps.sink.submit(key, events));
        batches.delete(key);
      }
    }
    chunk.hits.length = 0;
    for (const [key, events] of batches) acks.push(deps.sink.submit(key, events));
    await Promise.all(acks);
  };

  const flush = async (): Promise<void> => {
    const chunk = pending;
    chunk.prefixHash = prefix ? prefix.copy().digest('hex') : '';
    pending = { hits: [], lastLine: lineNo, prefixHash: '' };
    if (chunk.lastLine <= summary.linesCommitted && chunk.hits.length === 0) return;
    const durable = submitChunk(chunk);
    // Failures surface through `recorded`; these handlers only keep Node from treating an early rejection as unhandled.
    durable.catch(() => undefined);
    // Ledger rows are written strictly in chunk order and only after the chunk is durable.
    const recorded = (ledgerChain = ledgerChain.then(async () => {
      await durable;
      if (chunk.lastLine > summary.linesCommitted) {
        await deps.ledger.commit(practice.id, importId, chunk.lastLine, chunk.prefixHash);
        summary.linesCommitted = chunk.lastLine;
      }
    }));
    recorded.catch(() => undefined);
    inFlight.push(recorded);
    if (inFlight.length >= MAX_CHUNKS_IN_FLIGHT) await inFlight.shift();
  };

  /** A line with content parsed; null for a blank or over-long one. Handling and shapes both read this. */
  const parseLine = (line: string, tooLong: boolean): ParseResult | null => (tooLong || line.trim() === '' ? null : parse(line));

  /** Handles a line not yet committed. */
  const handleLine = (tooLong: boolean, parsed: ParseResult | null): void => {
    pending.lastLine = lineNo;
    if (tooLong) return malformed(lineNo, 'too-long');
    if (!parsed) return skip('blank');
    if (!parsed.ok) return malformed(lineNo, parsed.reason);
    const verdict = classifyHit(parsed.hit);
    if (verdict.kind === 'skip') return skip(verdict.reason);
    pending.hits.push({ hit: parsed.hit, lineNo, type: verdict.type });
  };

  try {
    let opened = false;
    for await (const batch of readLines(input, { maxDecodedBytes: options.maxDecodedBytes })) {
      if (options.signal?.aborted) {
        summary.interrupted = true;
        break;
      }
      const usable = batch.unterminated && options.holdUnterminatedLine ? batch.lines.length - 1 : batch.lines.length;
      if (usable < batch.lines.length) summary.lastLineHeld = true;
      if (!opened && usable > 0) {
        // The first line with content names the import (a leading blank line would name every such file alike).
        const first = batch.lines.findIndex((l, i) => i < usable && (l.trim() !== '' || batch.tooLong.includes(i)));
        await open(first < 0 ? '' : lineShape(batch.lines[first]!, parseLine(batch.lines[first]!, batch.tooLong.includes(first))));
        opened = true;
      }
      let tooLongAt = 0;
      // Shapes go into the prefix hash in runs (one update per run, not per line), brought up to date where a digest is taken.
      const shapes = prefix ? new Array<string>(batch.lines.length) : null;
      let hashed = 0;
      const hashThrough = (end: number) => {
        if (prefix && shapes && end > hashed) prefix.update(`${shapes.slice(hashed, end).join('\n')}\n`);
        hashed = Math.max(hashed, end);
      };
      for (let i = 0; i < usable; i++) {
        lineNo++;
        summary.linesRead++;
        const tooLong = batch.tooLong[tooLongAt] === i;
        if (tooLong) tooLongAt++;
        if (lineNo <= committed) {
          summary.alreadyImported++;
          // Only a content-derived import (which checks shapes against the ledger) needs to parse committed lines.
          if (shapes) shapes[i] = lineShape(batch.lines[i]!, parseLine(batch.lines[i]!, tooLong));
          if (lineNo === committed && prefix && committedPrefix) {
            hashThrough(i + 1);
            if (prefix.copy().digest('hex') !== committedPrefix) throw new ImportMismatchError();
          }
          continue;
        }
        const parsed = parseLine(batch.lines[i]!, tooLong);
        handleLine(tooLong, parsed);
        if (shapes) shapes[i] = lineShape(batch.lines[i]!, parsed);
        if (lineNo % chunkLines === 0) {
          hashThrough(i + 1);
          await flush();
        }
      }
      hashThrough(usable);
      options.onProgress?.({ bytesRead: batch.bytesRead, linesRead: summary.linesRead });
    }
    if (!opened) await open('');
    await flush();
    await Promise.all(inFlight);
  } catch (error) {
    // Let chunks already handed to the sink settle so the ledger reflects what is durable.
    await Promise.allSettled(inFlight);
    throw error;
  } finally {
    deid.clear();
  }
  return summary;
}
