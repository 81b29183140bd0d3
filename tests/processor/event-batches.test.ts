// Log events arrive as batch messages on their own topic; the processor must count them exactly
// as the same events sent one per message, and dead-letter a bad event without its batch.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Admin, Producer } from 'kafkajs';
import {
  batchKey,
  visitorBucket,
  PracticeStore,
  topicsFor,
  type Db,
  type EventEnvelope,
  type ControlDb,
} from '@confidant/shared';
import type { RunningProcessor } from '@confidant/processor';
import { isolatedConfig } from '../support/test-env.ts';
import { eventually, prepareNamespace } from '../support/stack.ts';
import {
  dailyRollup,
  envelope,
  kafkaFor,
  ledgerCaughtUp,
  processorEnv,
  produceEventBatches,
  produceEvents,
  startInProcess,
  visitorOf,
} from '../support/processor-harness.ts';

const config = isolatedConfig('proc-batches');
const env = processorEnv(config);
let db: Db;
let control: ControlDb;
let cleanup: () => Promise<void>;
let producer: Producer;
let admin: Admin;
let processor: RunningProcessor;

const T = Date.UTC(2024, 4, 6, 8, 0);
const minute = 60_000;

/** A day of log traffic for `practiceId`: 40 visitors, 1-6 pages each with gaps that split some visits, a 404, a repeat. */
function logTraffic(practiceId: string): EventEnvelope[] {
  const events: EventEnvelope[] = [];
  for (let v = 0; v < 40; v++) {
    const visitor = visitorOf(`visitor-${v}`);
    let ts = T + v * 7 * minute;
    for (let p = 0; p <= v % 6; p++) {
      const page = ['/', '/services', '/team', '/contact'][(v + p) % 4]!;
      events.push(
        envelope({
          practiceId,
          visitor,
          ts,
          source: 'logs',
          page,
          referrerDomain: p === 0 && v % 3 === 0 ? 'google.com' : null,
          browser: v % 2 ? 'Chrome' : 'Safari',
        }),
      );
      ts += (p % 3 === 2 ? 45 : 2) * minute;
    }
    if (v % 10 === 0)
      events.push(envelope({ practiceId, visitor, ts, source: 'logs', type: 'notfound', page: '/old-page' }));
  }
  // Ids derived from a per-practice counter so both practices' streams are the same events.
  return events.map((e, i) => ({
    ...e,
    id: (practiceId === 'batched' ? 'b' : 'c') + i.toString(16).padStart(31, '0'),
  }));
}

const batched = logTraffic('batched');
const single = logTraffic('single');
const deadLetters: Array<{ headers: Record<string, string>; value: string }> = [];

