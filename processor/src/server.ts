// Runs the processor: `tsx processor/src/server.ts` (config from the environment, see processor.config.ts).
import { connectClickHouse, connectControlDb, connectKafka, createLogger, stopOnSignals } from '@confidant/shared';
import { buildApp } from './app.ts';
import { startProcessor } from './processor.ts';
import { loadProcessorConfig } from './processor.config.ts';

const config = loadProcessorConfig();
const logger = createLogger('processor', config.logLevel);
const db = connectClickHouse(config.clickhouse);
const control = connectControlDb(config.controlPlane);
const processor = await startProcessor({
  config,
  db,
  control,
  kafka: connectKafka(config.kafka, logger),
  logger,
  onFatal: (error) => {
    logger.fatal({ err: error }, 'consumer stopped for good; exiting so a supervisor restarts the processor');
    process.exit(1);
  },
});
const app = await buildApp({ registry: processor.metrics.registry, ready: processor.ready });
await app.listen({ host: '127.0.0.1', port: config.metricsPort });
logger.info({ port: config.metricsPort, group: config.groupId }, 'processor started');

stopOnSignals({
  logger,
  graceMs: config.shutdownGraceMs,
  steps: [
    { name: 'http', stop: () => app.close() },
    // The consumer finishes the batch in hand before it leaves the group; then the dead-letter producer.
    { name: 'consumer', stop: () => processor.stop() },
    { name: 'clickhouse', stop: () => db.close() },
    { name: 'control plane', stop: () => control.close() },
  ],
});
