import type { Readable } from 'node:stream';
import {
  batchKey,
  envelopeTsWindow,
  eventJson,
  lineEventId,
  type EnvelopeWindowOptions,
  type EventEnvelope,
  type Practice,
} from '@confidant/shared';
import type { CountryLookup } from '../deid/country.ts';
import type { RareValueGate } from '../deid/rare-value-gate.ts';
import type { SaltSource } from '../deid/salt-store.ts';
import { InvalidRecordError } from '../kafka/event-producer.ts';
import { classifyHit } from './hit-rules.ts';
import { BatchAssembler, type EventBatchSink } from './import-batches.ts';
import { ChunkCommitter } from './import-committer.ts';
import { fileImportId, type ImportLedger, type ImportProgress } from './import-ledger.ts';
import { ChunkGapError, ImportMismatchError, lineShape, PrefixHash } from './import-resume.ts';
import { ImportStalledError, persist, type Persistence } from './import-retry.ts';
import { ImportTally, type ImportSummary } from './import-tally.ts';
import { readLines, type LineBatch } from './line-reader.ts';
import { LogHitPipeline } from './log-hit-pipeline.ts';
import { createLineParser, type LogFormat, type ParseResult } from './log-parser.ts';

export type { EventBatchSink } from './import-batches.ts';
export { ChunkGapError, ImportMismatchError, lineShape } from './import-resume.ts';
export type { ImportSkipReason, ImportSummary } from './import-tally.ts';

export type ImportDeps = {
  sink: EventBatchSink;
  salts: SaltSource;
  country: CountryLookup;
  ledger: ImportLedger;
  /** The process's rare-value gate, the beacons' too where the import runs in the collector. */
  rareValues: RareValueGate;
};

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
  /** Events not yet durable beyond which reading waits. */
  maxInFlightEvents?: number;
  /** How long to wait for Kafka, the spool or ClickHouse before giving up (default DEFAULT_GIVE_UP_MS). */
  giveUpMs?: number;
  onRetry?: Persistence['onRetry'];
  /** The producer's window for hit times (tests of fixed dates widen it; the producer must be given the same). */
  window?: EnvelopeWindowOptions;
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

const DEFAULT_CHUNK_LINES = 20_000;
const DEFAULT_MAX_IN_FLIGHT_EVENTS = 20_000;
/** Beyond this many leading blank lines an input is named as blank (and its lines are no longer held). */
const MAX_HELD_BLANK_LINES = 100_000;
export const DEFAULT_GIVE_UP_MS = 10 * 60_000;

