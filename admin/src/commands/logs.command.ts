import {
  createIngestKey,
  EventsSpooledError,
  ImportFailedError,
  runLogImport,
  SpoolLockedError,
  type ImportSummary,
} from '@confidant/collector';
import { DomainError, PracticeStore } from '@confidant/shared';
import type { Command } from 'commander';
import type { CommandContext } from '../command-context.ts';
import { AlreadyReported, InterruptedError, UsageError } from '../exit-codes.ts';

type ImportOptions = { practice: string; format: string; progress: boolean; importId?: string; giveUpAfter?: number };

const wholeSeconds = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError('--give-up-after: whole seconds, at least 1');
  return n;
};

/** `confidant logs import|key create`: web-server access logs through the collector's de-identification. */
export function addLogsCommands(program: Command, ctx: CommandContext): void {
  const logs = program.command('logs').description('web-server access logs: import them, or create ingest keys');
  logs
    .command('import')
    .description('import an access log through the de-identification; re-running it resumes after what it committed')
    .argument('<file>', "access log (plain or gzip), or '-' for standard input")
    .requiredOption('--practice <id>', 'practice id')
    .option('--format <format>', 'combined | common | json | auto | nginx:<log_format>', 'auto')
    .option(
      '--import-id <name>',
      'name this import (a re-run under the same name resumes it); by default the log names it',
    )
    .option(
      '--give-up-after <seconds>',
      'stop when Kafka, the spool or ClickHouse stay unavailable this long (default LOG_IMPORT_GIVE_UP_MS)',
      wholeSeconds,
    )
    .option('--no-progress', 'no progress bar')
    .action((file: string, o: ImportOptions) => importLog(ctx, file, o));

  logs
    .command('key')
    .description('ingest keys for POST /v1/logs')
    .command('create')
    .description('create an ingest key for a practice (printed once)')
    .requiredOption('--practice <id>', 'the practice whose logs the key may send')
    .action((o: { practice: string }) =>
      ctx.withDb(async (db, control) => {
        if (!(await new PracticeStore(control).get(o.practice)))
          throw new DomainError('not-found', `no practice ${o.practice}`);
        ctx.io.stderr.write('ingest key (shown once; send as "Authorization: Bearer <key>" to POST /v1/logs):\n');
        ctx.print(await createIngestKey(control, o.practice));
      }),
    );
}

async function importLog(ctx: CommandContext, file: string, o: ImportOptions): Promise<void> {
  // The first Ctrl-C stops reading and commits what was read; a second one does not wait for that (one
  // keypress can arrive twice within milliseconds, from the terminal and relayed by npm or tsx).
  const abort = new AbortController();
  let abortedAt = 0;
  const interrupt = () => {
    if (!abort.signal.aborted) {
      abortedAt = Date.now();
      abort.abort();
    } else if (Date.now() - abortedAt > 1000) process.exit(130);
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  let summary: ImportSummary;
  try {
    summary = await runLogImport({
      file,
      practiceId: o.practice,
      format: o.format,
      importId: o.importId,
      config: ctx.config.logImport,
      progress: o.progress ? undefined : false,
      output: ctx.io.stdout,
      signal: abort.signal,
      giveUpMs: o.giveUpAfter === undefined ? undefined : o.giveUpAfter * 1000,
    });
  } catch (error) {
    ctx.io.stderr.write(importVerdict(error));
    throw new AlreadyReported('log import did not complete', { cause: error });
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
  // The summary on stdout says where it stopped and how to resume.
  if (summary.interrupted) throw new AlreadyReported('log import interrupted', { cause: new InterruptedError() });
}

/** What `confidant logs import` says on stderr when it did not complete. */
function importVerdict(error: unknown): string {
  if (error instanceof SpoolLockedError)
    return `log import not started: another \`confidant logs import\` (process ${error.pid}) is running with the same spool (${error.dir}); run this one when it has finished\n`;
  if (error instanceof ImportFailedError)
    return `log import stopped: ${error.message}\n  ${error.summary.linesCommitted} lines are committed; run the same command again to resume after them (no line counts twice)\n`;
  const verdict = error instanceof EventsSpooledError ? 'log import not yet delivered' : 'log import failed';
  return `${verdict}: ${error instanceof Error ? error.message : String(error)}\n`;
}
