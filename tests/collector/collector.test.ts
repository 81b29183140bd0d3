import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import {
  buildApp,
  loadCollectorConfig,
  type CollectorConfig,
  ClickHouseSaltStore,
  DiskSpool,
  BEACON_EVENTS,
  EventProducer,
  KafkaTransport,
  createMetrics,
  PracticeRegistry,
} from '@confidant/collector/components';
import {
  connectKafka,
  createLogger,
  decodeEvent,
  PracticeStore,
  topicsFor,
  type CommonConfig,
  type Db,
  type EventEnvelope,
  type ControlDb,
} from '@confidant/shared';
import type { FastifyInstance } from 'fastify';
import type { Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, prepareNamespace } from '../support/stack.ts';
import { isolatedConfig } from '../support/test-env.ts';

// Canaries: identifying values planted in every field and header. None may reach Kafka, the spool or the logs.
const CANARY = {
  ip: '81.2.69.142',
  ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Canary7731',
  email: 'canary.person@example.net',
  phone: '555-867-5309',
  cookie: 'c0ffeec0ffeec0ffeec0ffeec0ffee77',
  name: 'Jane Canaryface',
};
const CANARY_STRINGS = [
  CANARY.ip,
  'Canary7731',
  CANARY.email,
  'canary.person',
  '867-5309',
  '8675309',
  CANARY.cookie,
  'Canaryface',
];

const logChunks: string[] = [];
const logs = new Writable({
  write(chunk, _enc, done) {
    logChunks.push(String(chunk));
    done();
  },
});
const logger = createLogger('collector', 'debug', logs);

let common: CommonConfig;
let saltDb: Db;
let control: ControlDb;
let cleanup: () => Promise<void>;
let consumer: Consumer;
const received: Array<{ raw: string; event: EventEnvelope }> = [];
const spoolDirs: string[] = [];

async function startCollector(
  brokers: string[],
  spoolDir: string,
): Promise<{ app: FastifyInstance; producer: EventProducer<EventEnvelope>; config: CollectorConfig }> {
  const config: CollectorConfig = {
    ...loadCollectorConfig({}),
    ...common,
    kafka: { ...common.kafka, brokers },
    trustedProxies: ['127.0.0.1/32'],
    spool: { dir: spoolDir, maxBytes: 1_000_000, replayMs: 200 },
    producer: { lingerMs: 5, batchSize: 100, timeoutMs: 1500 },
  };
  const metrics = createMetrics();
  const registry = new PracticeRegistry(new PracticeStore(control), logger);
  await registry.refresh();
  const producer = new EventProducer(
    new KafkaTransport(connectKafka(config.kafka, logger), topicsFor(config.kafka.topicPrefix).events.name),
    new DiskSpool(spoolDir, config.spool.maxBytes),
    { ...config.producer, replayMs: config.spool.replayMs },
    metrics,
    logger,
    BEACON_EVENTS,
  );
  await producer.start();
  const app = await buildApp({
    config,
    logger,
    registry,
    salts: new ClickHouseSaltStore(saltDb),
    sink: producer,
    metrics,
  });
  return { app, producer, config };
}

const headers = {
  'user-agent': CANARY.ua,
  'accept-language': 'en-US',
  'content-type': 'text/plain',
  'x-forwarded-for': CANARY.ip,
  cookie: `cf_id=${CANARY.cookie}; session=${CANARY.email}`,
  referer: `https://clinic.example/contact/${CANARY.email}`,
};

/** Page views carrying canaries in every beacon field. */
function canaryBeacons(tag: string) {
  return [
    {
      site: 'site-canary',
      type: 'pageview',
      url: `https://clinic.example/${tag}/${CANARY.email}/${CANARY.phone}?utm_source=${CANARY.email}&email=${CANARY.email}&utm_medium=${encodeURIComponent(CANARY.phone)}#${CANARY.name}`,
      referrer: `https://search.example.com/q?who=${CANARY.email}&ip=${CANARY.ip}`,
      width: 1280,
    },
    {
      site: 'site-canary',
      type: 'engagement',
      url: `https://clinic.example/${tag}/${encodeURIComponent(CANARY.email)}`,
      referrer: `https://clinic.example/${CANARY.phone}`,
      engagedMs: 4200,
    },
    {
      site: 'site-canary',
      type: 'outbound',
      url: `https://clinic.example/${tag}`,
      target: `https://maps.example.org/route/${CANARY.email}?to=${CANARY.phone}`,
    },
    {
      site: 'site-canary',
      type: 'download',
      url: `https://clinic.example/${tag}`,
      target: `https://clinic.example/files/${CANARY.phone}/${CANARY.email}.pdf`,
    },
    {
      site: 'site-canary',
      type: 'event',
      url: `https://clinic.example/${tag}?name=${CANARY.name}`,
      name: 'Newsletter signup',
    },
  ];
}

