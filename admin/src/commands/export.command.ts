import { EXPORT_FORMATS, partnerRelease, PartnerStore } from '@confidant/reporter';
import { DomainError } from '@confidant/shared';
import { Option, type Command } from 'commander';
import type { CommandContext } from '../command-context.ts';
import { month } from '../option-parsers.ts';

/** `confidant export`: a month's partner release, made once for every partner and charged to the yearly budget. */
export function addExportCommand(program: Command, ctx: CommandContext): void {
  program
    .command('export')
    .description('partner export (made once per month for every partner, charged to the yearly privacy budget)')
    .requiredOption('--partner <id>')
    .requiredOption('--month <YYYY-MM>', 'month', month)
    .addOption(new Option('--format <format>').choices([...EXPORT_FORMATS]).default('csv'))
    .option('--out <file>', 'write to a file instead of stdout')
    .action((o) =>
      ctx.withDb(async (db, control) => {
        if (!(await new PartnerStore(control).get(o.partner)))
          throw new DomainError('not-found', `no partner ${o.partner}`);
        const { release } = ctx.config;
        const made = await partnerRelease(
          {
            db,
            control,
            epsilon: release.epsilonPerRelease,
            yearlyBudget: release.yearlyBudget,
            suppressionThreshold: release.suppressionThreshold,
          },
          o.partner,
          o.month,
          o.format,
        );
        ctx.io.stderr.write(`${made.created ? 'new release' : 'stored release'} ${String(made.manifest.release_id)}\n`);
        await ctx.output(made.body, o.out);
      }),
    );
}
