// Applies ClickHouse migrations and creates Kafka topics: `npm run db:migrate`.
import { loadCommonConfig } from '../platform/config/env-config.ts';
import { migrate } from '../platform/clickhouse/migrate.ts';
import { connectKafka, ensureTopics } from '../platform/kafka/kafka-client.ts';
import { createLogger } from '../platform/logger.ts';

const config = loadCommonConfig('confidant-migrate');
const logger = createLogger('migrate', config.logLevel);
const { applied } = await migrate(config.clickhouse);
logger.info(
  { applied, database: config.clickhouse.database },
  applied.length ? 'migrations applied' : 'schema up to date',
);
const admin = connectKafka(config.kafka, logger).admin();
await admin.connect();
try {
  const topics = await ensureTopics(admin, config.kafka.topicPrefix);
  logger.info({ topics: topics.map((t) => t.name) }, 'topics ready');
} finally {
  await admin.disconnect();
}
