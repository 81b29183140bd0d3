import { LogImportUsageError, SpoolLockedError, UnknownPracticeError } from '@confidant/collector';
import { ApiError, ConfigError, DomainError, ErrorCode, practiceSchema } from '@confidant/shared';
import { CommanderError, InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { AlreadyReported, errorReport, ExitCode, exitCodeFor, InterruptedError, UsageError } from './exit-codes.ts';

const zodError = () => {
  const parsed = practiceSchema.safeParse({ id: 'x' });
  if (parsed.success) throw new Error('expected a validation error');
  return parsed.error;
};

describe('exitCodeFor', () => {
  it('maps the caller’s mistakes to 2', () => {
    for (const error of [
      new UsageError('bad value'),
      zodError(),
      new ConfigError('invalid configuration'),
      new LogImportUsageError('unknown --format xml'),
      new ApiError(400, ErrorCode.invalidParameter, 'month not over'),
      new CommanderError(1, 'commander.missingMandatoryOptionValue', 'required option'),
      new InvalidArgumentError('not a number'),
    ])
      expect(exitCodeFor(error), error.name).toBe(ExitCode.usage);
  });

  it('maps a practice, partner or key that does not exist to 3', () => {
    for (const error of [
      new DomainError('not-found', 'no partner p'),
      new UnknownPracticeError('no practice with id p'),
      new ApiError(404, ErrorCode.notFound, 'no practice p'),
    ])
      expect(exitCodeFor(error), error.name).toBe(ExitCode.notFound);
  });

  it('maps runtime failures and refusals by stored data to 1', () => {
    for (const error of [
      new Error('connect ECONNREFUSED 127.0.0.1:8123'),
      new ApiError(409, ErrorCode.conflict, 'fewer than 3 practices share data'),
      new SpoolLockedError('/tmp/spool', 123),
      'a thrown string',
    ])
      expect(exitCodeFor(error)).toBe(ExitCode.failure);
  });

  it('takes an already reported outcome’s code from its cause', () => {
    expect(exitCodeFor(new AlreadyReported('findings'))).toBe(ExitCode.failure);
    expect(exitCodeFor(new AlreadyReported('stopped', { cause: new InterruptedError() }))).toBe(ExitCode.interrupted);
    expect(exitCodeFor(new AlreadyReported('failed', { cause: new UnknownPracticeError('no practice') }))).toBe(
      ExitCode.notFound,
    );
    expect(exitCodeFor(new AlreadyReported('failed', { cause: new LogImportUsageError('bad') }))).toBe(ExitCode.usage);
  });

  it('treats help that was asked for as success', () => {
    expect(exitCodeFor(new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)'))).toBe(ExitCode.ok);
  });
});

describe('errorReport', () => {
  it('names each invalid field of a validation error, one per line', () => {
    expect(errorReport(zodError()).split('\n')).toEqual([
      expect.stringMatching(/^confidant: siteKey: /),
      expect.stringMatching(/^name: /),
      expect.stringMatching(/^domains: /),
      expect.stringMatching(/^timezone: /),
      '',
    ]);
  });

  it('says nothing more for what commander or the command has already reported', () => {
    expect(errorReport(new CommanderError(1, 'commander.unknownCommand', "error: unknown command 'x'"))).toBe('');
    expect(errorReport(new AlreadyReported('log import stopped'))).toBe('');
  });

  it('gives the message of any other error after the program name', () => {
    expect(errorReport(new DomainError('not-found', 'no key 0123456789abcdef'))).toBe(
      'confidant: no key 0123456789abcdef\n',
    );
    expect(errorReport('plain')).toBe('confidant: plain\n');
  });
});
