// Issue #12: one out-of-range envelope (a log line from year 9999) made the processor throw a
// RangeError while encoding its batch, outside any retry; kafkajs treats a RangeError as fatal, so
// the processor exited, and did so again after every restart while Kafka held the event. Here every
// kind of poison, and a few thousand random envelopes, go raw to the real topics and through the
// real processor into real ClickHouse: each event must be counted or dead-lettered with a reason,
// the totals must be exact, and the processor must still count what comes after.
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Admin, Producer } from 'kafkajs';
import {
  EVENT_SOURCES,
  EVENT_TYPES,
  PracticeStore,
  topicsFor,
  type Db,
  type EventEnvelope,
  type ControlDb,
} from '@confidant/shared';
import type { RunningProcessor } from '@confidant/processor';
import { faults } from '../faults/faults.config.ts';
import { expectedTotals, prng } from '../support/event-stream.ts';
import {
  envelope,
  kafkaFor,
  ledgerCaughtUp,
  processorEnv,
  startInProcess,
  totalsByPracticeDay,
  visitorOf,
} from '../support/processor-harness.ts';
import {
  edgeCases,
  intoMessages,
  invalidVariants,
  produceRaw,
  readDeadLetters,
  UNREADABLE,
  type DeadLetterReader,
  type RawEvent,
} from '../support/poison-stream.ts';
import { eventually, prepareNamespace } from '../support/stack.ts';
import { isolatedConfig } from '../support/test-env.ts';

// The zones furthest west and east: the ts bounds must give a storable day in both.
const TIME_ZONES: Record<string, string> = {
  'poison-west': 'Etc/GMT+12',
  'poison-east': 'Pacific/Kiritimati',
  'poison-berlin': 'Europe/Berlin',
};
const RANDOM_EVENTS = faults.mode === 'full' ? 20_000 : 3000;
const DAY = 86_400_000;

const config = isolatedConfig('proc-poison');
// The harness's retention of 100 years puts the window's lower edge at the fixed floor (2000-01-01), which this test crosses by 1 ms.
const env = processorEnv(config);
let db: Db;
let control: ControlDb;
let cleanup: () => Promise<void>;
let producer: Producer;
let admin: Admin;
let processor: RunningProcessor;
let dlq: DeadLetterReader;

beforeAll(async () => {
  ({ db, control, cleanup } = await prepareNamespace(config));
  const store = new PracticeStore(control);
  for (const [id, timezone] of Object.entries(TIME_ZONES))
    await store.save({ id, siteKey: `site-${id}`, name: id, domains: [`${id}.example`], timezone });
  const kafka = kafkaFor(config);
  producer = kafka.producer();
  admin = kafka.admin();
  await Promise.all([producer.connect(), admin.connect()]);
  dlq = await readDeadLetters(kafka, config.kafka.topicPrefix);
  processor = await startInProcess(env, db, control);
});

afterAll(async () => {
  await dlq?.stop();
  await processor?.stop();
  await producer?.disconnect();
  await admin?.disconnect();
  await cleanup?.();
});

/** A random envelope valid on consume: any type, labels of any characters up to the limit, a ts in the last 60 days. */
const validEvent = (now: number) =>
  fc
    .record({
      practiceId: fc.constantFrom(...Object.keys(TIME_ZONES)),
      visitor: fc.stringMatching(/^[0-9a-f]{32}$/),
      id: fc.stringMatching(/^[0-9a-f]{32}$/),
      type: fc.constantFrom(...EVENT_TYPES),
      source: fc.constantFrom(...EVENT_SOURCES),
      ts: fc.integer({ min: now - 60 * DAY, max: now + DAY / 2 }),
      page: fc.string({ unit: 'binary', maxLength: 200 }),
      browser: fc.string({ maxLength: 200 }),
      countOnly: fc.boolean(),
      engagedMs: fc.integer({ min: 0, max: 86_400_000 }),
      name: fc.option(fc.string({ unit: 'grapheme', maxLength: 50 })),
    })
    .map((r): EventEnvelope => envelope({ ...r, engagedMs: r.type === 'engagement' ? r.engagedMs : null }));

