import { connectClickHouse, dropExpiredSalts, storedSaltPeriods } from '@confidant/shared';
import type { Command } from 'commander';
import type { CommandContext } from '../command-context.ts';
import { UsageError } from '../exit-codes.ts';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };

/** `30s`, `10m`, `1h`: how often `salts expire --every` runs; at least a second, at most a day. */
export const duration = (v: string): number => {
  const match = /^(\d+)(s|m|h)$/.exec(v);
  const ms = match ? Number(match[1]) * UNIT_MS[match[2]!]! : NaN;
  if (!(ms >= 1000 && ms <= 86_400_000))
    throw new UsageError(`--every: a duration such as 30s, 10m or 1h (1s to 24h), got ${v}`);
  return ms;
};

/**
 * `confidant salts expire`: drops the salt tables past their period and grace, as the salts user (the
 * only one with a grant on the salt database). Collectors do the same in their maintenance; this job
 * runs beside them so that no salt outlives its grace when no collector runs. `--every` keeps it
 * running (the stack runs it so; production schedules it with a timer, docs/operations.md).
 */
export function addSaltsCommands(program: Command, ctx: CommandContext): void {
  const salts = program.command('salts').description('visitor-key salts (the salt database, as the salts user)');
  salts
    .command('expire')
    .description('drop the salts whose period ended more than the grace ago; --every keeps running')
    .option('--every <duration>', 'run again at this interval (30s, 10m, 1h) until stopped', duration)
    .action(async (o: { every?: number }) => {
      const db = connectClickHouse(ctx.config.salts);
      const run = async () => {
        const dropped = await dropExpiredSalts(db);
        ctx.print(JSON.stringify({ at: new Date().toISOString(), dropped, kept: await storedSaltPeriods(db) }));
      };
      try {
        if (o.every === undefined) return await run();
        await runEvery(o.every, run, (error) =>
          ctx.io.stderr.write(`salt expiry failed (retrying in ${o.every} ms): ${(error as Error).message}\n`),
        );
      } finally {
        await db.close();
      }
    });
}

/** Runs `job` now and then every `ms` until SIGINT or SIGTERM; a failed run is reported and the next one tried. */
async function runEvery(ms: number, job: () => Promise<void>, onError: (error: unknown) => void): Promise<void> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    while (!stop.signal.aborted) {
      await job().catch(onError);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        stop.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
