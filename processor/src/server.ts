// Runs the processor: `tsx processor/src/server.ts` (config from the environment, see processor.config.ts).
import { connectClickHouse, connectKafka, createLogger } from '@confidant/shared';
import { buildApp } from './app.ts';
import { startProcessor } from './processor.ts';
import { loadProcessorConfig } from './processor.config.ts';

const config = loadProcessorConfig();
const logger = createLogger('processor', config.logLevel);
const db = connectClickHouse(config.clickhouse);
const processor = await startProcessor({
  config,
  db,
  kafka: connectKafka(config.kafka, logger),
  logger,
  onFatal: (error) => {
    logger.fatal({ err: error }, 'consumer stopped for good; exiting so a supervisor restarts the processor');
    process.exit(1);
  },
});
const app = buildApp({ registry: processor.metrics.registry, ready: processor.ready });
await app.listen({ host: '127.0.0.1', port: config.metricsPort });
logger.info({ port: config.metricsPort, group: config.groupId }, 'processor started');

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping');
  try {
    await app.close();
    await processor.stop();
    await db.close();
    process.exit(0);
  } catch (error) {
    logger.error({ err: error }, 'unclean shutdown');
    process.exit(1);
  }
};
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
