import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import {
  connectClickHouse,
  connectControlDb,
  dropControlDatabase,
  connectKafka,
  createLogger,
  ensureTopics,
  loadCommonConfig,
  loadSaltStoreConfig,
  migrateStores,
  PracticeStore,
  sqlv,
  topicsFor,
  type CommonConfig,
  type ControlDb,
  type Db,
  type PracticeInput,
} from '@confidant/shared';
import { benchEnv, keepBenchData } from '../bench.config.ts';

export type Namespace = {
  env: Record<string, string | undefined>;
  config: CommonConfig;
  db: Db;
  control: ControlDb;
  kafka: Kafka;
  admin: Admin;
  eventsTopic: string;
  practice: PracticeInput & { id: string; siteKey: string };
  cleanup(): Promise<void>;
};

export const BENCH_DOMAIN = 'clinic.example';

/** A migrated database, created topics and one registered practice, all under a unique name. */
export async function openNamespace(label: string): Promise<Namespace> {
  const env = benchEnv(label);
  const config = loadCommonConfig(`bench-${label}`, env);
  // The collectors it runs keep their salts in the salt database beside it.
  const salts = loadSaltStoreConfig(env);
  await migrateStores({ ...config, salts });
  const kafka = connectKafka(config.kafka, createLogger('bench', 'error'));
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, config.kafka.topicPrefix);
  const db = connectClickHouse(config.clickhouse);
  const control = connectControlDb(config.controlPlane);
  const practice = {
    id: 'bench-practice',
    siteKey: 'bench-site-key',
    name: 'Bench practice',
    domains: [BENCH_DOMAIN],
    timezone: 'UTC',
  };
  await new PracticeStore(control).save(practice);
  return {
    env,
    config,
    db,
    control,
    kafka,
    admin,
    eventsTopic: topicsFor(config.kafka.topicPrefix).events.name,
    practice,
    async cleanup() {
      await Promise.all([db.close(), control.close()]);
      if (!keepBenchData) {
        await dropControlDatabase(config.controlPlane);
        const server = connectClickHouse(config.clickhouse, { database: null });
        await server.command(`DROP DATABASE IF EXISTS ${sqlv.ident(config.clickhouse.database)}`);
        await server.command(`DROP DATABASE IF EXISTS ${sqlv.ident(salts.database)}`);
        await server.close();
        const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${config.kafka.topicPrefix}.`));
        if (topics.length) await admin.deleteTopics({ topics }).catch(() => undefined);
        // benchEnv puts each namespace's spool in a directory of its own.
        if (env.SPOOL_DIR) await rm(dirname(env.SPOOL_DIR), { recursive: true, force: true });
      }
      await admin.disconnect();
    },
  };
}

/** Sum of the high watermarks of the event topic: how many events Kafka holds. */
export async function topicEnd(admin: Admin, topic: string): Promise<Map<number, bigint>> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return new Map(offsets.map((p) => [p.partition, BigInt(p.high)]));
}

/** Next offset per partition the processor group has durably applied (its ClickHouse ledger). */
export async function ledgerOffsets(db: Db, group: string, topic: string): Promise<Map<number, bigint>> {
  const rows = await db.rows<{ p: number; o: string }>(
    `SELECT partition AS p, toString(max(next_offset)) AS o FROM processor_ledger WHERE consumer_group = ${sqlv.str(group)} AND topic = ${sqlv.str(topic)} GROUP BY p`,
  );
  return new Map(rows.map((r) => [Number(r.p), BigInt(r.o)]));
}

/** Events in Kafka not yet applied by the group. */
export async function processorLag(ns: Namespace, group: string): Promise<number> {
  const [end, done] = await Promise.all([
    topicEnd(ns.admin, ns.eventsTopic),
    ledgerOffsets(ns.db, group, ns.eventsTopic),
  ]);
  let lag = 0n;
  for (const [p, high] of end) lag += high - (done.get(p) ?? 0n);
  return Number(lag);
}
