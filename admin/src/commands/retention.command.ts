import { connectClickHouse, dropExpiredPartitions } from '@confidant/shared';
import type { Command } from 'commander';
import type { CommandContext } from '../command-context.ts';

/** `confidant retention`: what the processor runs daily, on demand. */
export function addRetentionCommand(program: Command, ctx: CommandContext): void {
  program
    .command('retention')
    .description('drop rollup month partitions older than RETENTION_MONTHS (the processor also does this daily)')
    .action(async () => {
      const { retentionMonths } = ctx.config;
      const db = connectClickHouse(ctx.config.clickhouse);
      try {
        ctx.print({ retentionMonths, dropped: await dropExpiredPartitions(db, retentionMonths) });
      } finally {
        await db.close();
      }
    });
}
