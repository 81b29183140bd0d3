import { connectClickHouse, connectControlDb, connectKafka, createLogger, runPrivacyAudit } from '@confidant/shared';
import type { Command } from 'commander';
import type { CommandContext } from '../command-context.ts';
import { AlreadyReported } from '../exit-codes.ts';

/** `confidant audit`: prints the privacy audit as JSON; any finding makes it fail. */
export function addAuditCommand(program: Command, ctx: CommandContext): void {
  program
    .command('audit')
    .description('prove the stored data is aggregate-only; exits non-zero on any finding')
    .action(async () => {
      const { config } = ctx;
      const db = connectClickHouse(config.clickhouse);
      // The salts are read as the salts user, in their own database.
      const salts = connectClickHouse(config.salts);
      const control = connectControlDb(config.controlPlane);
      const admin = connectKafka(config.kafka, createLogger('audit', config.logLevel)).admin();
      try {
        await admin.connect();
        const report = await runPrivacyAudit({
          db,
          salts,
          control,
          admin,
          topicPrefix: config.kafka.topicPrefix,
          retentionMonths: config.retentionMonths,
        });
        ctx.print(report);
        // The report on stdout lists the findings.
        if (report.findings.length > 0) throw new AlreadyReported(`${report.findings.length} audit finding(s)`);
      } finally {
        await admin.disconnect();
        await Promise.all([db.close(), salts.close(), control.close()]);
      }
    });
}