/** Kafka, the spool or ClickHouse stayed unavailable past `giveUpMs`: `summary` says what was committed, and a re-run resumes after `linesCommitted`. */
export class ImportFailedError extends Error {
  override name = 'ImportFailedError';
  constructor(
    override readonly cause: unknown,
    readonly summary: ImportSummary,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

/** The producer's own check of one event (used only when a batch was refused, to find the bad event). */
function isValidEvent(event: EventEnvelope): boolean {
  try {
    eventJson(event);
    return true;
  } catch {
    return false;
  }
}

const DAY_MS = 86_400_000;
/**
 * The hit times an import takes: the producer's window (`envelopeTsWindow`) as it stands at the start,
 * a day narrower at the old end so that it still holds at produce time, however long the import runs.
 */
function importWindow(options: EnvelopeWindowOptions = {}): { min: number; max: number } {
  const { min, max } = envelopeTsWindow('produce', options);
  return { min: min + DAY_MS, max };
}

/**
 * Streams access-log lines through parse → hit rules → de-identification (daily salt of the hit's own
 * day) → the collector's event sink, in chunks whose last line the ledger records once the chunk is
 * durable, so an interrupted import resumes there. Each event's id is its import and line
 * (`lineEventId`): the processor's line ledger drops a line produced again by a resumed import, at any
 * later time. Raw lines and hits live only in memory, only until their line is de-identified.
 */
export async function importLogStream(
  input: Readable,
  options: ImportOptions,
  deps: ImportDeps,
): Promise<ImportSummary> {
  return new ImportSession(options, deps).run(input);
}

/** One import, start to end: its parts are the line reader, tally, resume check, batch assembler and committer. */
class ImportSession {
  private readonly tally: ImportTally;
  private readonly parse: (line: string) => ParseResult;
  private readonly persistence: Persistence;
  private readonly chunkLines: number;
  /** Content-derived imports hash every line's shape, so a resume can check it continues the same file. */
  private readonly prefix: PrefixHash | null;
  private readonly batches = new BatchAssembler();
  /** The Kafka key of each bucket, written once per import rather than once per event. */
  private readonly batchKeys: string[] = [];
  private readonly window: { min: number; max: number };
  private importId: string;
  private lineNo: number;
  private opened: { progress: ImportProgress; deid: LogHitPipeline; committer: ChunkCommitter } | null = null;
  /** Lengths of the blank lines read before the first line with content (which names the import). */
  private heldBlank: number[] = [];

  constructor(
    private readonly options: ImportOptions,
    private readonly deps: ImportDeps,
  ) {
    this.tally = new ImportTally(options.maxMalformedLines ?? 100);
    this.parse = createLineParser(options.format);
    this.chunkLines = options.chunkLines ?? DEFAULT_CHUNK_LINES;
    this.window = importWindow(options.window);
    this.prefix = options.importId ? null : new PrefixHash();
    this.importId = options.importId ?? '';
    this.lineNo = options.firstLineOffset ?? 0;
    this.persistence = {
      giveUpMs: options.giveUpMs ?? DEFAULT_GIVE_UP_MS,
      signal: options.signal,
      isPermanent: (error) => error instanceof InvalidRecordError,
      onRetry: options.onRetry,
    };
  }

  async run(input: Readable): Promise<ImportSummary> {
    const { summary } = this.tally;
    try {
      for await (const batch of readLines(input, { maxDecodedBytes: this.options.maxDecodedBytes })) {
        if (this.options.signal?.aborted) {
          summary.interrupted = true;
          break;
        }
        await this.read(batch);
        this.options.onProgress?.({ bytesRead: batch.bytesRead, linesRead: summary.linesRead });
        // Backpressure: while Kafka is slow, stop reading instead of holding more.
        await this.opened?.committer.room();
      }
      const { committer, progress } = this.opened ?? (await this.open(''));
      // A content-derived import that ends before the lines its name committed cannot be checked: another log.
      if (this.prefix && !summary.interrupted && this.lineNo < progress.lines) throw new ImportMismatchError();
      this.endChunk();
      await committer.settle();
      summary.linesCommitted = committer.committed;
    } catch (error) {
      // What was made durable before the failure stays committed, so the summary says where a re-run resumes.
      await this.opened?.committer.settle().catch(() => undefined);
      summary.linesCommitted = this.opened?.committer.committed ?? summary.linesCommitted;
      throw error instanceof ImportStalledError ? new ImportFailedError(error, summary) : error;
    } finally {
      this.opened?.deid.clear();
    }
    return summary;
  }

  /** Names the import (by its first line with content, unless the caller named it) and reads its progress. */
  private async openLedger(firstShape: string): Promise<NonNullable<ImportSession['opened']>> {
    const { practice } = this.options;
    this.importId ||= fileImportId(practice.id, firstShape);
    this.tally.summary.importId = this.importId;
    const progress = await persist(
      'the import ledger',
      () => this.deps.ledger.open(practice.id, this.importId),
      this.persistence,
    );
    this.tally.summary.linesCommitted = progress.lines;
    if (this.lineNo > progress.lines) throw new ChunkGapError(this.lineNo, progress.lines);
    const committer = new ChunkCommitter(this.deps.sink, this.deps.ledger, {
      practiceId: practice.id,
      importId: this.importId,
      committedLines: progress.lines,
      persistence: this.persistence,
      maxInFlightEvents: this.options.maxInFlightEvents ?? DEFAULT_MAX_IN_FLIGHT_EVENTS,
      isValid: isValidEvent,
      onInvalid: (event) => this.tally.unproduced(event.type === 'notfound' ? 'notfound' : 'pageview'),
    });
    this.opened = {
      progress,
      deid: new LogHitPipeline(
        practice,
        this.deps.salts,
        this.deps.country,
        progress.bucketSecret,
        this.deps.rareValues,
      ),
      committer,
    };
    return this.opened;
  }

  private async read(batch: LineBatch): Promise<void> {
    const { summary } = this.tally;
    const usable =
      batch.unterminated && this.options.holdUnterminatedLine ? batch.lines.length - 1 : batch.lines.length;
    if (usable < batch.lines.length) summary.lastLineHeld = true;
    const tooLong = new Set(batch.tooLong);
    if (!this.opened && usable > 0) {
      // The first line with content names the import (leading blank lines would name every such input alike),
      // however many reads it takes to arrive; the blank lines before it are held as their lengths.
      const first = batch.lines.findIndex((l, i) => i < usable && (l.trim() !== '' || tooLong.has(i)));
      if (first < 0 && this.heldBlank.length < MAX_HELD_BLANK_LINES) {
        for (let i = 0; i < usable; i++) this.heldBlank.push(batch.lines[i]!.length);
        return;
      }
      await this.open(
        first < 0 ? '' : lineShape(batch.lines[first]!, this.parseLine(batch.lines[first]!, tooLong.has(first))),
      );
    }
    for (let i = 0; i < usable; i++) await this.line(batch.lines[i]!, tooLong.has(i));
  }

  /** Opens the import and reads the blank lines held before its first line with content. */
  private async open(firstShape: string): Promise<NonNullable<ImportSession['opened']>> {
    const opened = await this.openLedger(firstShape);
    const held = this.heldBlank;
    this.heldBlank = [];
    for (const length of held) await this.line(' '.repeat(length), false);
    return opened;
  }

  private async line(line: string, tooLong: boolean): Promise<void> {
    const { summary } = this.tally;
    this.lineNo++;
    summary.linesRead++;
    const committed = this.opened!.progress.lines;
    if (this.lineNo <= committed) {
      summary.alreadyImported++;
      // Only a content-derived import (which checks shapes against the ledger) needs to parse committed lines.
      if (this.prefix) {
        this.prefix.add(lineShape(line, this.parseLine(line, tooLong)));
        if (this.lineNo === committed) this.prefix.verify(this.opened!.progress.prefixHash);
      }
      return;
    }
    const parsed = this.parseLine(line, tooLong);
    this.prefix?.add(lineShape(line, parsed));
    await this.handle(parsed, tooLong);
    if (this.lineNo % this.chunkLines === 0) {
      this.endChunk();
      await this.opened!.committer.room();
    }
  }

  /** A line with content parsed; null for a blank or over-long one. */
  private parseLine(line: string, tooLong: boolean): ParseResult | null {
    return tooLong || line.trim() === '' ? null : this.parse(line);
  }

  /** One line not yet committed: counted, and when it is a page view, de-identified and batched. */
  private async handle(parsed: ParseResult | null, tooLong: boolean): Promise<void> {
    const { tally } = this;
    if (tooLong) return tally.malformed(this.lineNo, 'too-long');
    if (!parsed) return tally.skip('blank');
    if (!parsed.ok) return tally.malformed(this.lineNo, parsed.reason);
    const verdict = classifyHit(parsed.hit);
    if (verdict.kind === 'skip') return tally.skip(verdict.reason);
    const { deid, committer } = this.opened!;
    const { hit } = parsed;
    if (hit.time < this.window.min || hit.time > this.window.max) return tally.skip('outside-window');
    if (deid.needsSalt(hit.time)) await persist('a daily salt', () => deid.prepare(hit.time), this.persistence);
    const r = deid.deidentify(hit, verdict.type, lineEventId(this.importId, this.lineNo));
    if (r.kind === 'skip') return tally.skip(r.reason);
    tally.produced(r.event.type === 'notfound' ? 'notfound' : 'pageview');
    const key = (this.batchKeys[r.bucket] ??= batchKey(this.options.practice.id, r.bucket));
    const full = this.batches.add(key, r.event);
    if (full) {
      committer.submit(key, full);
      // A single read can hold a whole request body: wait here, not only between reads.
      await committer.room();
    }
  }

  /** Sends the chunk's partial batches and closes the chunk at the current line. */
  private endChunk(): void {
    const { committer } = this.opened!;
    for (const [key, events] of this.batches.drain()) committer.submit(key, events);
    committer.endChunk(this.lineNo, this.prefix?.digest() ?? '');
  }
}
