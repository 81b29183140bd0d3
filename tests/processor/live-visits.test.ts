import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import { LiveVisitsStore, PracticeStore, type ControlDb, type Db } from '@confidant/shared';
import type { RunningProcessor } from '@confidant/processor';
import { isolatedConfig } from '../support/test-env.ts';
import { eventually, prepareNamespace } from '../support/stack.ts';
import {
  envelope,
  kafkaFor,
  processorEnv,
  produceEvents,
  spawnProcessor,
  startInProcess,
  visitorOf,
  type ChildProcessor,
} from '../support/processor-harness.ts';

// "Current visitors": each processor publishes counts of the visits it holds; the store adds up the fresh ones.
const config = isolatedConfig('proc-live');
const env = processorEnv(config);
let db: Db;
let control: ControlDb;
let cleanup: () => Promise<void>;
let producer: Producer;
const running: RunningProcessor[] = [];
let crashing: ChildProcessor | undefined;

beforeAll(async () => {
  ({ db, control, cleanup } = await prepareNamespace(config));
  for (const id of ['live-a', 'live-b', 'live-c', 'live-d']) {
    await new PracticeStore(control).save({
      id,
      siteKey: `site-${id}`,
      name: id,
      domains: [`${id}.example`],
      timezone: 'Europe/Berlin',
    });
  }
  producer = kafkaFor(config).producer();
  await producer.connect();
});

afterAll(async () => {
  crashing?.child.kill('SIGKILL');
  for (const p of running) await p.stop().catch(() => undefined);
  await producer?.disconnect();
  await cleanup?.();
});

/** The current visits of a practice's snippet, read every 50 ms for `ms`. */
async function sampleCurrent(practiceId: string, ms: number): Promise<number[]> {
  const live = new LiveVisitsStore(control);
  const seen: number[] = [];
  for (const until = Date.now() + ms; Date.now() < until;) {
    seen.push((await live.current(practiceId, 'snippet')).openVisits);
    await new Promise((r) => setTimeout(r, 50));
  }
  return seen;
}

it('counts visits active in the last 5 minutes per practice, across two processors, and withdraws on stop', async () => {
  const live = new LiveVisitsStore(control);
  const now = Date.now();
  const page = (practiceId: string, who: string, ago: number) =>
    envelope({ practiceId, visitor: visitorOf(who), ts: now - ago, type: 'pageview', page: '/' });
  const events = [
    // live-a: four visitors now (one with two page views), one whose visit went quiet 20 minutes ago.
    page('live-a', 'a1', 60_000),
    page('live-a', 'a1', 30_000),
    page('live-a', 'a2', 10_000),
    page('live-a', 'a3', 1_000),
    page('live-a', 'a4', 200_000),
    page('live-a', 'quiet', 20 * 60_000),
    // live-b: one visitor now.
    page('live-b', 'b1', 5_000),
  ];
  running.push(await startInProcess(env, db, control, { liveVisitsEveryMs: 300 }));
  running.push(await startInProcess(env, db, control, { liveVisitsEveryMs: 300 }));
  await produceEvents(producer, config.kafka.topicPrefix, events);

  const both = () => Promise.all([live.current('live-a', 'snippet'), live.current('live-b', 'snippet')]);
  const counts = await eventually(both, ([a, b]) => a.openVisits === 4 && b.openVisits === 1, 60_000, 'live counts');
  expect(counts.map((c) => c.openVisits)).toEqual([4, 1]);
  expect((await live.current('live-a', 'logs')).openVisits).toBe(0);

  // Only counts are stored: no row names a visitor.
  const rows = await control.query<Record<string, unknown>>('SELECT * FROM live_visits');
  expect(Object.keys(rows[0]!).sort()).toEqual([
    'instance_id',
    'open_visits',
    'partition_key',
    'practice_id',
    'published_at',
    'source',
  ]);

  // Stopping both withdraws their counts at once, rather than after they go stale.
  for (const p of running.splice(0)) await p.stop();
  expect(await both()).toEqual([
    { openVisits: 0, asOf: null },
    { openVisits: 0, asOf: null },
  ]);
});

it('counts a visit once when a second processor joins and takes over partitions', async () => {
  const live = new LiveVisitsStore(control);
  const page = (who: string) =>
    envelope({ practiceId: 'live-c', visitor: visitorOf(who), ts: Date.now(), type: 'pageview', page: '/' });
  const visitors = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'];
  // The first processor publishes slowly, so its counts from before the rebalance would linger.
  running.push(await startInProcess(env, db, control, { liveVisitsEveryMs: 8_000 }));
  await produceEvents(producer, config.kafka.topicPrefix, visitors.map(page));
  await eventually(
    () => live.current('live-c', 'snippet'),
    (c) => c.openVisits === visitors.length,
    60_000,
    'first',
  );

  const second = await startInProcess(env, db, control, { liveVisitsEveryMs: 200 });
  running.push(second);
  await eventually(() => second.ready(), Boolean, 60_000, 'second processor joined');
  // The same visitors go on: whoever holds their partitions now, each visit is one current visit.
  await produceEvents(producer, config.kafka.topicPrefix, visitors.map(page));
  const seen = await sampleCurrent('live-c', 4_000);
  expect(Math.max(...seen), seen.join(' ')).toBeLessThanOrEqual(visitors.length);
});

it('counts a visit once when a processor crashes and another takes its partitions over', async () => {
  const live = new LiveVisitsStore(control);
  // A short session timeout, so the group notices the crash within seconds, well inside the 90 s
  // for which the crashed member's last counts stay fresh.
  const crashEnv = { ...env, KAFKA_SESSION_TIMEOUT_MS: '6000' };
  const page = (who: string) =>
    envelope({ practiceId: 'live-d', visitor: visitorOf(who), ts: Date.now(), type: 'pageview', page: '/' });
  const visitors = ['d1', 'd2', 'd3', 'd4', 'd5'];
  for (const p of running.splice(0)) await p.stop();
  crashing = await spawnProcessor(crashEnv);
  await produceEvents(producer, config.kafka.topicPrefix, visitors.map(page));
  // Its counts, published on its own half-minute timer, name every visit.
  await eventually(
    () => live.current('live-d', 'snippet'),
    (c) => c.openVisits === visitors.length,
    90_000,
    'crashing processor published',
  );
  crashing.child.kill('SIGKILL');
  await crashing.exited;

  const successor = await startInProcess(crashEnv, db, control, { liveVisitsEveryMs: 200 });
  running.push(successor);
  await eventually(() => successor.ready(), Boolean, 60_000, 'successor joined');
  await produceEvents(producer, config.kafka.topicPrefix, visitors.map(page));
  const seen = await sampleCurrent('live-d', 5_000);
  // The successor holds every visit again, and the crashed member's rows for its partitions are gone.
  expect(seen.at(-1)).toBe(visitors.length);
  expect(Math.max(...seen), seen.join(' ')).toBeLessThanOrEqual(visitors.length);
}, 180_000);
