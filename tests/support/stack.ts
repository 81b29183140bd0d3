import {
  connectClickHouse,
  connectControlDb,
  connectKafka,
  createLogger,
  ensureTopics,
  migrateStores,
  sqlv,
  type ClickHouseConfig,
  type CommonConfig,
  type ControlDb,
  type Db,
} from '@confidant/shared';
import { dropTestControlDatabase } from './control-db.ts';

/**
 * Prepares an isolated namespace: both databases migrated (and the salt database created when `config`
 * names one), topics created. Returns their clients (`salts`: the salt database) and a cleanup.
 */
export async function prepareNamespace(
  config: CommonConfig & { salts?: ClickHouseConfig },
): Promise<{ db: Db; salts: Db; control: ControlDb; cleanup: () => Promise<void> }> {
  await migrateStores(config);
  const logger = createLogger('test', 'silent');
  const admin = connectKafka(config.kafka, logger).admin();
  await admin.connect();
  await ensureTopics(admin, config.kafka.topicPrefix);
  const db = connectClickHouse(config.clickhouse);
  const salts = connectClickHouse(config.salts ?? config.clickhouse);
  const control = connectControlDb(config.controlPlane);
  return {
    db,
    salts,
    control,
    async cleanup() {
      await Promise.all([db.close(), salts.close(), control.close()]);
      await dropTestControlDatabase(config.controlPlane);
      if (process.env.KEEP_TEST_DATA !== '1') {
        const server = connectClickHouse(config.clickhouse, { database: null });
        await server.command(`DROP DATABASE IF EXISTS ${sqlv.ident(config.clickhouse.database)}`);
        if (config.salts) await server.command(`DROP DATABASE IF EXISTS ${sqlv.ident(config.salts.database)}`);
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
