// Drops rollup month partitions older than RETENTION_MONTHS (the processor also runs this daily).
import { connectClickHouse, createLogger } from '@confidant/shared';
import { dropExpiredPartitions } from '../retention/partition-retention.ts';
import { loadProcessorConfig } from '../processor.config.ts';

const config = loadProcessorConfig();
const logger = createLogger('retention', config.logLevel);
const db = connectClickHouse(config.clickhouse);
try {
  const dropped = await dropExpiredPartitions(db, config.retentionMonths);
  logger.info({ dropped, retentionMonths: config.retentionMonths }, 'retention applied');
} finally {
  await db.close();
}
