import type { CommonConfig, Db } from '@confidant/shared';
import type { FastifyInstance } from 'fastify';
import type { Admin, Producer } from 'kafkajs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateStream, prng } from '../support/event-stream.ts';
import { ledgerCaughtUp, produceEvents } from '../support/processor-harness.ts';
import type { ServiceProcess } from '../support/service-process.ts';
import { eventually } from '../support/stack.ts';
import { faults } from './faults.config.ts';
import { dayRange, expectedFor, withOneMore, withoutOne } from './support/known-stream.ts';
import { proxiedScenario, reportedTotals, rssBytes, startProcessor, type ProxiedScenario } from './support/pipeline.ts';
import { flatten, recordScenario, tally } from './support/summary.ts';
import { TcpProxy } from './support/tcp-proxy.ts';

/**
 * ClickHouse down, then slow: the processor reaches ClickHouse through a proxy that first
 * refuses every connection, then delays every chunk. The processor pauses consumption (its
 * memory stays bounded), resumes, and the totals come out exact.
 */
const TIME_ZONES = { 'ch-chicago': 'America/Chicago', 'ch-sydney': 'Australia/Sydney' };
const START = Date.UTC(2024, 9, 1);
const SPAN = 2 * 86_400_000;
const RSS_CEILING = 400 * 2 ** 20;
let processor: (ServiceProcess & { port: number }) | null = null;
let scenario: ProxiedScenario;
let config: CommonConfig;
let db: Db;
let producer: Producer;
let admin: Admin;
let proxy: TcpProxy;
let reporter: FastifyInstance;

beforeAll(async () => {
  scenario = await proxiedScenario('flt-chdown', TIME_ZONES);
  ({ config, db, producer, admin, proxy, reporter } = scenario);
}, 120_000);

afterAll(async () => {
  await processor?.stop();
  await scenario?.close();
}, 120_000);

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
}

it('pauses while ClickHouse is down, crawls while it is slow, stays within its memory ceiling and loses nothing', async () => {
  const seed = Date.now() % 2 ** 31;
  const events = generateStream(
    prng(seed),
    Object.keys(TIME_ZONES),
    Math.min(faults.processorEvents, 30_000),
    START,
    SPAN,
  );
  const third = Math.floor(events.length / 3);
  const groupId = `faults-ch-${seed}`;
  processor = await startProcessor(config, { CLICKHOUSE_URL: proxy.url, PROCESSOR_GROUP_ID: groupId });
  const port = processor.port;
  const caughtUp = () => ledgerCaughtUp(db, admin, config.kafka.topicPrefix, groupId);
  let maxRss = 0;
  const sampler = setInterval(() => (maxRss = Math.max(maxRss, rssBytes(processor!.child.pid!))), 250);

  await produceEvents(producer, config.kafka.topicPrefix, events.slice(0, third));
  await eventually(caughtUp, Boolean, 120_000, 'first third applied');

  // Down: every connection refused for the outage, while the rest of the stream arrives in Kafka.
  const downAt = Date.now();
  await proxy.cut();
  await produceEvents(producer, config.kafka.topicPrefix, events.slice(third, 2 * third));
  // The first ClickHouse call of the next batch fails (loading its import lines, or the insert): the consumer pauses.
  await eventually(
    () => metric(port, 'confidant_processor_paused'),
    (n) => n === 1,
    60_000,
    'the consumer paused',
  );
  await new Promise((r) => setTimeout(r, Math.max(0, faults.clickhouseOutageMs - (Date.now() - downAt))));
  expect(await caughtUp()).toBe(false);
  expect(processor.child.exitCode).toBeNull();
  await proxy.open();
  const downMs = Date.now() - downAt;
  await eventually(caughtUp, Boolean, 180_000, 'caught up after the outage');
  expect(await metric(port, 'confidant_processor_paused')).toBe(0);

  // Slow: every chunk in both directions held back, under fresh load.
  proxy.delayMs = 400;
  await produceEvents(producer, config.kafka.topicPrefix, events.slice(2 * third));
  await new Promise((r) => setTimeout(r, faults.clickhouseSlowMs));
  proxy.delayMs = 0;
  await eventually(caughtUp, Boolean, 180_000, 'caught up after the slow period');
  clearInterval(sampler);
  await new Promise((r) => setTimeout(r, 1500));

  const { from, to } = dayRange(START, SPAN);
  const counted = flatten(await reportedTotals(reporter, Object.keys(TIME_ZONES), from, to));
  const t = tally(expectedFor(events, TIME_ZONES), counted);
  expect(t).toMatchObject({ lost: 0, duplicated: 0 });
  expect(tally(expectedFor(withoutOne(events), TIME_ZONES), counted)).toMatchObject({ lost: 0, duplicated: 1 });
  expect(tally(expectedFor(withOneMore(events), TIME_ZONES), counted)).toMatchObject({ lost: 1, duplicated: 0 });
  expect(maxRss).toBeLessThan(RSS_CEILING);

  const countable = (totals: Record<string, number>) =>
    Object.entries(totals)
      .filter(([k]) => !k.endsWith('engaged_ms'))
      .reduce((n, [, v]) => n + v, 0);
  recordScenario({
    scenario: 'clickhouse down / slow',
    sent: events.length,
    accepted: countable(expectedFor(events, TIME_ZONES)),
    counted: countable(counted),
    lost: t.lost,
    duplicated: t.duplicated,
    notes: `down ${Math.round(downMs / 1000)} s, then +400 ms per chunk for ${faults.clickhouseSlowMs / 1000} s; processor RSS ≤ ${Math.round(maxRss / 2 ** 20)} MB (ceiling ${RSS_CEILING / 2 ** 20})`,
  });
}, 900_000);
