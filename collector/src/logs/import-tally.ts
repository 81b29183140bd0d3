import type { SkipReason } from './hit-rules.ts';
import type { LogDeidSkip } from './log-hit-pipeline.ts';
import type { MalformedReason } from './log-parser.ts';

/**
 * `outside-window`: the hit's time lies outside what the pipeline accepts (older than the rollups keep,
 * or ahead of the clock); `invalid-event`: the line parsed, but its envelope failed the shared contract's check.
 */
export type ImportSkipReason = SkipReason | LogDeidSkip | 'blank' | 'outside-window' | 'invalid-event';

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

/** The import's summary, counted line by line. */
export class ImportTally {
  readonly summary: ImportSummary = {
    importId: '',
    linesRead: 0,
    alreadyImported: 0,
    pageviews: 0,
    notFound: 0,
    skipped: {},
    malformed: { count: 0, byReason: {}, lines: [] },
    linesCommitted: 0,
  };

  constructor(private readonly maxListed: number) {}

  skip(reason: ImportSkipReason): void {
    this.summary.skipped[reason] = (this.summary.skipped[reason] ?? 0) + 1;
  }

  malformed(lineNo: number, reason: MalformedReason | 'too-long'): void {
    const m = this.summary.malformed;
    m.count++;
    m.byReason[reason] = (m.byReason[reason] ?? 0) + 1;
    if (m.lines.length < this.maxListed) m.lines.push(lineNo);
  }

  produced(type: 'pageview' | 'notfound'): void {
    if (type === 'notfound') this.summary.notFound++;
    else this.summary.pageviews++;
  }

  /** An event counted as produced turned out invalid: it is skipped instead. */
  unproduced(type: 'pageview' | 'notfound'): void {
    if (type === 'notfound') this.summary.notFound--;
    else this.summary.pageviews--;
    this.skip('invalid-event');
  }
}
