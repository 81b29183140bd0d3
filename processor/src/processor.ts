import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import {
  dropExpiredPartitions,
  isClickHouseReady,
  LIVE_VISIT_WINDOW_MS,
  LIVE_VISITS_PUBLISH_MS,
  LiveVisitsStore,
  pendingMigrations,
  GoalStore,
  PracticeStore,
  topicsFor,
  type ControlDb,
  type Db,
  type Logger,
} from '@confidant/shared';
import { BatchAbandoned, BatchProcessor } from './consumer/batch-processor.ts';
import { createProcessorMetrics, type ProcessorMetrics } from './metrics.ts';
import { PracticeCache } from './practices/practice-cache.ts';
import { countLiveVisits } from './session/live-visits.ts';
import type { ProcessorConfig } from './processor.config.ts';
import { sealClosedPartnerDays } from './storage/partner-day-sealer.ts';
import { sealClosedVisitorStates } from './storage/visitor-sealer.ts';

export type ProcessorDeps = {
  config: ProcessorConfig;
  db: Db;
  /** Practices, read through a cache that keeps the last known list while PostgreSQL is away. */
  control: ControlDb;
  kafka: Kafka;
  logger: Logger;
  metrics?: ProcessorMetrics;
  /**
   * Called when the consumer has crashed and kafkajs will not restart it. The server exits so a
   * supervisor restarts it: the offsets ledger makes a restart exact, whereas a live process with
   * a dead consumer would silently stop counting.
   */
  onFatal?: (error: Error) => void;
  /** How often the current-visitors counts are published; tests shorten it. */
  liveVisitsEveryMs?: number;
};

export type RunningProcessor = {
  metrics: ProcessorMetrics;
  /** Consumer joined and running, and ClickHouse answering. */
  ready(): Promise<boolean>;
  stop(): Promise<void>;
};

const RETENTION_EVERY_MS = 24 * 3_600_000;
/** Closed visitor states are sealed within this of their close plus the margin (the audit allows 3 h). */
const SEAL_EVERY_MS = 10 * 60_000;
const SCHEMA_POLL_MS = 2_000;

