import type { CommonConfig, Db } from '@confidant/shared';
import type { FastifyInstance } from 'fastify';
import type { Admin, Producer } from 'kafkajs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateStream, prng } from '../support/event-stream.ts';
import {
  intoMessages,
  invalidVariants,
  produceRaw,
  readDeadLetters,
  UNREADABLE,
  type DeadLetterReader,
  type RawEvent,
} from '../support/poison-stream.ts';
import { kafkaFor, ledgerCaughtUp, produceEvents } from '../support/processor-harness.ts';
import type { ServiceProcess } from '../support/service-process.ts';
import { eventually } from '../support/stack.ts';
import { faults } from './faults.config.ts';
import { dayRange, expectedFor, withOneMore, withoutOne } from './support/known-stream.ts';
import { proxiedScenario, reportedTotals, startProcessor, type ProxiedScenario } from './support/pipeline.ts';
import { flatten, recordScenario, tally } from './support/summary.ts';

/**
 * Poison events (issue #12): a stream in which one event in ten breaks a bound of the envelope
 * (year 1000 or 9999, a ts string, huge engaged time, over-long labels, an unknown practice, …),
 * with unreadable messages and batches mixing good and bad events, produced raw past every
 * producer-side check. The real processor process must never exit, dead-letter each poisoned
 * event with a reason, and count every other one exactly once, as the reporter shows.
 */
const TIME_ZONES = { 'poison-ny': 'America/New_York', 'poison-tokyo': 'Asia/Tokyo' };
const EVENTS = faults.mode === 'full' ? 50_000 : 5000;
const DAY = 86_400_000;
let scenario: ProxiedScenario;
let config: CommonConfig;
let db: Db;
let producer: Producer;
let admin: Admin;
let reporter: FastifyInstance;
let dlq: DeadLetterReader;
let processor: (ServiceProcess & { port: number }) | null = null;

beforeAll(async () => {
  scenario = await proxiedScenario('flt-poison', TIME_ZONES);
  ({ config, db, producer, admin, reporter } = scenario);
  dlq = await readDeadLetters(kafkaFor(config), config.kafka.topicPrefix);
}, 120_000);

afterAll(async () => {
  processor?.child.kill('SIGKILL');
  await dlq?.stop();
  await scenario?.close();
}, 120_000);

it(`counts every valid event once and dead-letters every poisoned one, without the processor exiting (${EVENTS} events)`, async () => {
  const seed = Date.now() % 2 ** 31;
  const random = prng(seed);
  const sentAt = Date.now();
  const start = sentAt - 3 * DAY;
  const span = 2 * DAY;
  const stream = generateStream(random, Object.keys(TIME_ZONES), EVENTS, start, span);
  const events: RawEvent[] = stream.map((e) => {
    if (random() >= 0.1) return { what: 'valid', raw: e, valid: e };
    const variants = invalidVariants(e, sentAt);
    return variants[Math.floor(random() * variants.length)]!;
  });
  const messages = [...intoMessages(events, random), ...UNREADABLE];
  const poisoned = events.filter((e) => !e.valid).length;

  // The real process; the ledger makes a restart exact, so only an exit would show the crash loop of issue #12.
  const env = { PROCESSOR_GROUP_ID: `faults-poison-${seed}` };
  processor = await startProcessor(config, env);
  const expectedDead = await produceRaw(producer, config.kafka.topicPrefix, messages);
  // Ordinary traffic after the poison must still be counted.
  const after = generateStream(random, Object.keys(TIME_ZONES), 200, sentAt - DAY, DAY / 2);
  await produceEvents(producer, config.kafka.topicPrefix, after);

  const current = processor;
  await eventually(
    () => ledgerCaughtUp(db, admin, config.kafka.topicPrefix, env.PROCESSOR_GROUP_ID),
    Boolean,
    faults.mode === 'full' ? 600_000 : 120_000,
    'ledger caught up',
  ).catch((error: Error) => {
    throw new Error(`${error.message}\nprocessor output:\n${current.output().slice(-8000)}`);
  });
  await eventually(
    async () => dlq.letters.size,
    (n) => n >= expectedDead.size,
    30_000,
    `${expectedDead.size} dead letters`,
  );
  // The ledger view may be applied a moment before the rollup views of the same insert.
  await new Promise((r) => setTimeout(r, 1500));

  const context = `seed ${seed}`;
  expect(current.child.exitCode, `${context}: ${current.output().slice(-4000)}`).toBeNull();
  expect([...dlq.letters.keys()].sort(), context).toEqual([...expectedDead].sort());
  expect(
    [...dlq.letters.values()].every((reasons) => reasons.length === 1 && reasons[0] !== ''),
    context,
  ).toBe(true);

  const valid = [...events.flatMap((e) => (e.valid ? [e.valid] : [])), ...after];
  const { from, to } = dayRange(start, span + DAY);
  const counted = flatten(await reportedTotals(reporter, Object.keys(TIME_ZONES), from, to));
  const t = tally(expectedFor(valid, TIME_ZONES), counted);
  expect(t, context).toMatchObject({ lost: 0, duplicated: 0 });
  // Negative control: against the stream with one event removed, or one added, the same check fails.
  expect(tally(expectedFor(withoutOne(valid), TIME_ZONES), counted)).toMatchObject({ lost: 0, duplicated: 1 });
  expect(tally(expectedFor(withOneMore(valid), TIME_ZONES), counted)).toMatchObject({ lost: 1, duplicated: 0 });

  await current.stop();
  processor = null;
  // Engagement events add to engaged_ms, not to a count: the table shows counted page views + events.
  const countable = (totals: Record<string, number>) =>
    Object.entries(totals)
      .filter(([k]) => !k.endsWith('engaged_ms'))
      .reduce((n, [, v]) => n + v, 0);
  recordScenario({
    scenario: 'poison events',
    sent: events.length + after.length + UNREADABLE.length,
    accepted: countable(expectedFor(valid, TIME_ZONES)),
    counted: countable(counted),
    lost: t.lost,
    duplicated: t.duplicated,
    notes: `${poisoned} poisoned envelopes and ${UNREADABLE.length} unreadable messages raw to both topics, ${expectedDead.size} dead letters with reasons; processor never exited`,
  });
}, 1_800_000);
