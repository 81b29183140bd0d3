import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Admin, Producer } from 'kafkajs';
import { PracticeStore, type Db, type ControlDb } from '@confidant/shared';
import type { RunningProcessor } from '@confidant/processor';
import { isolatedConfig } from '../support/test-env.ts';
import { eventually, prepareNamespace } from '../support/stack.ts';
import { expectedTotals, generateStream, prng } from '../support/event-stream.ts';
import {
  kafkaFor,
  ledgerCaughtUp,
  processorEnv,
  produceEvents,
  startInProcess,
  totalsByPracticeDay,
  visitConsistency,
} from '../support/processor-harness.ts';

const config = isolatedConfig('proc-scale');
const env = processorEnv(config);
const TIME_ZONES = { 'scale-la': 'America/Los_Angeles', 'scale-sydney': 'Australia/Sydney' };
let db: Db;
let control: ControlDb;
let cleanup: () => Promise<void>;
let producer: Producer;
let admin: Admin;
const running: RunningProcessor[] = [];

beforeAll(async () => {
  ({ db, control, cleanup } = await prepareNamespace(config));
  for (const [id, timezone] of Object.entries(TIME_ZONES)) {
    await new PracticeStore(control).save({
      id,
      siteKey: `site-${id}`,
      name: id,
      domains: [`${id}.example`],
      timezone,
    });
  }
  const kafka = kafkaFor(config);
  producer = kafka.producer();
  admin = kafka.admin();
  await Promise.all([producer.connect(), admin.connect()]);
});

afterAll(async () => {
  for (const p of running) await p.stop().catch(() => undefined);
  await producer?.disconnect();
  await admin?.disconnect();
  await cleanup?.();
});

const caughtUp = () =>
  eventually(
    () => ledgerCaughtUp(db, admin, config.kafka.topicPrefix, env.PROCESSOR_GROUP_ID!),
    Boolean,
    60_000,
    'ledger caught up',
  );

it('two processors in one group split the partitions and stay exact across rebalances', async () => {
  const events = generateStream(prng(42), Object.keys(TIME_ZONES), 9000, Date.UTC(2024, 5, 1), 2 * 86_400_000);
  const [part1, part2, part3] = [events.slice(0, 3000), events.slice(3000, 6000), events.slice(6000)];

  const first = await startInProcess(env, db, control);
  running.push(first);
  await produceEvents(producer, config.kafka.topicPrefix, part1);
  await caughtUp();

  // A second member joins: the group rebalances and the partitions are split.
  const second = await startInProcess(env, db, control);
  running.push(second);
  const description = await eventually(
    () => admin.describeGroups([env.PROCESSOR_GROUP_ID!]),
    (d) => d.groups[0]?.state === 'Stable' && d.groups[0].members.length === 2,
    30_000,
    'two stable members',
  );
  expect(description.groups[0]!.members).toHaveLength(2);
  const streaming = produceEvents(producer, config.kafka.topicPrefix, part2);
  await streaming;
  await caughtUp();

  // The first member leaves mid-stream: its partitions move to the second.
  const leaving = first.stop();
  await produceEvents(producer, config.kafka.topicPrefix, part3);
  await leaving;
  running.shift();
  await caughtUp();
  await new Promise((r) => setTimeout(r, 1000));

  expect(await totalsByPracticeDay(db)).toEqual(expectedTotals(events, TIME_ZONES));
  const visits = await visitConsistency(db);
  expect([visits.entries, visits.exits]).toEqual([visits.visits, visits.visits]);
  expect(visits.negativeRows).toBe(0);
}, 180_000);
