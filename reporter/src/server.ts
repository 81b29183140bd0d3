// Starts the reporter: `tsx reporter/src/server.ts`.
import { connectClickHouse, createLogger, migrate, stopOnSignals } from '@confidant/shared';
import { buildApp } from './app.ts';
import { loadReporterConfig } from './reporter.config.ts';

const config = loadReporterConfig();
const logger = createLogger('reporter', config.logLevel);
await migrate(config.clickhouse);
const db = connectClickHouse(config.clickhouse);
const app = await buildApp({ config, db, logger });
await app.listen({ port: config.port, host: config.host });

stopOnSignals({
  logger,
  graceMs: config.shutdownGraceMs,
  steps: [
    // close() waits for in-flight requests and for the key-use writes they started.
    { name: 'http', stop: () => app.close() },
    { name: 'clickhouse', stop: () => db.close() },
  ],
});
