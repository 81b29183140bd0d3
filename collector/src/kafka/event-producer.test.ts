import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, decodeEventBatch, type EventEnvelope } from '@confidant/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../metrics.ts';
import { DiskSpool, type SpoolRecord } from './disk-spool.ts';
import {
  BEACON_EVENTS,
  EventProducer,
  LOG_EVENT_BATCHES,
  MAX_SEND_BYTES,
  sendGroups,
  SpoolFullError,
  type EventTransport,
} from './event-producer.ts';
import { testEnvelope } from '@confidant/shared/testing';

class FakeKafka implements EventTransport {
  up = true;
  sent: SpoolRecord[] = [];
  batches = 0;
  async connect() {
    if (!this.up) throw new Error('broker down');
  }
  sends: SpoolRecord[][] = [];
  async send(records: SpoolRecord[]) {
    if (!this.up) throw new Error('broker down');
    this.batches++;
    this.sends.push(records);
    this.sent.push(...records);
  }
  async close() {}
}

// Inside the producer's window (800 days back) whenever the test runs.
const event = (n: number): EventEnvelope =>
  testEnvelope({
    id: n.toString(16).padStart(32, '0'),
    practiceId: 'p1',
    ts: Date.now() - 3_600_000 + n,
    page: `/p${n}`,
    country: 'ZZ',
    browser: 'Chrome',
  });
const pages = (records: SpoolRecord[]) => records.map((r) => JSON.parse(r.v).page);
const options = { lingerMs: 2, batchSize: 10, timeoutMs: 200, replayMs: 60_000 };

describe('EventProducer', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spool-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const make = async (kafka: FakeKafka, maxBytes = 1_000_000) => {
    const producer = new EventProducer(
      kafka,
      new DiskSpool(dir, maxBytes),
      options,
      createMetrics(),
      createLogger('t', 'silent'),
      BEACON_EVENTS,
    );
    await producer.start();
    return producer;
  };

  it('batches by size and linger', async () => {
    const kafka = new FakeKafka();
    const producer = await make(kafka);
    await Promise.all(Array.from({ length: 25 }, (_, i) => producer.submit('k', event(i))));
    expect(kafka.sent).toHaveLength(25);
    expect(kafka.batches).toBe(3);
    expect(pages(kafka.sent)).toEqual(Array.from({ length: 25 }, (_, i) => `/p${i}`));
    await producer.close();
  });

  it('spools during an outage and replays in order, before new events, when Kafka returns', async () => {
    const kafka = new FakeKafka();
    const producer = await make(kafka);
    kafka.up = false;
    await producer.submit('k', event(1));
    await producer.submit('k', event(2));
    expect(producer.ready()).toBe(false);
    expect(kafka.sent).toHaveLength(0);
    expect((await readdir(dir)).length).toBeGreaterThan(0);
    kafka.up = true;
    await (producer as unknown as { replay(): Promise<void> }).replay();
    await producer.submit('k', event(3));
    expect(pages(kafka.sent)).toEqual(['/p1', '/p2', '/p3']);
    expect(producer.ready()).toBe(true);
    expect((await readdir(dir)).filter((f) => f.endsWith('.spool'))).toEqual([]);
    await producer.close();
  });

  it('replays a spool left by a previous process on start', async () => {
    const down = new FakeKafka();
    down.up = false;
    const first = await make(down);
    await first.submit('k', event(7));
    await first.close();
    const kafka = new FakeKafka();
    const second = await make(kafka);
    expect(pages(kafka.sent)).toEqual(['/p7']);
    await second.close();
  });

  it('refuses with SpoolFullError when the spool is full', async () => {
    const kafka = new FakeKafka();
    kafka.up = false;
    const producer = await make(kafka, 700);
    await producer.submit('k', event(1));
    await expect(producer.submit('k', event(2))).rejects.toBeInstanceOf(SpoolFullError);
    await producer.close();
  });

  it('sends log event batches as one validated record each, within the byte bound per send', async () => {
    const kafka = new FakeKafka();
    const producer = new EventProducer(
      kafka,
      new DiskSpool(dir, 10_000_000),
      { ...options, batchSize: 1000 },
      createMetrics(),
      createLogger('t', 'silent'),
      LOG_EVENT_BATCHES,
    );
    await producer.start();
    const batch = Array.from({ length: 200 }, (_, i) => ({
      ...event(i),
      source: 'logs' as const,
      page: `/${'x'.repeat(180)}${i}`,
    }));
    await Promise.all(Array.from({ length: 40 }, () => producer.submit('p1:3', batch)));
    expect(kafka.sent).toHaveLength(40);
    const decoded = decodeEventBatch(Buffer.from(kafka.sent[0]!.v));
    expect(decoded.ok && decoded.items.map((item) => item.ok && item.event.page)).toEqual(batch.map((e) => e.page));
    // 40 records of ~80 KB cannot go in one send: each send stays under MAX_SEND_BYTES.
    expect(kafka.sends.length).toBeGreaterThan(1);
    for (const records of kafka.sends)
      expect(records.reduce((n, r) => n + Buffer.byteLength(r.v), 0)).toBeLessThanOrEqual(MAX_SEND_BYTES);
    await expect(producer.submit('p1:3', [{ ...batch[0]!, country: 'Germany' }])).rejects.toThrow(
      /invalid envelope \(batch index 0\)/,
    );
    await producer.close();
  });
});

describe('sendGroups', () => {
  const record = (bytes: number) => ({ k: 'k', v: 'x'.repeat(bytes) });
  it('splits by count and by bytes, in order, and sends an oversized record alone', () => {
    expect(sendGroups([record(1), record(1), record(1)], 2).map((g) => g.length)).toEqual([2, 1]);
    const big = MAX_SEND_BYTES - 10;
    expect(
      sendGroups([record(big), record(20), record(5), record(MAX_SEND_BYTES + 1)], 100).map((g) =>
        g.map((r) => r.v.length),
      ),
    ).toEqual([[big], [20, 5], [MAX_SEND_BYTES + 1]]);
    expect(sendGroups([], 10)).toEqual([]);
  });
});
