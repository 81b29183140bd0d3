import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  connectClickHouse,
  connectControlDb,
  connectKafka,
  createLogger,
  PracticeStore,
  topicsFor,
  type Logger,
} from '@confidant/shared';
import { Presets, SingleBar } from 'cli-progress';
import type { CollectorConfig } from '../collector.config.ts';
import { createCountryLookup } from '../deid/country.ts';
import { RareValueGate } from '../deid/rare-value-gate.ts';
import { ClickHouseSaltStore } from '../deid/salt-store.ts';
import { DiskSpool } from '../kafka/disk-spool.ts';
import { EventProducer, KafkaTransport, LOG_EVENT_BATCHES } from '../kafka/event-producer.ts';
import { createMetrics } from '../metrics.ts';
import { ClickHouseImportLedger, CLIENT_IMPORT_ID_RE, shipperImportId } from './import-ledger.ts';
import { ImportFailedError, importLogStream, type ImportSummary } from './log-import.ts';
import { parseFormatSpec } from './log-parser.ts';

export type LogImportRun = {
  /** A path, or '-' for standard input. */
  file: string;
  practiceId: string;
  /** combined | common | json | auto (default) | nginx:<log_format> */
  format?: string;
  /** Names the import (as a shipper's `X-Import-Id`): a re-run under the same name resumes it, with no content check. */
  importId?: string;
  config: CollectorConfig;
  /** Show the progress bar (default: when stderr is a terminal). */
  progress?: boolean;
  /** Where the bar goes (default stderr) and where the summary goes (default stdout). */
  progressStream?: NodeJS.WriteStream;
  output?: NodeJS.WritableStream;
  stdin?: Readable;
  logger?: Logger;
  /** Ctrl-C: stop reading, produce and commit what was read, return the summary (`interrupted`). */
  signal?: AbortSignal;
  /** How long to wait for Kafka, a full spool or ClickHouse (default LOG_IMPORT_GIVE_UP_MS). */
  giveUpMs?: number;
};

/**
 * Kafka could not be reached: the import's events are durable in the CLI's spool and its lines are
 * committed, but they reach the processor only when a later import (of any file) finds Kafka up.
 */
export class EventsSpooledError extends Error {
  override name = 'EventsSpooledError';
  constructor(readonly spoolDir: string) {
    super(
      `Kafka is unreachable: the events of the committed lines wait in ${spoolDir} and are sent by the next \`confidant logs import\` that reaches Kafka (no line is imported twice)`,
    );
  }
}

/** Rejected input that is the caller's mistake (unknown practice, bad format), not a failure of the import. */
export class LogImportUsageError extends Error {
  override name = 'LogImportUsageError';
}

/** The practice to import for does not exist. */
export class UnknownPracticeError extends LogImportUsageError {
  override name = 'UnknownPracticeError';
}

/**
 * What `confidant logs import <file|-> --practice ID` runs: imports an access log through the edge
 * de-identification into Kafka, with a progress bar (bytes, lines/s, ETA) and a summary.
 * Re-running it on the same file resumes after the lines already produced.
 * Throws on real failures (engines unreachable, events not durable); malformed lines are reported, not fatal.
 */
