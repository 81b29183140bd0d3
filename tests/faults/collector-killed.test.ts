import { PracticeStore, type CommonConfig, type Db, type ControlDb } from '@confidant/shared';
import type { FastifyInstance } from 'fastify';
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from '../support/processor-harness.ts';
import type { ServiceProcess } from '../support/service-process.ts';
import { eventually, prepareNamespace } from '../support/stack.ts';
import { isolatedConfig } from '../support/test-env.ts';
import { faults } from './faults.config.ts';
import {
  aroundToday,
  removeSpool,
  reportedTotals,
  reporterFor,
  startCollector,
  startProcessor,
  steadyBeacons,
  sumOf,
  type Collector,
} from './support/pipeline.ts';
import { boundedTally, recordScenario } from './support/summary.ts';

/**
 * Collector killed: with Kafka unreachable every accepted beacon is in the disk spool. The
 * collector is SIGKILLed under load several times and restarted on the same spool; the last
 * restart can reach Kafka and replays the spool. Every acknowledged (202) event is counted;
 * a request cut by the kill may or may not have been made durable, so it may count once, never twice.
 */
let config: CommonConfig;
let db: Db;
let control: ControlDb;
let cleanup: () => Promise<void>;
let collector: Collector | null = null;
let processor: ServiceProcess | null = null;
let reporter: FastifyInstance;

beforeAll(async () => {
  config = isolatedConfig('flt-colkill');
  ({ db, control, cleanup } = await prepareNamespace(config));
  await new PracticeStore(control).save({
    id: 'collector-kill',
    siteKey: 'site-collector-kill',
    name: 'Collector Kill',
    domains: ['collector-kill.example'],
    timezone: 'UTC',
  });
  processor = await startProcessor(config);
  reporter = await reporterFor(config, db, control);
}, 240_000);

afterAll(async () => {
  collector?.child.kill('SIGKILL');
  await removeSpool(collector?.spoolDir);
  await processor?.stop();
  await reporter?.close();
  await cleanup?.();
}, 120_000);

it('replays the spool after SIGKILLs under load; acknowledged events survive, none counts twice', async () => {
  const port = await freePort();
  const spoolDir = `${faults.root}.data/spool/${config.kafka.topicPrefix}`;
  // A closed port stands in for an unreachable Kafka: every event goes through the fsynced spool.
  const offline = { KAFKA_BROKERS: '127.0.0.1:1', SPOOL_DIR: spoolDir };
  collector = await startCollector(config, offline, port);
  let loading = true;
  const load = steadyBeacons(
    () => collector!.url,
    'site-collector-kill',
    'collector-kill.example',
    faults.beaconsPerSecond,
    () => !loading,
  );
  const kills: number[] = [];
  for (let k = 0; k < faults.collectorKills; k++) {
    const afterMs = Math.floor(faults.collectorLoadMs / 2 + Math.random() * faults.collectorLoadMs);
    await new Promise((r) => setTimeout(r, afterMs));
    collector.child.kill('SIGKILL');
    await new Promise((r) => collector!.child.once('exit', r));
    kills.push(afterMs);
    expect((await readdir(spoolDir)).length).toBeGreaterThan(0);
    collector = await startCollector(config, offline, port);
  }
  await new Promise((r) => setTimeout(r, 2000));
  loading = false;
  const result = await load;
  expect(result.other).toEqual({});
  expect(result.retryAfterMissing).toBe(0);

  // Restart with Kafka reachable: the spool is replayed and emptied.
  await collector.stop();
  collector = await startCollector(config, { SPOOL_DIR: spoolDir }, port);
  await eventually(
    async () => (await readdir(spoolDir)).filter((f) => f.endsWith('.spool')).length,
    (n) => n === 0,
    60_000,
    'spool replayed',
  );

  const { from, to } = aroundToday();
  const countNow = async () => sumOf(await reportedTotals(reporter, ['collector-kill'], from, to), 'pageviews');
  await eventually(countNow, (n) => n >= result.accepted, 120_000, 'every acknowledged beacon counted');
  await new Promise((r) => setTimeout(r, 3000));
  const counted = await countNow();
  // Requests cut by a kill (`unanswered`) may have been made durable just before it: they may count once.
  const t = boundedTally(result.accepted, result.unanswered, counted);
  expect(t).toMatchObject({ lost: 0, duplicated: 0 });
  // Negative control: one acknowledged event missing, or one counted beyond the bound, is reported.
  expect(boundedTally(result.accepted, result.unanswered, result.accepted - 1)).toMatchObject({
    lost: 1,
    duplicated: 0,
  });
  expect(boundedTally(result.accepted, result.unanswered, result.accepted + result.unanswered + 1)).toMatchObject({
    lost: 0,
    duplicated: 1,
  });

  recordScenario({
    scenario: 'collector killed',
    sent: result.sent,
    accepted: result.accepted,
    counted,
    lost: t.lost,
    duplicated: t.duplicated,
    notes: `${kills.length} × SIGKILL while spooling; ${result.unanswered} cut mid-request, ${result.notConnected} refused while down`,
  });
}, 600_000);
