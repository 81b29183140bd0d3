// Starts the reporter: `tsx reporter/src/server.ts`.
import { connectClickHouse, connectControlDb, createLogger, migrateStores, stopOnSignals } from '@confidant/shared';
import { buildApp } from './app.ts';
import { loadReporterConfig } from './reporter.config.ts';

const config = loadReporterConfig();
const logger = createLogger('reporter', config.logLevel);
if (!config.accounts.operatorTwoFactorRequired)
  logger.warn('OPERATOR_TWO_FACTOR_REQUIRED=false: operator admins may sign in without two-factor (demo only)');
await migrateStores(config);
const db = connectClickHouse(config.clickhouse);
const control = connectControlDb(config.controlPlane);
const app = await buildApp({ config, db, control, logger });
await app.listen({ port: config.port, host: config.host });

stopOnSignals({
  logger,
  graceMs: config.shutdownGraceMs,
  steps: [
    // close() waits for in-flight requests and for the key-use writes they started.
    { name: 'http', stop: () => app.close() },
    { name: 'clickhouse', stop: () => db.close() },
    { name: 'control plane', stop: () => control.close() },
  ],
});