/** Starts the consumer group member that turns events into rollups, plus the sealing and retention jobs. */
export async function startProcessor(deps: ProcessorDeps): Promise<RunningProcessor> {
  const { config, db, kafka, logger } = deps;
  const metrics = deps.metrics ?? createProcessorMetrics();
  const topics = topicsFor(config.kafka.topicPrefix);
  const practices = new PracticeCache(() => new PracticeStore(deps.control).list(), {
    goals: () => new GoalStore(deps.control).all(),
    onStale: (error) => logger.warn({ err: error }, 'practices not refreshed; going on with the last known list'),
  });
  // Without PostgreSQL at start the first batch waits for it (the consumer pauses and retries).
  await practices
    .refresh()
    .catch((error: unknown) => logger.warn({ err: error }, 'practices not loaded yet; the first batch waits for them'));

  // The schema is migrated by the reporter, the admin CLI or `npm run db:migrate`: wait for it, so
  // that nothing is written into new tables before a migration has copied what the old ones held.
  for (let pending = await pendingMigrations(db); pending.length; pending = await pendingMigrations(db)) {
    logger.warn({ pending }, 'waiting for the ClickHouse schema to be migrated');
    await new Promise((r) => setTimeout(r, SCHEMA_POLL_MS));
  }

  const consumer = kafka.consumer({
    groupId: config.groupId,
    sessionTimeout: config.sessionTimeoutMs,
    heartbeatInterval: Math.max(1000, Math.floor(config.sessionTimeoutMs / 10)),
    // Large fetches so that under load each insert carries many events (~1 insert/s/partition).
    minBytes: 4 * 1024 * 1024,
    maxWaitTimeInMs: config.maxWaitMs,
    maxBytesPerPartition: 8 * 1024 * 1024,
    maxBytes: 32 * 1024 * 1024,
    allowAutoTopicCreation: false,
  });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const processor = new BatchProcessor({
    config,
    db,
    practices,
    consumer,
    producer,
    batchTopic: topics.eventBatches.name,
    deadLetterTopic: topics.deadLetter.name,
    logger,
    metrics,
  });

  // Current visitors for the dashboard: counts of the visits this member holds, never a visitor value.
  const live = new LiveVisitsStore(deps.control);
  const instanceId = randomUUID();
  // The partitions of the last assignment (`topic:partition`): their counts are this member's to replace.
  let owned: string[] = [];
  let publishing: Promise<void> | null = null;
  const publishLive = () =>
    (publishing ??= live
      .publish(instanceId, owned, countLiveVisits(processor.partitionVisits(), Date.now(), LIVE_VISIT_WINDOW_MS))
      .catch((error: unknown) => logger.warn({ err: error }, 'current visitors not published; retrying'))
      .finally(() => (publishing = null)));

  let joined = false;
  let crashed = false;
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    joined = true;
    processor.resetPartitions();
    owned = Object.entries(e.payload.memberAssignment).flatMap(([topic, partitions]) =>
      partitions.map((partition) => `${topic}:${partition}`),
    );
    // The counts published before the join name visits this member no longer holds (their partitions
    // may have moved), and a member that crashed left counts of partitions this one now owns: replace
    // both now, after any publish already under way, so no visit counts twice.
    void (publishing ?? Promise.resolve()).then(publishLive);
    logger.info({ assignment: e.payload.memberAssignment }, 'joined consumer group');
  });
  consumer.on(consumer.events.CRASH, (e) => {
    crashed = !e.payload.restart;
    logger.error({ err: e.payload.error, restart: e.payload.restart }, 'consumer crashed');
    if (crashed) deps.onFatal?.(e.payload.error);
  });

  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topics: [topics.events.name, topics.eventBatches.name], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async (payload) => {
      try {
        await processor.handle(payload);
      } catch (error) {
        if (!(error instanceof BatchAbandoned)) throw error;
        logger.info({ topic: payload.batch.topic, partition: payload.batch.partition }, error.message);
      }
    },
  });

  const retention = async () => {
    try {
      const dropped = await dropExpiredPartitions(db, config.retentionMonths);
      if (dropped.length) logger.info({ dropped }, 'dropped expired partitions');
    } catch (error) {
      logger.warn({ err: error }, 'retention run failed; retrying tomorrow');
    }
  };
  void retention();
  const retentionTimer = setInterval(retention, RETENTION_EVERY_MS);
  retentionTimer.unref();
  // Every processor may seal, one at a time across processes: two sealing one practice at once would both count it.
  let sealing: Promise<void> | null = null;
  const seal = () =>
    (sealing ??= deps.control
      .exclusively('confidant.visitor-sealer', async (stillHeld) => {
        // A failing rollup unit must not hold back the partner days (nor the other way round).
        let failure: unknown = null;
        const units = await sealClosedVisitorStates({
          db,
          clickhouse: config.clickhouse,
          rareValueMinVisitors: config.rareValueMinVisitors,
          stillExclusive: stillHeld,
        }).catch((error: unknown) => {
          failure = error;
          return [];
        });
        const partnerDays = await sealClosedPartnerDays({
          db,
          clickhouse: config.clickhouse,
          stillExclusive: stillHeld,
        });
        if (failure !== null) throw failure;
        return { units, partnerDays };
      })
      .then((sealed) => {
        if (sealed?.units.length)
          logger.info({ units: sealed.units.length }, 'sealed closed visitor states into counts');
        if (sealed?.partnerDays.length)
          logger.info({ days: sealed.partnerDays.length }, 'sealed closed partner visitor-days into counts');
      })
      .catch((error: unknown) => logger.warn({ err: error }, 'sealing visitor states failed; retrying'))
      .finally(() => (sealing = null)));
  void seal();
  const sealTimer = setInterval(seal, SEAL_EVERY_MS);
  sealTimer.unref();

  const liveTimer = setInterval(publishLive, deps.liveVisitsEveryMs ?? LIVE_VISITS_PUBLISH_MS);
  liveTimer.unref();

  return {
    metrics,
    async ready() {
      return joined && !crashed && (await isClickHouseReady(db));
    },
    async stop() {
      clearInterval(retentionTimer);
      clearInterval(sealTimer);
      clearInterval(liveTimer);
      await Promise.all([sealing, publishing]);
      // If this fails the rows are ignored once stale anyway.
      await live.withdraw(instanceId).catch(() => undefined);
      await consumer.disconnect();
      await producer.disconnect();
    },
  };
}
