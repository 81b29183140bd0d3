// How every `confidant` command ends: one mapping from what went wrong to the exit code.
import { LogImportUsageError, UnknownPracticeError } from '@confidant/collector';
import { ApiError, ConfigError, DomainError } from '@confidant/shared';
import { CommanderError } from 'commander';
import { ZodError } from 'zod';

export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  notFound: 3,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** What each code means, for `confidant --help` (docs/reporter.md repeats it). */
export const EXIT_CODE_MEANINGS: Record<ExitCode, string> = {
  [ExitCode.ok]: 'done',
  [ExitCode.failure]:
    'failure: an engine unreachable, an import stopped, refused by stored data (exists, budget spent), audit findings',
  [ExitCode.usage]: 'usage: a wrong command, option, value or setting (environment variable)',
  [ExitCode.notFound]: 'not found: the practice, partner or key named does not exist',
  [ExitCode.interrupted]: 'interrupted (Ctrl-C) with the work so far saved: the same command resumes it',
};

/** The command line or an input value is wrong. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Stopped on request after saving its work. */
export class InterruptedError extends Error {
  override name = 'InterruptedError';
}

/**
 * The command has already said what happened, in its own words (an import's verdict, the audit's
 * findings): nothing more is written, and the exit code is that of `cause` (a failure without one).
 */
export class AlreadyReported extends Error {
  override name = 'AlreadyReported';
}

export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof AlreadyReported) return error.cause === undefined ? ExitCode.failure : exitCodeFor(error.cause);
  // Commander has printed its message (or the help, which is a success when asked for).
  if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  if (error instanceof UnknownPracticeError) return ExitCode.notFound;
  // A practice, partner or key named on the command line does not exist (not-found); a value no rule accepts.
  if (error instanceof DomainError)
    return error.kind === 'not-found'
      ? ExitCode.notFound
      : error.kind === 'invalid-input'
        ? ExitCode.usage
        : ExitCode.failure;
  if (error instanceof ApiError)
    return error.statusCode === 404 ? ExitCode.notFound : error.statusCode === 400 ? ExitCode.usage : ExitCode.failure;
  if (
    error instanceof UsageError ||
    error instanceof ZodError ||
    error instanceof ConfigError ||
    error instanceof LogImportUsageError
  )
    return ExitCode.usage;
  if (error instanceof InterruptedError) return ExitCode.interrupted;
  return ExitCode.failure;
}

/** The line(s) to write on stderr for an error; empty when commander or the command has said it already. */
export function errorReport(error: unknown): string {
  if (error instanceof AlreadyReported || error instanceof CommanderError) return '';
  const message =
    error instanceof ZodError
      ? error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('\n')
      : error instanceof Error
        ? error.message
        : String(error);
  return `confidant: ${message}\n`;
}