beforeAll(async () => {
  ({ db, control, cleanup } = await prepareNamespace(config));
  const practices = new PracticeStore(control);
  for (const id of ['batched', 'single', 'mixed'])
    await practices.save({
      id,
      siteKey: `site-${id}`,
      name: id,
      domains: [`${id}.example`],
      timezone: 'Europe/Berlin',
    });
  const kafka = kafkaFor(config);
  producer = kafka.producer();
  admin = kafka.admin();
  await Promise.all([producer.connect(), admin.connect()]);

  await produceEvents(producer, config.kafka.topicPrefix, single);
  await produceEventBatches(producer, config.kafka.topicPrefix, batched);
  // A producer retry: the first visitor's batch arrives twice.
  await produceEventBatches(
    producer,
    config.kafka.topicPrefix,
    batched.filter((e) => e.visitor === batched[0]!.visitor),
  );
  // A batch with a schema violation and an unregistered practice among good events, and one that is no batch at all.
  const topic = topicsFor(config.kafka.topicPrefix).eventBatches.name;
  const good = envelope({ practiceId: 'mixed', visitor: visitorOf('late'), ts: T, source: 'logs', page: '/late' });
  const mixed = [
    good,
    { ...good, id: 'e'.repeat(32), country: 'Germany' },
    envelope({ practiceId: 'no-such-practice', visitor: visitorOf('late'), ts: T, source: 'logs' }),
  ];
  await producer.send({
    topic,
    messages: [
      {
        key: batchKey('mixed', visitorBucket(good.visitor!)),
        value: Buffer.from(JSON.stringify({ v: 1, events: mixed })),
      },
      { key: 'junk', value: Buffer.from('{"v":1,"events":"none"}') },
    ],
  });

  processor = await startInProcess(env, db, control);
  await eventually(
    () => ledgerCaughtUp(db, admin, config.kafka.topicPrefix, env.PROCESSOR_GROUP_ID!),
    Boolean,
    60_000,
    'ledger caught up',
  );
  await new Promise((r) => setTimeout(r, 1000));

  const consumer = kafka.consumer({ groupId: `dlq-reader-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic: topicsFor(config.kafka.topicPrefix).deadLetter.name, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      deadLetters.push({
        headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
        value: message.value?.toString() ?? '',
      });
    },
  });
  await eventually(
    async () => deadLetters.length,
    (n) => n >= 3,
    30_000,
    'three dead letters',
  );
  await consumer.disconnect();
});

afterAll(async () => {
  await processor?.stop();
  await producer?.disconnect();
  await admin?.disconnect();
  await cleanup?.();
});

describe('event batches', () => {
  it('roll up exactly like the same events sent one per message (visits, bounces, entries, exits, visitors)', async () => {
    const fromSingle = await dailyRollup(db, 'single');
    expect(Object.keys(fromSingle).length).toBeGreaterThan(20);
    expect(fromSingle['2024-05-06 logs total=']).toMatchObject({ pageviews: single.length, visitors: 40 });
    expect(await dailyRollup(db, 'batched')).toEqual(fromSingle);
    // The good event of the mixed batch counts, its bad neighbours do not.
    expect(await dailyRollup(db, 'mixed')).toMatchObject({
      '2024-05-06 logs total=': { pageviews: 1, visits: 1, visitors: 1 },
    });
  });

  it('dead-letter the bad events of a batch one by one, and an unreadable batch whole', () => {
    const byReason = Object.fromEntries(deadLetters.map((d) => [d.headers.reason!.split(':')[0]!, d]));
    expect(Object.keys(byReason).sort()).toEqual(['invalid batch', 'invalid envelope', 'unknown practice']);
    const source = topicsFor(config.kafka.topicPrefix).eventBatches.name;
    expect(byReason['invalid envelope']!.headers).toMatchObject({ 'source-topic': source, 'source-index': '1' });
    expect(JSON.parse(byReason['invalid envelope']!.value)).toMatchObject({ country: 'Germany' });
    expect(byReason['unknown practice']!.headers).toMatchObject({ 'source-topic': source, 'source-index': '2' });
    expect(JSON.parse(byReason['unknown practice']!.value)).toMatchObject({ practiceId: 'no-such-practice' });
    expect(byReason['invalid batch']!.headers['source-index']).toBeUndefined();
    expect(byReason['invalid batch']!.value).toBe('{"v":1,"events":"none"}');
  });

  it('after a restart, recognise batches produced again (a resumed import) from the warmed-up duplicate filter', async () => {
    const before = await dailyRollup(db, 'batched');
    await processor.stop();
    // An interrupted import re-produces its last chunk with the same line-derived ids.
    await produceEventBatches(producer, config.kafka.topicPrefix, batched.slice(-60));
    processor = await startInProcess(env, db, control);
    await eventually(
      () => ledgerCaughtUp(db, admin, config.kafka.topicPrefix, env.PROCESSOR_GROUP_ID!),
      Boolean,
      60_000,
      'ledger caught up after the restart',
    );
    await new Promise((r) => setTimeout(r, 1000));
    expect(await dailyRollup(db, 'batched')).toEqual(before);
  });

  it("after the duplicate window (a restart without warm-up), drop a resumed import's lines by the line ledger", async () => {
    const before = await dailyRollup(db, 'batched');
    await processor.stop();
    // All but the first event (its id names line 0, which no import has): every line of the import again.
    await produceEventBatches(producer, config.kafka.topicPrefix, batched.slice(1));
    // Nothing re-read, nothing remembered: only the durable record of applied lines can tell the repeats.
    processor = await startInProcess({ ...env, WARMUP_MESSAGES: '0' }, db, control);
    await eventually(
      () => ledgerCaughtUp(db, admin, config.kafka.topicPrefix, env.PROCESSOR_GROUP_ID!),
      Boolean,
      60_000,
      'ledger caught up after the restart',
    );
    await new Promise((r) => setTimeout(r, 1000));
    expect(await dailyRollup(db, 'batched')).toEqual(before);
    const [row] = await db.rows<{ n: string }>(
      `SELECT toString(sum(arraySum(arrayMap(i -> bitTest(b, i), range(64))))) AS n FROM (SELECT groupBitOrMerge(bits) AS b FROM import_line_ledger GROUP BY consumer_group, import_key, word)`,
    );
    // Every line of the stream but the one numbered 0 (no import line) is recorded once.
    expect(Number(row!.n)).toBeGreaterThanOrEqual(batched.length - 1);
  });
});
