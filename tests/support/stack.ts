import {
  connectClickHouse,
  connectControlDb,
  connectKafka,
  createLogger,
  ensureTopics,
  migrateStores,
  sqlv,
  type CommonConfig,
  type ControlDb,
  type Db,
} from '@confidant/shared';
import { dropTestControlDatabase } from './control-db.ts';

/** Prepares an isolated namespace: both databases migrated, topics created. Returns their clients and a cleanup. */
export async function prepareNamespace(
  config: CommonConfig,
): Promise<{ db: Db; control: ControlDb; cleanup: () => Promise<void> }> {
  await migrateStores(config);
  const logger = createLogger('test', 'silent');
  const admin = connectKafka(config.kafka, logger).admin();
  await admin.connect();
  await ensureTopics(admin, config.kafka.topicPrefix);
  const db = connectClickHouse(config.clickhouse);
  const control = connectControlDb(config.controlPlane);
  return {
    db,
    control,
    async cleanup() {
      await Promise.all([db.close(), control.close()]);
      await dropTestControlDatabase(config.controlPlane);
      if (process.env.KEEP_TEST_DATA !== '1') {
        const server = connectClickHouse(config.clickhouse, { database: null });
        await server.command(`DROP DATABASE IF EXISTS ${sqlv.ident(config.clickhouse.database)}`);
        await server.close();
        const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${config.kafka.topicPrefix}.`));
        if (topics.length) await admin.deleteTopics({ topics }).catch(() => undefined);
      }
      await admin.disconnect();
    },
  };
}

/** Polls `probe` until it returns a value accepted by `done`, or throws after `timeoutMs`. */
export async function eventually<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 20_000,
  label = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      last = await probe();
      if (done(last)) return last;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `timed out waiting for ${label}; last value ${JSON.stringify(last)}${lastError ? `; last error ${String(lastError)}` : ''}`,
  );
}
