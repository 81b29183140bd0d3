import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Admin, Producer } from 'kafkajs';
import {
  TABLES,
  metricMergeExpression,
  batchKey,
  visitorBucket,
  connectKafka,
  createLogger,
  encodeEvent,
  encodeEventBatch,
  EVENT_BATCH_MAX_EVENTS,
  topicsFor,
  type CommonConfig,
  type ControlDb,
  type Db,
  type EventEnvelope,
} from '@confidant/shared';
import { testEnvelope } from '@confidant/shared/testing';
import { startProcessor, type RunningProcessor, loadProcessorConfig, readLedgerOffset } from '@confidant/processor';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Environment for a processor working in the test's isolated namespace. */
export function processorEnv(config: CommonConfig, extra: Record<string, string> = {}): Record<string, string> {
  return {
    KAFKA_BROKERS: config.kafka.brokers.join(','),
    KAFKA_TOPIC_PREFIX: config.kafka.topicPrefix,
    CLICKHOUSE_URL: config.clickhouse.url,
    CLICKHOUSE_USER: config.clickhouse.user,
    CLICKHOUSE_PASSWORD: config.clickhouse.password,
    CLICKHOUSE_DATABASE: config.clickhouse.database,
    POSTGRES_URL: config.controlPlane.url,
    LOG_LEVEL: config.logLevel,
    PROCESSOR_GROUP_ID: `g-${randomBytes(4).toString('hex')}`,
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    KAFKA_MAX_WAIT_MS: '200',
    // Fixtures use fixed past dates; the daily retention run must not drop them on a restart.
    RETENTION_MONTHS: '1200',
    ...extra,
  };
}

/** Runs a processor inside the test process. */
export async function startInProcess(
  env: Record<string, string>,
  db: Db,
  control: ControlDb,
  options: { liveVisitsEveryMs?: number } = {},
): Promise<RunningProcessor> {
  const config = loadProcessorConfig(env);
  const logger = createLogger('processor-test', config.logLevel);
  return startProcessor({ config, db, control, kafka: connectKafka(config.kafka, logger), logger, ...options });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export type ChildProcessor = {
  child: ChildProcess;
  port: number;
  exited: Promise<number | null>;
  output: () => string;
};

/** Runs `tsx processor/src/server.ts` as a real process, so a test can SIGKILL it. */
export async function spawnProcessor(env: Record<string, string>): Promise<ChildProcessor> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'processor/src/server.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env, PROCESSOR_METRICS_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, port, exited, output: () => output };
}

export async function isReady(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) });
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * Fixtures use fixed past dates, older than producers may send by default (ENVELOPE_MAX_AGE_MS); the
 * processors of this harness accept them (RETENTION_MONTHS 1200 widens their window to the fixed floor).
 */
const FIXTURE_WINDOW = { maxAgeMs: 1200 * 31 * 86_400_000 };

/** Produces envelopes keyed by visitor (a visitor's events stay in order on one partition). */
export async function produceEvents(producer: Producer, prefix: string, events: EventEnvelope[]): Promise<void> {
  const topic = topicsFor(prefix).events.name;
  for (let i = 0; i < events.length; i += 500) {
    await producer.send({
      topic,
      acks: -1,
      // As the collector keys them (eventKey): a count-only event, which has no visitor, by its own id, so a retried copy lands on the same partition.
      messages: events
        .slice(i, i + 500)
        .map((e) => ({ key: `${e.practiceId}:${e.visitor ?? e.id}`, value: encodeEvent(e, FIXTURE_WINDOW) })),
    });
  }
}

/** Produces envelopes to the batch topic as the log import does: grouped by batch key, in order, at most EVENT_BATCH_MAX_EVENTS a message. */
export async function produceEventBatches(producer: Producer, prefix: string, events: EventEnvelope[]): Promise<void> {
  const byKey = new Map<string, EventEnvelope[]>();
  for (const e of events) {
    // A count-only event has no visitor: its own id spreads it.
    const key = batchKey(e.practiceId, visitorBucket(e.visitor ?? e.id));
    byKey.set(key, [...(byKey.get(key) ?? []), e]);
  }
  const messages = [...byKey].flatMap(([key, list]) =>
    Array.from({ length: Math.ceil(list.length / EVENT_BATCH_MAX_EVENTS) }, (_, i) => ({
      key,
      value: encodeEventBatch(list.slice(i * EVENT_BATCH_MAX_EVENTS, (i + 1) * EVENT_BATCH_MAX_EVENTS), FIXTURE_WINDOW),
    })),
  );
  await producer.send({ topic: topicsFor(prefix).eventBatches.name, acks: -1, messages });
}

