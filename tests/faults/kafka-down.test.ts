import { PracticeStore, type CommonConfig, type Db, type ControlDb } from '@confidant/shared';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, prepareNamespace } from '../support/stack.ts';
import { isolatedConfig } from '../support/test-env.ts';
import { faults } from './faults.config.ts';
import {
  removeSpool,
  reportedTotals,
  reporterFor,
  startCollector,
  steadyBeacons,
  sumOf,
  superviseProcessor,
  aroundToday,
  type Collector,
  type SupervisedProcessor,
} from './support/pipeline.ts';
import { PrivateKafka } from './support/private-kafka.ts';
import { recordScenario, tally } from './support/summary.ts';

/**
 * Kafka down: the broker (a private one) is really stopped for a while under steady beacon
 * load. The collector answers 202 (spooled) or 503 + Retry-After, never anything else; after
 * the restart every acknowledged event is counted exactly once.
 */
const kafka = new PrivateKafka();
let config: CommonConfig;
let db: Db;
let control: ControlDb;
let cleanup: () => Promise<void>;
let collector: Collector | null = null;
let processor: SupervisedProcessor | null = null;
let reporter: FastifyInstance;

// The processor runs supervised: when the broker is away longer than kafkajs retries, its consumer
// stops for good and the process exits by design, to be restarted (and resume from its ledger).
describe('Kafka down', () => {
  beforeAll(async () => {
    await kafka.start();
    const base = isolatedConfig('flt-kafka');
    config = { ...base, kafka: { ...base.kafka, brokers: kafka.brokers } };
    ({ db, control, cleanup } = await prepareNamespace(config));
    await new PracticeStore(control).save({
      id: 'kafka-down',
      siteKey: 'site-kafka-down',
      name: 'Kafka Down',
      domains: ['kafka-down.example'],
      timezone: 'UTC',
    });
    collector = await startCollector(config);
    processor = await superviseProcessor(config);
    reporter = await reporterFor(config, db, control);
  }, 240_000);

  afterAll(async () => {
    await collector?.stop();
    await removeSpool(collector?.spoolDir);
    await processor?.stop();
    await reporter?.close();
    await kafka.start().catch(() => undefined);
    await cleanup?.();
    await kafka.stop();
  }, 120_000);

  it('spools while the broker is stopped and counts every acknowledged event exactly once after its restart', async () => {
    let loading = true;
    const load = steadyBeacons(
      () => collector!.url,
      'site-kafka-down',
      'kafka-down.example',
      faults.beaconsPerSecond,
      () => !loading,
    );
    await new Promise((r) => setTimeout(r, 3000));
    const stoppedAt = Date.now();
    await kafka.stop();
    await new Promise((r) => setTimeout(r, Math.max(0, faults.kafkaOutageMs - (Date.now() - stoppedAt))));
    const metricsDuring = await (await fetch(`${collector!.url}/metrics`)).text();
    await kafka.start();
    const downMs = Date.now() - stoppedAt;
    await new Promise((r) => setTimeout(r, 5000));
    loading = false;
    const result = await load;

    // Only 202 or 503 + Retry-After while the broker was away; the collector process never died.
    expect(result.other).toEqual({});
    expect(result.unanswered).toBe(0);
    expect(result.retryAfterMissing).toBe(0);
    expect(collector!.child.exitCode).toBeNull();
    const spooled = Number(/collector_events_spooled_total\{topic="events"\} (\d+)/.exec(metricsDuring)?.[1] ?? 0);
    expect(spooled).toBeGreaterThan(0);

    const { from, to } = aroundToday();
    const expected = { 'kafka-down pageviews': result.accepted };
    const counted = await eventually(
      async () => ({
        'kafka-down pageviews': sumOf(await reportedTotals(reporter, ['kafka-down'], from, to), 'pageviews'),
      }),
      (c) => c['kafka-down pageviews'] >= result.accepted,
      180_000,
      'every acknowledged beacon counted',
    );
    // Give a late duplicate the time to show up before judging.
    await new Promise((r) => setTimeout(r, 3000));
    const final = {
      'kafka-down pageviews': sumOf(await reportedTotals(reporter, ['kafka-down'], from, to), 'pageviews'),
    };
    expect(final).toEqual(counted);
    const t = tally(expected, final);
    expect(t).toMatchObject({ lost: 0, duplicated: 0 });

    // Negative control: the same comparison against the stream with one event removed, or one duplicated, must fail.
    expect(tally({ 'kafka-down pageviews': result.accepted - 1 }, final)).toMatchObject({ lost: 0, duplicated: 1 });
    expect(tally({ 'kafka-down pageviews': result.accepted + 1 }, final)).toMatchObject({ lost: 1, duplicated: 0 });

    recordScenario({
      scenario: 'kafka down',
      sent: result.sent,
      accepted: result.accepted,
      counted: t.counted,
      lost: t.lost,
      duplicated: t.duplicated,
      notes: `broker stopped ${Math.round(downMs / 1000)} s at ${faults.beaconsPerSecond}/s; ${spooled} spooled, ${result.refused} × 503; processor restarted ${processor!.restarts()} ×`,
    });
  }, 600_000);
});