it(`counts every valid event exactly and dead-letters every poisoned one, and keeps consuming (${RANDOM_EVENTS} random events)`, async () => {
  const seed = Date.now() % 2 ** 31;
  const sentAt = Date.now();
  const base = envelope({ practiceId: 'poison-berlin', visitor: visitorOf('edge'), ts: sentAt - DAY });
  const hand: RawEvent[] = [
    ...Object.keys(TIME_ZONES).flatMap((practiceId) => edgeCases({ ...base, practiceId }, sentAt)),
    ...invalidVariants(base, sentAt),
  ];
  // Random events, about one in five broken by a random bound violation.
  const roll = prng(seed);
  const random: RawEvent[] = fc.sample(validEvent(sentAt), { numRuns: RANDOM_EVENTS, seed }).map((event, i) => {
    // Random ids may repeat; the index makes them unique (the variants take ids of their own, starting with d).
    const unique = { ...event, id: `0${i.toString(16).padStart(7, '0')}${event.id.slice(8)}` };
    if (roll() >= 0.2) return { what: 'random valid', raw: unique, valid: unique };
    const variants = invalidVariants(unique, sentAt);
    return variants[Math.floor(roll() * variants.length)]!;
  });
  const messages = [...intoMessages([...hand, ...random], roll), ...UNREADABLE];
  const expectedDead = await produceRaw(producer, config.kafka.topicPrefix, messages);

  // After the poison, one more ordinary page view on each topic: counting it shows the processor is still consuming.
  const after = envelope({
    practiceId: 'poison-berlin',
    visitor: visitorOf('after'),
    ts: sentAt,
    page: '/after-the-poison',
  });
  const topics = topicsFor(config.kafka.topicPrefix);
  await producer.send({
    topic: topics.events.name,
    acks: -1,
    messages: [{ partition: 0, key: after.visitor, value: Buffer.from(JSON.stringify(after)) }],
  });
  const afterBatch = { ...after, id: 'f'.repeat(32), source: 'logs' as const };
  await producer.send({
    topic: topics.eventBatches.name,
    acks: -1,
    messages: [{ partition: 0, key: 'after', value: Buffer.from(JSON.stringify({ v: 1, events: [afterBatch] })) }],
  });

  await eventually(
    () => ledgerCaughtUp(db, admin, config.kafka.topicPrefix, env.PROCESSOR_GROUP_ID!),
    Boolean,
    110_000,
    'ledger caught up',
  );
  await eventually(
    async () => dlq.letters.size,
    (n) => n >= expectedDead.size,
    30_000,
    `${expectedDead.size} dead letters`,
  );
  // The ledger view may be applied a moment before the rollup views of the same insert.
  await new Promise((r) => setTimeout(r, 1000));

  const valid = [...messages.flatMap((m) => m.valid), after, afterBatch];
  const context = `seed ${seed}`;
  expect(await processor.ready(), context).toBe(true);
  expect(valid.length, context).toBeGreaterThan(RANDOM_EVENTS / 2);
  // Every poisoned event is in the dead-letter topic once, with a reason, and nothing else is.
  expect([...dlq.letters.keys()].sort(), context).toEqual([...expectedDead].sort());
  for (const [key, reasons] of dlq.letters) {
    expect(reasons, `${context}: ${key}`).toHaveLength(1);
    expect(reasons[0], `${context}: ${key}`).toMatch(
      /^(invalid envelope|invalid batch|unsupported (envelope|batch) version|not JSON|empty message|unknown practice)/,
    );
  }
  // Exact totals per practice and local day, including the events at the fixed floor and at the upper edge of the window.
  const totals = await totalsByPracticeDay(db);
  expect(nonZero(totals), context).toEqual(nonZero(expectedTotals(valid, TIME_ZONES)));
  const pageviews = valid.filter((e) => e.type === 'pageview' || e.type === 'notfound').length;
  expect(
    Object.values(totals).reduce((n, t) => n + t.pageviews, 0),
    context,
  ).toBe(pageviews);
});

/** A day whose only event is a count-only engagement of 0 ms stores no row: leave all-zero days out on both sides. */
const nonZero = <T extends Record<string, number>>(totals: Record<string, T>) =>
  Object.fromEntries(Object.entries(totals).filter(([, t]) => Object.values(t).some((v) => v !== 0)));
