import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Admin, Producer } from 'kafkajs';
import { PracticeStore, type Db, type EventEnvelope, type ControlDb } from '@confidant/shared';
import { isolatedConfig } from '../support/test-env.ts';
import { eventually, prepareNamespace } from '../support/stack.ts';
import { expectedTotals, generateStream, prng } from '../support/event-stream.ts';
import {
  isReady,
  kafkaFor,
  ledgerCaughtUp,
  processorEnv,
  produceEvents,
  spawnProcessor,
  totalsByPracticeDay,
  visitConsistency,
  type ChildProcessor,
} from '../support/processor-harness.ts';

const config = isolatedConfig('proc-kill');
const env = processorEnv(config);
const TIME_ZONES = { 'kill-ny': 'America/New_York', 'kill-berlin': 'Europe/Berlin', 'kill-tokyo': 'Asia/Tokyo' };
const EVENTS = 20_000;
const KILLS = 10;
let db: Db;
let control: ControlDb;
let cleanup: () => Promise<void>;
let producer: Producer;
let admin: Admin;
let current: ChildProcessor | null = null;

beforeAll(async () => {
  ({ db, control, cleanup } = await prepareNamespace(config));
  const store = new PracticeStore(control);
  for (const [id, timezone] of Object.entries(TIME_ZONES)) {
    await store.save({ id, siteKey: `site-${id}`, name: id, domains: [`${id}.example`], timezone });
  }
  const kafka = kafkaFor(config);
  producer = kafka.producer();
  admin = kafka.admin();
  await Promise.all([producer.connect(), admin.connect()]);
});

afterAll(async () => {
  current?.child.kill('SIGKILL');
  await producer?.disconnect();
  await admin?.disconnect();
  await cleanup?.();
});

it('keeps every count exact across repeated SIGKILLs, with duplicate Kafka messages', async () => {
  const seed = Date.now() % 2 ** 31;
  const random = prng(seed);
  const events = generateStream(random, Object.keys(TIME_ZONES), EVENTS, Date.UTC(2024, 1, 1), 3 * 86_400_000);
  // Chunks produced while the processor is being killed; each chunk repeats a few envelopes of
  // the previous one, as a producer retrying after a lost acknowledgement would.
  const chunks: EventEnvelope[][] = [];
  for (let i = 0; i < events.length; i += 500) {
    const chunk = events.slice(i, i + 500);
    const previous = chunks.at(-1) ?? [];
    chunks.push([
      ...chunk,
      ...Array.from({ length: previous.length ? 15 : 0 }, () => previous[Math.floor(random() * previous.length)]!),
    ]);
  }
  const duplicates = chunks.reduce((n, c) => n + c.length, 0) - events.length;

  let producing = true;
  const production = (async () => {
    for (const chunk of chunks) {
      await produceEvents(producer, config.kafka.topicPrefix, chunk);
      await new Promise((r) => setTimeout(r, 1500));
    }
    producing = false;
  })();

  const kills: Array<{ afterMs: number; wasReady: boolean }> = [];
  for (let k = 0; k < KILLS; k++) {
    current = await spawnProcessor(env);
    // Mostly mid-stream after the join; some before it (odd rounds), while it is still starting up.
    const port = current.port;
    if (k % 2 === 0) await eventually(() => isReady(port), Boolean, 20_000, 'processor ready').catch(() => undefined);
    const afterMs = Math.floor(random() * (k % 2 === 0 ? 2000 : 4000));
    await new Promise((r) => setTimeout(r, afterMs));
    kills.push({ afterMs, wasReady: await isReady(port) });
    current.child.kill('SIGKILL');
    await current.exited;
  }
  await production;
  expect(producing).toBe(false);

  current = await spawnProcessor(env);
  await eventually(
    () => ledgerCaughtUp(db, admin, config.kafka.topicPrefix, env.PROCESSOR_GROUP_ID!),
    Boolean,
    90_000,
    'ledger caught up after the last restart',
  );
  // The ledger view may be applied a moment before the rollup views of the same insert.
  await new Promise((r) => setTimeout(r, 1000));
  console.info(
    `kill test: seed ${seed}, ${events.length} events + ${duplicates} duplicates, kills ${JSON.stringify(kills)}`,
  );
  expect(kills.filter((k) => k.wasReady).length).toBeGreaterThan(0);

  expect(await totalsByPracticeDay(db)).toEqual(expectedTotals(events, TIME_ZONES));
  const visits = await visitConsistency(db);
  expect(visits.entries).toBe(visits.visits);
  expect(visits.exits).toBe(visits.visits);
  expect(visits.negativeRows).toBe(0);
  expect(visits.bounces).toBeLessThanOrEqual(visits.visits);

  current.child.kill('SIGTERM');
  expect(await current.exited).toBe(0);
  current = null;
}, 240_000);
