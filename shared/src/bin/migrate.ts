// Applies the control-plane (PostgreSQL) and ClickHouse migrations and creates Kafka topics: `npm run db:migrate`.
import { loadCommonConfig, loadSaltStoreConfig } from '../platform/config/env-config.ts';
import { migrateStores } from '../platform/migrate-stores.ts';
import { connectKafka, ensureTopics } from '../platform/kafka/kafka-client.ts';
import { createLogger } from '../platform/logger.ts';

const config = { ...loadCommonConfig('confidant-migrate'), salts: loadSaltStoreConfig() };
const logger = createLogger('migrate', config.logLevel);
const { controlPlane, legacy, clickhouse, saltTablesMoved } = await migrateStores(config);
logger.info(
  {
    controlPlane,
    clickhouse,
    legacyRowsMoved: legacy.moved,
    legacyKeysSkipped: legacy.skipped,
    database: config.clickhouse.database,
    saltDatabase: config.salts.database,
    saltTablesMoved,
  },
  controlPlane.length || clickhouse.length ? 'migrations applied' : 'schema up to date',
);
const admin = connectKafka(config.kafka, logger).admin();
await admin.connect();
try {
  const topics = await ensureTopics(admin, config.kafka.topicPrefix);
  logger.info({ topics: topics.map((t) => t.name) }, 'topics ready');
} finally {
  await admin.disconnect();
}
