// Starts the reporter: `tsx reporter/src/server.ts`.
import { connectClickHouse, createLogger, migrate } from '@confidant/shared';
import { buildApp } from './app.ts';
import { loadReporterConfig } from './reporter.config.ts';

const config = loadReporterConfig();
const logger = createLogger('reporter', config.common.logLevel);
await migrate(config.common.clickhouse);
const db = connectClickHouse(config.common.clickhouse);
const app = await buildApp({ config, db, logger });
await app.listen({ port: config.port, host: config.host });

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  const timer = setTimeout(() => process.exit(1), 10_000).unref();
  try {
    await app.close();
    await db.close();
  } finally {
    clearTimeout(timer);
  }
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
