import type { Consumer, EachBatchPayload, KafkaMessage, Producer, ProducerRecord } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createLogger, type Db, type EventEnvelope, type Practice } from '@confidant/shared';
import { InsertError } from '../clickhouse/insert-error.ts';
import { createProcessorMetrics } from '../metrics.ts';
import { PracticeCache } from '../practices/practice-cache.ts';
import { loadProcessorConfig } from '../processor.config.ts';
import { BatchProcessor } from './batch-processor.ts';
import { testEnvelope } from '@confidant/shared/testing';

const EVENTS = 'events';
const BATCHES = 'event-batches';
const NOW = Date.now();
let ids = 0;
const ev = (over: Partial<EventEnvelope> = {}): EventEnvelope =>
  testEnvelope({ id: (++ids).toString(16).padStart(32, '0'), ts: NOW, ...over });
const visitor = (n: number) => n.toString(16).padStart(32, 'c');
/** Rows from these events carry the page '/poison', which the fake ClickHouse refuses as a parse error. */
const poison = (n: number) => ev({ visitor: visitor(n), page: '/poison' });

/** A BatchProcessor over fakes: a ledger and a ClickHouse that refuses blocks holding '/poison', and a DLQ that records. */
function harness(
  options: { refuse?: (block: Buffer, attempt: number) => Error | null; practices?: PracticeCache } = {},
) {
  let ledger = 0n;
  const inserts: Array<{ queryId: string; first: bigint; last: bigint; block: Buffer }> = [];
  const deadLetters: Array<{ reason: string; offset: string; index: string | undefined; value: string }> = [];
  const paused: string[] = [];
  let attempts = 0;
  const refuse =
    options.refuse ??
    ((block) =>
      block.includes('/poison')
        ? new InsertError(
            'ClickHouse insert failed (500): Code: 27, e.displayText() = DB::Exception: Cannot parse input',
            500,
            27,
          )
        : null);
  const practices =
    options.practices ??
    new PracticeCache(async () => [
      { id: 'p', timezone: 'Europe/Berlin', domains: ['p.example'], events: [] } as unknown as Practice,
    ]);
  const metrics = createProcessorMetrics();
  const processor = new BatchProcessor({
    config: loadProcessorConfig({ PROCESSOR_GROUP_ID: 'g' }),
    // Only the offsets ledger holds anything.
    db: {
      rows: async (sql: string) => (sql.includes('processor_ledger') ? [{ next: String(ledger) }] : []),
    } as unknown as Db,
    practices,
    consumer: {
      pause: (t: unknown) => paused.push(JSON.stringify(t)),
      resume: () => undefined,
      seek: () => undefined,
    } as unknown as Consumer,
    producer: {
      send: async (record: ProducerRecord) => {
        for (const m of record.messages) {
          const h = m.headers as Record<string, string>;
          deadLetters.push({
            reason: h.reason!,
            offset: h['source-offset']!,
            index: h['source-index'],
            value: String(m.value),
          });
        }
        return [];
      },
    } as unknown as Producer,
    batchTopic: BATCHES,
    deadLetterTopic: 'dlq',
    logger: createLogger('test', 'silent'),
    metrics,
    sleep: async () => undefined,
    insertPartner: async () => undefined,
    insert: async (_config, block, queryId) => {
      const error = refuse(block, attempts++);
      if (error) throw error;
      const [first, last] = /\.(\d+)-(\d+)(\.dead-lettered)?$/.exec(queryId)!.slice(1, 3).map(BigInt) as [
        bigint,
        bigint,
      ];
      expect(first).toBe(ledger);
      inserts.push({ queryId, first, last, block });
      ledger = last + 1n;
    },
  });

  const handle = async (topic: string, values: Buffer[]) => {
    await practices.refresh();
    const messages = values.map(
      (value, i) =>
        ({ offset: String(i), key: null, value, timestamp: '0', attributes: 0, headers: {} }) as KafkaMessage,
    );
    const payload = {
      batch: {
        topic,
        partition: 0,
        messages,
        isEmpty: () => messages.length === 0,
        firstOffset: () => messages[0]?.offset ?? null,
        offsetLag: () => '0',
      },
      isRunning: () => true,
      isStale: () => false,
      heartbeat: async () => undefined,
      resolveOffset: () => undefined,
      commitOffsetsIfNecessary: async () => undefined,
    } as unknown as EachBatchPayload;
    await processor.handle(payload);
  };
  const counted = async (outcome: string) =>
    (await metrics.events.get()).values.filter((v) => v.labels.outcome === outcome).reduce((n, v) => n + v.value, 0);
  return { handle, inserts, deadLetters, paused, counted, ledger: () => ledger };
}

