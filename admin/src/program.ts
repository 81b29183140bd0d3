import type { Env } from '@confidant/shared';
import { Command } from 'commander';
import { loadAdminConfig, type AdminConfig } from './admin.config.ts';
import { createCommandContext, type AdminIo, type CommandContext } from './command-context.ts';
import { addAuditCommand } from './commands/audit.command.ts';
import { addExportCommand } from './commands/export.command.ts';
import { addGoalsCommands } from './commands/goals.command.ts';
import { addKeyCommands } from './commands/key.command.ts';
import { addLogsCommands } from './commands/logs.command.ts';
import { addPartnerCommands } from './commands/partner.command.ts';
import { addPracticeCommands } from './commands/practice.command.ts';
import { addReportCommand } from './commands/report.command.ts';
import { addRetentionCommand } from './commands/retention.command.ts';
import { addSaltsCommands } from './commands/salts.command.ts';
import { addUserCommands } from './commands/user.command.ts';
import { errorReport, EXIT_CODE_MEANINGS, ExitCode, exitCodeFor } from './exit-codes.ts';

const EXIT_CODES_HELP = [
  'Exit codes:',
  ...Object.entries(EXIT_CODE_MEANINGS).map(([code, meaning]) => `  ${code.padEnd(4)} ${meaning}`),
].join('\n');

/** The `confidant` command tree; commands throw, and `runConfidant` turns what they throw into the exit code. */
export function createProgram(ctx: CommandContext): Command {
  const program = new Command('confidant')
    .description(
      "Confidant administration: practices, partners, API keys, people's accounts, reports, exports, log import, privacy audit, audit log, retention and salt expiry",
    )
    // Settings the subcommands inherit: errors are thrown (not process.exit), output goes to `io`.
    .exitOverride()
    .configureOutput({ writeOut: (s) => void ctx.io.stdout.write(s), writeErr: (s) => void ctx.io.stderr.write(s) })
    .addHelpText('afterAll', `\n${EXIT_CODES_HELP}\n`);
  program.addHelpText('after', () => `\n${commandIndex(program)}`);
  addPracticeCommands(program, ctx);
  addGoalsCommands(program, ctx);
  addPartnerCommands(program, ctx);
  addKeyCommands(program, ctx);
  addReportCommand(program, ctx);
  addExportCommand(program, ctx);
  addLogsCommands(program, ctx);
  addAuditCommand(program, ctx);
  addRetentionCommand(program, ctx);
  addSaltsCommands(program, ctx);
  addUserCommands(program, ctx);
  return program;
}

/** Every command of the tree, groups expanded, for `confidant --help`. */
function commandIndex(program: Command): string {
  const help = program.createHelp();
  const leaves = (command: Command, path: string[]): string[][] =>
    command.commands.flatMap((sub) =>
      sub.commands.length
        ? leaves(sub, [...path, sub.name()])
        : [[[...path, help.subcommandTerm(sub)].join(' '), sub.description()]],
    );
  const rows = leaves(program, []);
  const width = Math.max(...rows.map(([term]) => term!.length));
  return [
    'All commands (`confidant <command> --help` shows one in full):',
    ...rows.map(([term, description]) => `  ${term!.padEnd(width)}  ${description}`),
  ].join('\n');
}

export type RunOptions = {
  /** Default: the process environment. */
  env?: Env;
  /** Default: the process's stdout and stderr. */
  io?: AdminIo;
  /** Default: `createCommandContext` (tests give the commands a database of their own). */
  context?: (config: AdminConfig, io: AdminIo) => CommandContext;
};

/**
 * Runs one command line (`argv` without node and the script) and returns its exit code. The config is
 * read before the command runs, so that a bad setting is reported like any other error.
 */
export async function runConfidant(
  argv: string[],
  { env, io = { stdout: process.stdout, stderr: process.stderr }, context = createCommandContext }: RunOptions = {},
): Promise<ExitCode> {
  try {
    await createProgram(context(loadAdminConfig(env), io)).parseAsync(argv, { from: 'user' });
    return ExitCode.ok;
  } catch (error) {
    io.stderr.write(errorReport(error));
    return exitCodeFor(error);
  }
}