export async function runLogImport(run: LogImportRun): Promise<ImportSummary> {
  const format = parseFormatSpec(run.format);
  if (!format)
    throw new LogImportUsageError(
      `unknown --format ${run.format}; use combined, common, json, auto or nginx:<log_format>`,
    );
  if (run.importId !== undefined && !CLIENT_IMPORT_ID_RE.test(run.importId))
    throw new LogImportUsageError('--import-id: 1-128 of A-Z a-z 0-9 . _ : -');
  const { config } = run;
  // stdout carries the summary (often redirected to a file); diagnostics go to stderr with the bar.
  const logger = run.logger ?? createLogger('log-import', config.logLevel, process.stderr);
  const db = connectClickHouse(config.clickhouse);
  const control = connectControlDb(config.controlPlane);
  const spoolDir = join(dirname(config.spool.dir), 'collector-log-import');
  const spool = new DiskSpool(spoolDir, config.spool.maxBytes);
  const producer = new EventProducer(
    new KafkaTransport(connectKafka(config.kafka, logger), topicsFor(config.kafka.topicPrefix).eventBatches.name),
    spool,
    { ...config.producer, timeoutMs: config.logImport.produceTimeoutMs, replayMs: config.spool.replayMs },
    createMetrics(),
    logger,
    LOG_EVENT_BATCHES,
  );
  const errStream = run.progressStream ?? process.stderr;
  const bar = new SingleBar(
    {
      format: ' {bar} {percentage}% | {done}/{size} | {lines} lines | {rate} lines/s | ETA {eta_formatted}',
      stream: errStream,
      hideCursor: true,
      etaBuffer: 50,
      fps: 5,
    },
    Presets.shades_classic,
  );
  const saltDb = connectClickHouse(config.salts);
  const salts = new ClickHouseSaltStore(saltDb);
  let started = false;
  let producerOpen = false;
  try {
    const practice = await new PracticeStore(control).get(run.practiceId);
    if (!practice) throw new UnknownPracticeError(`no practice with id ${run.practiceId}`);
    const size = run.file === '-' ? 0 : (await stat(run.file)).size;
    const stream =
      run.file === '-' ? (run.stdin ?? process.stdin) : createReadStream(run.file, { highWaterMark: 1 << 20 });
    await producer.start();
    producerOpen = true;

    const showBar = run.progress ?? Boolean(errStream.isTTY);
    const lastWarned = new Map<string, number>();
    const startedAt = Date.now();
    if (showBar) {
      bar.start(size || 1, 0, { done: mib(0), size: size ? mib(size) : '?', lines: 0, rate: 0 });
      started = true;
    }
    const summary = await importLogStream(
      stream,
      {
        practice,
        format,
        importId: run.importId ? shipperImportId(practice.id, run.importId) : undefined,
        holdUnterminatedLine: run.file !== '-',
        signal: run.signal,
        giveUpMs: run.giveUpMs ?? config.logImport.giveUpMs,
        onRetry: (what, attempt, error) => {
          // Many batches wait at once: one line per thing waited for every 10 s keeps a long outage visible without a flood.
          const now = Date.now();
          if (now - (lastWarned.get(what) ?? 0) < RETRY_WARN_EVERY_MS) return;
          lastWarned.set(what, now);
          logger.warn({ err: error, attempt }, `waiting for ${what}; retrying`);
        },
        onProgress: ({ bytesRead, linesRead }) => {
          logger.debug({ bytesRead, linesRead }, 'import progress');
          if (!started) return;
          const rate = Math.round(linesRead / Math.max(0.001, (Date.now() - startedAt) / 1000));
          bar.update(size ? Math.min(bytesRead, size) : 0, { done: mib(bytesRead), lines: linesRead, rate });
        },
      },
      {
        sink: producer,
        salts,
        country: createCountryLookup(),
        ledger: new ClickHouseImportLedger(db),
        // This process's own gate: a value must reach k within this import (see rare-value-gate.ts).
        rareValues: new RareValueGate(config.rareValues.minVisitors, config.rareValues.gateEntries),
      },
    ).catch((error: unknown) => {
      // What was committed before the import stopped is summarised too: the re-run resumes after it.
      if (error instanceof ImportFailedError) {
        if (started) bar.stop();
        started = false;
        (run.output ?? process.stdout).write(formatSummary(error.summary, Date.now() - startedAt));
      }
      throw error;
    });
    if (started) {
      bar.update(size || 1);
      bar.stop();
      started = false;
    }
    (run.output ?? process.stdout).write(formatSummary(summary, Date.now() - startedAt));
    producerOpen = false;
    await producer.close();
    if (!spool.isEmpty()) throw new EventsSpooledError(spoolDir);
    return summary;
  } finally {
    if (started) bar.stop();
    if (producerOpen)
      await producer.close().catch((error: unknown) => logger.warn({ err: error }, 'producer close failed'));
    // Days long past get salts that are never stored; a day that expired during the import must not outlive it.
    await salts.purgeExpired().catch((error: unknown) => logger.error({ err: error }, 'could not drop expired salts'));
    await Promise.all([db.close(), saltDb.close(), control.close()]);
  }
}

const RETRY_WARN_EVERY_MS = 10_000;

const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`;

export function formatSummary(s: ImportSummary, elapsedMs: number): string {
  const list = (o: Record<string, number | undefined>) =>
    Object.entries(o)
      .filter(([, n]) => n)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ') || 'none';
  const rate = Math.round(s.linesRead / Math.max(0.001, elapsedMs / 1000));
  return [
    `import ${s.importId.slice(0, 16)}: ${s.linesRead} lines read in ${(elapsedMs / 1000).toFixed(1)} s (${rate} lines/s)`,
    `  page views produced: ${s.pageviews}, not-found pages: ${s.notFound}`,
    `  already imported earlier: ${s.alreadyImported}`,
    `  skipped: ${list(s.skipped)}`,
    `  malformed: ${s.malformed.count}${s.malformed.count ? ` (${list(s.malformed.byReason)}; lines ${s.malformed.lines.join(', ')}${s.malformed.count > s.malformed.lines.length ? ', …' : ''})` : ''}`,
    `  lines committed: ${s.linesCommitted}`,
    ...(s.lastLineHeld ? ['  last line has no newline yet: left for the next import of this log'] : []),
    ...(s.interrupted ? [`  interrupted: run the same command again to resume after line ${s.linesCommitted}`] : []),
    '',
  ].join('\n');
}
