import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Admin, Producer } from 'kafkajs';
import { PracticeStore, connectClickHouse, type Db, type ControlDb } from '@confidant/shared';
import type { RunningProcessor } from '@confidant/processor';
import { isolatedConfig } from '../support/test-env.ts';
import { eventually, prepareNamespace } from '../support/stack.ts';
import { expectedTotals, generateStream, prng } from '../support/event-stream.ts';
import {
  freePort,
  kafkaFor,
  ledgerCaughtUp,
  processorEnv,
  produceEvents,
  startInProcess,
  totalsByPracticeDay,
} from '../support/processor-harness.ts';

const config = isolatedConfig('proc-outage');
const TIME_ZONES = { 'outage-chicago': 'America/Chicago' };
let db: Db;
let control: ControlDb;
let cleanup: () => Promise<void>;
let producer: Producer;
let admin: Admin;
let processor: RunningProcessor | null = null;

/** A TCP proxy to ClickHouse that the test can cut, without touching the shared server. */
class CuttableProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  constructor(
    readonly port: number,
    private readonly target: URL,
  ) {}

  async open(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(Number(this.target.port), this.target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}

let proxy: CuttableProxy;

beforeAll(async () => {
  ({ db, control, cleanup } = await prepareNamespace(config));
  await new PracticeStore(control).save({
    id: 'outage-chicago',
    siteKey: 'site-outage',
    name: 'Outage',
    domains: ['outage.example'],
    timezone: 'America/Chicago',
  });
  const kafka = kafkaFor(config);
  producer = kafka.producer();
  admin = kafka.admin();
  await Promise.all([producer.connect(), admin.connect()]);
  proxy = new CuttableProxy(await freePort(), new URL(config.clickhouse.url));
  await proxy.open();
});

afterAll(async () => {
  await processor?.stop();
  await proxy?.cut();
  await producer?.disconnect();
  await admin?.disconnect();
  await cleanup?.();
});

it('pauses while ClickHouse is unreachable, retries with backoff and loses nothing', async () => {
  const env = processorEnv(config, { CLICKHOUSE_URL: `http://127.0.0.1:${proxy.port}` });
  const viaProxy = connectClickHouse({ ...config.clickhouse, url: env.CLICKHOUSE_URL! });
  processor = await startInProcess(env, viaProxy, control);
  const metrics = processor.metrics;
  const events = generateStream(prng(7), Object.keys(TIME_ZONES), 6000, Date.UTC(2024, 9, 1), 86_400_000);
  const caughtUp = () =>
    eventually(
      () => ledgerCaughtUp(db, admin, config.kafka.topicPrefix, env.PROCESSOR_GROUP_ID!),
      Boolean,
      90_000,
      'ledger caught up',
    );

  await produceEvents(producer, config.kafka.topicPrefix, events.slice(0, 2000));
  await caughtUp();

  await proxy.cut();
  await produceEvents(producer, config.kafka.topicPrefix, events.slice(2000));
  // The first ClickHouse call of the next batch fails (loading its import lines, or the insert): the consumer pauses.
  await eventually(
    async () => (await metrics.paused.get()).values[0]?.value ?? 0,
    (n) => n === 1,
    30_000,
    'the consumer paused',
  );
  expect(await processor.ready()).toBe(false);
  // Stays down for a while: the processor keeps retrying (backoff capped at 10 s) without losing its batch.
  await new Promise((r) => setTimeout(r, 20_000));
  expect(await ledgerCaughtUp(db, admin, config.kafka.topicPrefix, env.PROCESSOR_GROUP_ID!)).toBe(false);

  await proxy.open();
  await caughtUp();
  await new Promise((r) => setTimeout(r, 1000));
  expect((await metrics.paused.get()).values[0]?.value).toBe(0);
  expect(await totalsByPracticeDay(db)).toEqual(expectedTotals(events, TIME_ZONES));
  const text = await metrics.registry.metrics();
  expect(text).toMatch(/confidant_processor_lag\{topic="[^"]+",partition="\d"\} \d+/);
  expect(text).toMatch(/confidant_processor_insert_seconds_count \d+/);
  await processor.stop();
  processor = null;
  await viaProxy.close();
}, 180_000);