const one = (e: unknown) => Buffer.from(JSON.stringify(e));

describe('BatchProcessor with rows ClickHouse refuses', () => {
  it('bisects to the refused messages, dead-letters them, inserts the rest in order and commits no state of the refused', async () => {
    const h = harness();
    const P = visitor(3);
    // Offsets 3 and 7 are refused. Offset 5 is the poisoned visitor's next page view: it must start a fresh visit, not continue one that was never inserted.
    const events = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) =>
      i === 3 ? poison(3) : i === 7 ? poison(7) : ev({ visitor: i === 5 ? P : visitor(100 + i), page: '/ok' }),
    );
    await h.handle(EVENTS, events.map(one));

    expect(h.deadLetters.map((d) => [d.offset, d.index, d.reason])).toEqual([
      ['3', undefined, 'insert refused: ClickHouse refused the rows: CANNOT_PARSE_INPUT_ASSERTION_FAILED (27)'],
      ['7', undefined, 'insert refused: ClickHouse refused the rows: CANNOT_PARSE_INPUT_ASSERTION_FAILED (27)'],
    ]);
    expect(JSON.parse(h.deadLetters[0]!.value)).toMatchObject({ id: events[3]!.id });
    // Every offset is covered once, in order (the ledger only moves forward), and no applied block holds a refused row.
    expect(
      h.inserts.flatMap((i) => Array.from({ length: Number(i.last - i.first) + 1 }, (_, k) => Number(i.first) + k)),
    ).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(h.inserts.filter((i) => i.queryId.endsWith('.dead-lettered')).map((i) => i.first)).toEqual([3n, 7n]);
    expect(h.inserts.some((i) => i.block.includes('/poison'))).toBe(false);
    expect(h.ledger()).toBe(10n);
    expect(await h.counted('counted')).toBe(8);
    expect(await h.counted('dlq')).toBe(2);
  });

  it('dead-letters a refused batch message event by event, and an event the steps refused only once', async () => {
    const h = harness();
    const badCountry = { ...ev(), country: 'Germany' };
    const batch = {
      v: 1,
      events: [ev({ source: 'logs' }), poison(1), badCountry, ev({ source: 'logs', visitor: visitor(2) })],
    };
    await h.handle(BATCHES, [
      one({ v: 1, events: [ev({ source: 'logs', visitor: visitor(5) })] }),
      one(batch),
      one({ v: 1, events: [ev({ source: 'logs', visitor: visitor(6) })] }),
    ]);

    const letters = h.deadLetters.map((d) => [d.offset, d.index, d.reason.split(':')[0]]);
    expect(letters).toEqual([
      ['1', '2', 'invalid envelope'],
      ['1', '0', 'insert refused'],
      ['1', '1', 'insert refused'],
      ['1', '3', 'insert refused'],
    ]);
    expect(JSON.parse(h.deadLetters.find((d) => d.index === '1')!.value)).toMatchObject({ page: '/poison' });
    expect(h.ledger()).toBe(3n);
    expect(await h.counted('counted')).toBe(2);
    expect(await h.counted('dlq')).toBe(4);
  });

  it('turns an exception of a step into a dead letter of that event and counts the rest', async () => {
    const practices = new PracticeCache(async () => [
      { id: 'p', timezone: 'Europe/Berlin', domains: ['p.example'], events: [] } as unknown as Practice,
    ]);
    const get = practices.get.bind(practices);
    practices.get = (id) => {
      if (id === 'boom') throw new Error('registry bug');
      return get(id);
    };
    const h = harness({ practices });
    await h.handle(EVENTS, [one(ev()), one(ev({ practiceId: 'boom' })), one(ev({ visitor: visitor(9) }))]);
    expect(h.deadLetters.map((d) => [d.offset, d.reason])).toEqual([['1', 'step failed: Error: registry bug']]);
    expect(h.inserts).toHaveLength(1);
    expect(await h.counted('counted')).toBe(2);
  });

  it('retries a transient refusal with the partition paused, without splitting or dead-lettering', async () => {
    const h = harness({
      refuse: (_block, attempt) =>
        attempt < 2
          ? new InsertError(
              'ClickHouse insert failed (500): Code: 252, e.displayText() = DB::Exception: Too many parts',
              500,
              252,
            )
          : null,
    });
    await h.handle(EVENTS, [one(ev()), one(ev({ visitor: visitor(1) }))]);
    expect(h.paused).toEqual([JSON.stringify([{ topic: EVENTS }])]);
    expect(h.deadLetters).toEqual([]);
    expect(h.inserts.map((i) => [i.first, i.last])).toEqual([[0n, 1n]]);
    expect(await h.counted('counted')).toBe(2);
  });
});
