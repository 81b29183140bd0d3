import type { Logger } from '../platform/logger.ts';

/** One thing to close on shutdown: the HTTP server, a producer, a consumer, a database client. */
export type ShutdownStep = { name: string; stop: () => unknown };

export type ShutdownOptions = {
  logger: Logger;
  /** Closed in this order: the app first (no new requests, in-flight ones finish), then what it uses. */
  steps: ShutdownStep[];
  /** After this long the process exits 1, whatever is still closing; a supervisor then sees an unclean stop. */
  graceMs: number;
  signals?: readonly NodeJS.Signals[];
  exit?: (code: number) => void;
};

export const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Stops the service on the first of `signals` (Ctrl-C, a supervisor's SIGTERM, a closed terminal):
 * every step in order, then exit 0, or exit 1 when a step failed or the grace period ran out.
 * Returns the shutdown itself, which runs once however often it is called.
 */
export function stopOnSignals(options: ShutdownOptions): (reason: string) => Promise<void> {
  const { logger, steps, graceMs } = options;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let stopping: Promise<void> | null = null;

  async function stop(reason: string): Promise<void> {
    logger.info({ signal: reason, steps: steps.map((s) => s.name), graceMs }, 'stopping');
    const timer = setTimeout(() => {
      logger.error({ graceMs }, 'shutdown grace period over; exiting');
      exit(1);
    }, graceMs);
    let failed = false;
    for (const step of steps) {
      try {
        await step.stop();
      } catch (error) {
        failed = true;
        logger.error({ err: error, step: step.name }, 'shutdown step failed');
      }
    }
    clearTimeout(timer);
    logger.info(failed ? 'stopped uncleanly' : 'stopped');
    exit(failed ? 1 : 0);
  }

  const shutdown = (reason: string): Promise<void> => (stopping ??= stop(reason));
  for (const signal of options.signals ?? SHUTDOWN_SIGNALS) process.on(signal, () => void shutdown(signal));
  return shutdown;
}
