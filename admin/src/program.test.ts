import { Writable } from 'node:stream';
import type { ControlDb, ControlQueries, Db } from '@confidant/shared';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { loadAdminConfig } from './admin.config.ts';
import { createCommandContext } from './command-context.ts';
import { duration } from './commands/salts.command.ts';
import { ExitCode, UsageError } from './exit-codes.ts';
import { createProgram, runConfidant } from './program.ts';

/** Every command `confidant` had before it moved to its own workspace, plus `retention` and `salts expire`. */
const COMMANDS = [
  'practice add',
  'practice list',
  'practice update',
  'goals list',
  'goals add',
  'goals update',
  'goals remove',
  'partner add',
  'partner list',
  'key create',
  'key revoke',
  'key list',
  'report',
  'export',
  'logs import',
  'logs key create',
  'audit',
  'retention',
  'salts expire',
  'user create',
  'user invite',
  'user list',
  'audit-log',
];

/** A control plane with no rows that records the statements (with their values) it is sent. */
function emptyControl(statements: string[]): ControlDb {
  const query = async <R extends object>(text: string, values: readonly unknown[] = []): Promise<R[]> => {
    statements.push(`${text} ${JSON.stringify(values)}`);
    return [];
  };
  return {
    query,
    transaction: (fn: (tx: ControlQueries) => Promise<unknown>) => fn({ query }),
  } as unknown as ControlDb;
}

/** A database with no rows that records the statements it is sent (no engine needed). */
function emptyDb(statements: string[]): Db {
  return {
    database: 'unit',
    url: 'http://unit.invalid',
    client: undefined as never,
    command: async (query) => void statements.push(query),
    rows: async (query) => {
      statements.push(query);
      return [];
    },
    insert: async (table) => void statements.push(`INSERT INTO ${table}`),
    close: async () => undefined,
  };
}

async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string; sql: string[] }> {
  let stdout = '';
  let stderr = '';
  const sink = (write: (s: string) => void) =>
    new Writable({
      write(chunk, _encoding, done) {
        write(String(chunk));
        done();
      },
    });
  const sql: string[] = [];
  const code = await runConfidant(argv, {
    env: {},
    io: { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)) },
    context: (config, io) => ({
      ...createCommandContext(config, io),
      withDb: (fn) => fn(emptyDb(sql), emptyControl(sql)),
    }),
  });
  return { code, stdout, stderr, sql };
}

describe('confidant --help', () => {
  it('lists every command and the exit codes', async () => {
    const { code, stdout } = await run('--help');
    expect(code).toBe(ExitCode.ok);
    const listed = stdout.split('All commands')[1] ?? '';
    for (const command of COMMANDS) expect(listed).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    expect(stdout).toMatch(/^Exit codes:\n {2}0 .+\n {2}1 .+\n {2}2 .+\n {2}3 .+\n {2}130 .+$/m);
  });

  it('has help for every subcommand, and nothing in the tree is missing from the list', async () => {
    const program = createProgram(
      createCommandContext(loadAdminConfig({}), { stdout: process.stdout, stderr: process.stderr }),
    );
    const leaves = (command: Command, path: string[]): string[] =>
      command.commands.flatMap((sub) =>
        sub.commands.length ? leaves(sub, [...path, sub.name()]) : [[...path, sub.name()].join(' ')],
      );
    expect(leaves(program, []).sort()).toEqual([...COMMANDS].sort());
    for (const command of COMMANDS) {
      const help = await run(...command.split(' '), '--help');
      expect(help.code, command).toBe(ExitCode.ok);
      expect(help.stdout, command).toMatch(new RegExp(`^Usage: confidant ${command}\\b`));
    }
  });
});

describe('usage errors', () => {
  it('exit 2 with a message and touch no database', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['report', '--practice', 'p', '--month', '2024-3'], /^confidant: month must be written YYYY-MM, got 2024-3\n$/],
      [['practice', 'add', '--id', 'p'], /required option '--name <name>' not specified/],
      [['practice', 'update', 'p', '--cookie-mode', 'maybe'], /expected on or off, got maybe/],
      [['key', 'create', '--role', 'root'], /argument 'root' is invalid. Allowed choices are admin, practice, partner/],
      [['logs', 'import', '-', '--practice', 'p', '--give-up-after', '1.5'], /--give-up-after: whole seconds/],
      [['logs', 'key', 'create'], /required option '--practice <id>' not specified/],
    ];
    for (const [argv, message] of cases) {
      const { code, stderr, sql } = await run(...argv);
      expect({ argv, code }).toEqual({ argv, code: ExitCode.usage });
      expect(stderr, argv.join(' ')).toMatch(message);
      expect(sql, argv.join(' ')).toEqual([]);
    }
  });

  it('exit 2 for an invalid value found by validation, naming the field', async () => {
    const { code, stderr } = await run('key', 'create', '--role', 'partner');
    expect(code).toBe(ExitCode.usage);
    expect(stderr).toMatch(/^confidant: scopeId: practice and partner keys need a scopeId/);
  });

  it('exit 2 for a bad setting in the environment', async () => {
    const stderr: string[] = [];
    const code = await runConfidant(['practice', 'list'], {
      env: { RETENTION_MONTHS: 'many' },
      io: {
        stdout: process.stdout,
        stderr: new Writable({ write: (c, _e, done) => done(void stderr.push(String(c))) }),
      },
    });
    expect(code).toBe(ExitCode.usage);
    expect(stderr.join('')).toMatch(/^confidant: invalid configuration:\n {2}RETENTION_MONTHS="many"/);
  });
});

describe('logs key create', () => {
  it('takes the practice as an option, in either spelling', async () => {
    for (const argv of [
      ['logs', 'key', 'create', '--practice', 'smith-clinic'],
      ['logs', 'key', 'create', '--practice=smith-clinic'],
    ]) {
      // The empty database has no such practice: the id it looked up is the one given.
      const { code, stderr, sql } = await run(...argv);
      expect(code).toBe(ExitCode.notFound);
      expect(stderr).toBe('confidant: no practice smith-clinic\n');
      expect(sql).toEqual([expect.stringMatching(/WHERE practice_id = \$1 \["smith-clinic"\]$/)]);
    }
  });
});

describe('salts expire --every', () => {
  it('takes 30s, 10m or 1h and refuses anything else as a usage error', () => {
    expect([duration('30s'), duration('10m'), duration('1h')]).toEqual([30_000, 600_000, 3_600_000]);
    for (const bad of ['0s', '10', '1d', '25h', '-1m', ' 5m']) expect(() => duration(bad)).toThrow(UsageError);
  });
});