/** True once the ledger of `groupId` has reached the end of every partition of both event topics. */
export async function ledgerCaughtUp(db: Db, admin: Admin, prefix: string, groupId: string): Promise<boolean> {
  const { events, eventBatches } = topicsFor(prefix);
  for (const topic of [events.name, eventBatches.name]) {
    for (const p of await admin.fetchTopicOffsets(topic)) {
      if ((await readLedgerOffset(db, groupId, topic, p.partition)) < BigInt(p.high)) return false;
    }
  }
  return true;
}

/** A valid envelope with overridable fields. */
export function envelope(
  overrides: Partial<EventEnvelope> & Pick<EventEnvelope, 'practiceId' | 'visitor' | 'ts'>,
): EventEnvelope {
  return testEnvelope({ id: randomBytes(16).toString('hex'), ...overrides });
}

export const visitorOf = (label: string): string => Buffer.from(label.padEnd(16, '_')).toString('hex').slice(0, 32);

/** Rollup rows by dimension for one practice, metrics merged (zero rows left out). */
export type DailyTotals = {
  pageviews: number;
  visits: number;
  bounces: number;
  engaged_ms: number;
  events: number;
  visitors: number;
};

export async function dailyRollup(db: Db, practiceId: string, where = '1'): Promise<Record<string, DailyTotals>> {
  const rows = await db.rows<Record<string, string>>(
    `SELECT toString(day) AS d, toString(source) AS s, dim, value, sumMerge(pageviews) AS pageviews, sumMerge(visits) AS visits, sumMerge(bounces) AS bounces,
       sumMerge(engaged_ms) AS engaged_ms, sumMerge(events) AS events, ${metricMergeExpression('visitors')} AS visitors
     FROM ${TABLES.rollupDaily} WHERE practice_id = '${practiceId}' AND ${where} GROUP BY d, s, dim, value`,
  );
  const out: Record<string, DailyTotals> = {};
  for (const r of rows) {
    const totals = {
      pageviews: Number(r.pageviews),
      visits: Number(r.visits),
      bounces: Number(r.bounces),
      engaged_ms: Number(r.engaged_ms),
      events: Number(r.events),
      visitors: Number(r.visitors),
    };
    if (Object.values(totals).every((v) => v === 0)) continue;
    out[`${r.d} ${r.s} ${r.dim}=${r.value}`] = totals;
  }
  return out;
}

export function kafkaFor(config: CommonConfig) {
  return connectKafka(config.kafka, createLogger('test', 'silent'));
}

/** Site totals per practice and local day, both sources together. */
export async function totalsByPracticeDay(
  db: Db,
): Promise<Record<string, { pageviews: number; events: number; engaged_ms: number }>> {
  const rows = await db.rows<Record<string, string>>(
    `SELECT practice_id, toString(day) AS d, sumMerge(pageviews) AS pv, sumMerge(events) AS ev, sumMerge(engaged_ms) AS e
     FROM ${TABLES.rollupDaily} WHERE dim = 'total' GROUP BY practice_id, d`,
  );
  return Object.fromEntries(
    rows.map((r) => [
      `${r.practice_id} ${r.d}`,
      { pageviews: Number(r.pv), events: Number(r.ev), engaged_ms: Number(r.e) },
    ]),
  );
}

/** Visit counts that must agree however visits were split: every visit has one entry and one exit. */
export async function visitConsistency(
  db: Db,
): Promise<{ visits: number; entries: number; exits: number; bounces: number; negativeRows: number }> {
  const [row] = await db.rows<Record<string, string>>(
    `SELECT sumIf(v, dim = 'total') AS visits, sumIf(v, dim = 'entry') AS entries, sumIf(v, dim = 'exit') AS exits, sumIf(b, dim = 'total') AS bounces,
       countIf(v < 0 OR b < 0) AS negativeRows
     FROM (SELECT practice_id, day, source, dim, value, sumMerge(visits) AS v, sumMerge(bounces) AS b FROM ${TABLES.rollupDaily} GROUP BY practice_id, day, source, dim, value) AS merged`,
  );
  return {
    visits: Number(row!.visits),
    entries: Number(row!.entries),
    exits: Number(row!.exits),
    bounces: Number(row!.bounces),
    negativeRows: Number(row!.negativeRows),
  };
}