beforeAll(async () => {
  common = isolatedConfig('collector');
  ({ salts: saltDb, control, cleanup } = await prepareNamespace(common));
  await new PracticeStore(control).save({
    id: 'canary-clinic',
    siteKey: 'site-canary',
    name: 'Canary Clinic',
    domains: ['clinic.example'],
    timezone: 'UTC',
  });
  consumer = connectKafka(common.kafka, createLogger('test', 'silent')).consumer({
    groupId: `${common.kafka.topicPrefix}.reader`,
  });
  await consumer.connect();
  await consumer.subscribe({ topic: topicsFor(common.kafka.topicPrefix).events.name, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const raw = `${message.key?.toString() ?? ''}\n${message.value?.toString() ?? ''}`;
      const decoded = decodeEvent(message.value);
      if (!decoded.ok) throw new Error(decoded.reason);
      received.push({ raw, event: decoded.event });
    },
  });
});

afterAll(async () => {
  await consumer?.disconnect();
  await cleanup?.();
  await Promise.all(spoolDirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function tempSpool(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'collector-spool-'));
  spoolDirs.push(dir);
  return dir;
}

describe('collector through real Kafka', () => {
  it('produces de-identified envelopes keyed per practice and visitor, with no planted identifier anywhere', async () => {
    const { app, producer } = await startCollector(common.kafka.brokers, await tempSpool());
    for (const body of canaryBeacons('live')) {
      const res = await app.inject({ method: 'POST', url: '/e', headers, body: JSON.stringify(body) });
      expect(res.statusCode, res.body).toBe(202);
    }
    await eventually(
      async () => received.filter((r) => r.event.page.startsWith('/live')).length,
      (n) => n >= 5,
      30_000,
      'five live events',
    );
    const live = received.filter((r) => r.event.page.startsWith('/live'));
    expect(live.map((r) => r.event.type).sort()).toEqual(['download', 'engagement', 'event', 'outbound', 'pageview']);
    const view = live.find((r) => r.event.type === 'pageview')!.event;
    expect(view).toMatchObject({
      page: '/live/:email/:phone',
      utmSource: ':email',
      utmMedium: ':phone',
      // One visitor: the rare-value gate holds the referring site back (reduced to `example.com`, which the
      // corpus judges from k visitors, tests/corpus/corpus.test.ts `hosts`).
      referrerDomain: '(rare)',
      country: 'GB',
      browser: 'Chrome',
      os: 'Windows',
      device: 'desktop',
    });
    // Outbound targets are reduced to the registrable domain (issue 16).
    expect(live.find((r) => r.event.type === 'outbound')!.event.target).toBe('example.org');
    expect(live.find((r) => r.event.type === 'download')!.event.target).toBe('/files/:phone/:email');
    // The country comes from X-Forwarded-For (the peer is a trusted proxy), not from the socket.
    // One visitor, one key: all of a visitor's events of the day land on one partition.
    expect(new Set(live.map((r) => r.event.visitor)).size).toBe(1);
    for (const { raw } of live) for (const canary of CANARY_STRINGS) expect(raw).not.toContain(canary);
    await app.close();
    await producer.close();
  });

  it('spools an event accepted while Kafka is unreachable and delivers it once Kafka is back', async () => {
    const spoolDir = await tempSpool();
    // A broker list pointing at a closed port stands in for a Kafka outage without stopping the shared broker.
    const down = await startCollector(['127.0.0.1:1'], spoolDir);
    expect((await down.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    for (const body of canaryBeacons('outage')) {
      expect(
        (await down.app.inject({ method: 'POST', url: '/e', headers, body: JSON.stringify(body) })).statusCode,
      ).toBe(202);
    }
    const files = await readdir(spoolDir);
    expect(files.length).toBeGreaterThan(0);
    const spooled = (await Promise.all(files.map((f) => readFile(join(spoolDir, f), 'utf8')))).join('');
    expect(spooled).toContain('/outage');
    for (const canary of CANARY_STRINGS) expect(spooled).not.toContain(canary);
    await down.app.close();
    await down.producer.close();
    expect(received.filter((r) => r.event.page.startsWith('/outage'))).toHaveLength(0);

    // The collector restarts with Kafka reachable: the spool is replayed and emptied.
    const up = await startCollector(common.kafka.brokers, spoolDir);
    await eventually(
      async () => received.filter((r) => r.event.page.startsWith('/outage')).length,
      (n) => n >= 5,
      30_000,
      'spooled events delivered',
    );
    await eventually(
      async () => (await readdir(spoolDir)).filter((f) => f.endsWith('.spool')).length,
      (n) => n === 0,
      10_000,
      'spool emptied',
    );
    expect((await up.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    await up.app.close();
    await up.producer.close();
  });

  it('writes no planted identifier to the logs', () => {
    const text = logChunks.join('');
    expect(text.length).toBeGreaterThan(0);
    for (const canary of CANARY_STRINGS) expect(text).not.toContain(canary);
  });
});
