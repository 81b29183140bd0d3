import { buildMonthlyReport, renderReportCsv, renderReportHtml } from '@confidant/reporter';
import { DomainError, GoalStore, PracticeStore } from '@confidant/shared';
import { Option, type Command } from 'commander';
import type { CommandContext } from '../command-context.ts';
import { month } from '../option-parsers.ts';

/** `confidant report`: a practice's monthly report as JSON, CSV or HTML. */
export function addReportCommand(program: Command, ctx: CommandContext): void {
  program
    .command('report')
    .description('monthly report of one practice')
    .requiredOption('--practice <id>')
    .requiredOption('--month <YYYY-MM>', 'month', month)
    .addOption(new Option('--format <format>').choices(['json', 'csv', 'html']).default('json'))
    .option('--limit <n>', 'rows per section', (v) => Number.parseInt(v, 10), 10)
    .option('--out <file>', 'write to a file instead of stdout')
    .action((o) =>
      ctx.withDb(async (db, control) => {
        const p = await new PracticeStore(control).get(o.practice);
        if (!p) throw new DomainError('not-found', `no practice ${o.practice}`);
        const goals = await new GoalStore(control).list(p.id);
        const report = await buildMonthlyReport(db, p, o.month, { limit: o.limit, goals });
        const text =
          o.format === 'csv'
            ? renderReportCsv(report)
            : o.format === 'html'
              ? renderReportHtml(report)
              : JSON.stringify(report, null, 2);
        await ctx.output(text, o.out);
      }),
    );
}
