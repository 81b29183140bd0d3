// Poison for the processor: envelopes and messages no check on the producer side would let through,
// produced raw to the real topics, and the dead letters the processor must answer them with.
import type { Kafka, Producer } from 'kafkajs';
import {
  ENVELOPE_CONSUME_SLACK_MS,
  ENVELOPE_MAX_AHEAD_MS,
  ENVELOPE_MAX_PROPS,
  ENVELOPE_TS_FLOOR_MS,
  topicsFor,
  type EventEnvelope,
} from '@confidant/shared';

/** An event produced now and this close to the consume window's upper edge is still outside it when the processor reads it later. */
const READ_WITHIN_MS = 10 * 60_000;

/** An event as produced: valid ones must be counted, invalid ones dead-lettered with a reason. */
export type RawEvent = { what: string; raw: unknown; valid: EventEnvelope | null };

let ids = 0;
/** An id of its own, starting with `d` (callers number theirs below): a repeated id would be dropped as a duplicate before reaching the check under test. */
const freshId = (id: string) => `d${(ids++).toString(16).padStart(7, '0')}${id.slice(8)}`;

/** Invalid on consume, whatever the clock and the retention: each variant breaks one bound of the envelope. */
export function invalidVariants(e: EventEnvelope, sentAt: number): RawEvent[] {
  const bad = (what: string, over: Record<string, unknown>): RawEvent => ({
    what,
    raw: { ...e, id: freshId(e.id), ...over },
    valid: null,
  });
  const { visitor: _visitor, ...withoutVisitor } = e;
  return [
    bad('ts in year 1000', { ts: Date.UTC(1000, 0, 1) }),
    bad('ts in year 9999', { ts: Date.UTC(9999, 11, 31) }),
    bad('ts beyond what Date holds', { ts: 8.64e15 }),
    bad('ts 1 ms before the fixed floor', { ts: ENVELOPE_TS_FLOOR_MS - 1 }),
    bad('ts past the consume window', {
      ts: sentAt + ENVELOPE_MAX_AHEAD_MS + ENVELOPE_CONSUME_SLACK_MS + READ_WITHIN_MS,
    }),
    bad('ts negative', { ts: -1 }),
    bad('ts as a date string', { ts: '2026-12-03T00:00:00Z' }),
    bad('ts NaN-like string', { ts: 'NaN' }),
    bad('ts null', { ts: null }),
    bad('ts fractional', { ts: e.ts + 0.5 }),
    bad('engagedMs over a day', { type: 'engagement', engagedMs: 86_400_001 }),
    bad('engagedMs huge', { type: 'engagement', engagedMs: 1e300 }),
    bad('engagedMs negative', { type: 'engagement', engagedMs: -5 }),
    bad('page of 201 characters', { page: 'p'.repeat(201) }),
    bad('browser of 201 characters', { browser: 'b'.repeat(201) }),
    bad('too many props', {
      type: 'event',
      name: 'n',
      props: Object.fromEntries(Array.from({ length: ENVELOPE_MAX_PROPS + 1 }, (_, i) => [`k${i}`, 'v'])),
    }),
    bad('unknown practice', { practiceId: 'no-such-practice' }),
    bad('wrong version', { v: 2 }),
    bad('country not a code', { country: 'Germany' }),
    bad('id not hex', { id: 'not-an-id' }),
    // Only an event that is not count-only needs a visitor (a count-only one carries none).
    { what: 'visitor missing', raw: { ...withoutVisitor, countOnly: false }, valid: null },
  ];
}

/** Valid at the bounds: the fixed floor in the zones furthest west and east, the consume window's upper edge, the largest values. */
export function edgeCases(e: EventEnvelope, sentAt: number): RawEvent[] {
  const good = (what: string, over: Partial<EventEnvelope>): RawEvent => {
    const event = { ...e, id: freshId(e.id), ...over };
    return { what, raw: event, valid: event };
  };
  return [
    good('ts at the fixed floor', { ts: ENVELOPE_TS_FLOOR_MS }),
    good('ts at the upper edge of the consume window', {
      ts: sentAt + ENVELOPE_MAX_AHEAD_MS + ENVELOPE_CONSUME_SLACK_MS,
    }),
    good('engagedMs of a whole day', { type: 'engagement', engagedMs: 86_400_000 }),
    good('page of 200 characters', { page: 'q'.repeat(200) }),
    good('labels of 200 characters', {
      browser: 'b'.repeat(200),
      os: 'o'.repeat(200),
      referrerDomain: 'r'.repeat(200),
    }),
    good('props at the limit', {
      type: 'event',
      name: 'booked',
      props: Object.fromEntries(Array.from({ length: ENVELOPE_MAX_PROPS }, (_, i) => [`k${i}`, 'v'.repeat(200)])),
    }),
  ];
}

/** A Kafka message as produced raw, and the dead letters it must give (`null`: the message as a whole, a number: that event of a batch). */
export type RawMessage = {
  topic: 'events' | 'eventBatches';
  key: string;
  value: Buffer | null;
  dead: Array<number | null>;
  valid: EventEnvelope[];
};

/** Messages that are no envelope or no batch at all. */
export const UNREADABLE: RawMessage[] = [
  { topic: 'events', key: 'junk', value: Buffer.from('{"v":1,'), dead: [null], valid: [] },
  { topic: 'events', key: 'junk', value: null, dead: [null], valid: [] },
  { topic: 'events', key: 'junk', value: Buffer.from('\u0000\uffff'), dead: [null], valid: [] },
  { topic: 'eventBatches', key: 'junk', value: Buffer.from('not json'), dead: [null], valid: [] },
  { topic: 'eventBatches', key: 'junk', value: Buffer.from('{"v":2,"events":[{}]}'), dead: [null], valid: [] },
  { topic: 'eventBatches', key: 'junk', value: Buffer.from('{"v":1,"events":"none"}'), dead: [null], valid: [] },
  { topic: 'eventBatches', key: 'junk', value: Buffer.from('{"v":1,"events":[]}'), dead: [null], valid: [] },
];

/** Puts events into single-event messages and batch messages (up to 200 events, good and bad mixed), in a random order. */
export function intoMessages(events: RawEvent[], random: () => number): RawMessage[] {
  const messages: RawMessage[] = [];
  let i = 0;
  while (i < events.length) {
    if (random() < 0.5) {
      const e = events[i++]!;
      messages.push({
        topic: 'events',
        key: keyOf(e),
        value: Buffer.from(JSON.stringify(e.raw)),
        dead: e.valid ? [] : [null],
        valid: e.valid ? [e.valid] : [],
      });
    } else {
      const batch = events.slice(i, i + 1 + Math.floor(random() * 200));
      i += batch.length;
      messages.push({
        topic: 'eventBatches',
        key: keyOf(batch[0]!),
        value: Buffer.from(JSON.stringify({ v: 1, events: batch.map((e) => e.raw) })),
        dead: batch.flatMap((e, index) => (e.valid ? [] : [index])),
        valid: batch.flatMap((e) => (e.valid ? [e.valid] : [])),
      });
    }
  }
  return messages;
}

const keyOf = (e: RawEvent) => String((e.raw as { visitor?: unknown }).visitor ?? 'none');

/** `topic|offset|index` of a dead letter, as its headers name it. */
export const deadKey = (topic: string, offset: string, index: string | null) => `${topic}|${offset}|${index ?? ''}`;

/**
 * Produces the messages as they are, no validation, all to partition 0 so that each one's offset is
 * known; returns the dead-letter keys they must give.
 */
export async function produceRaw(producer: Producer, prefix: string, messages: RawMessage[]): Promise<Set<string>> {
  const topics = topicsFor(prefix);
  const expected = new Set<string>();
  for (const topic of ['events', 'eventBatches'] as const) {
    const name = topics[topic].name;
    const list = messages.filter((m) => m.topic === topic);
    for (let i = 0; i < list.length;) {
      // Under the broker's default 1 MiB request size.
      let bytes = 0;
      let end = i;
      while (end < list.length && (end === i || bytes + (list[end]!.value?.length ?? 0) < 512 * 1024))
        bytes += list[end++]!.value?.length ?? 0;
      const chunk = list.slice(i, end);
      i = end;
      const [meta] = await producer.send({
        topic: name,
        acks: -1,
        messages: chunk.map((m) => ({ partition: 0, key: m.key, value: m.value })),
      });
      chunk.forEach((m, k) => {
        for (const index of m.dead)
          expected.add(
            deadKey(name, String(BigInt(meta!.baseOffset!) + BigInt(k)), index === null ? null : String(index)),
          );
      });
    }
  }
  return expected;
}

export type DeadLetterReader = { letters: Map<string, string[]>; stop(): Promise<void> };

/** Reads the dead-letter topic from the start: for each `topic|offset|index`, the reasons it was dead-lettered with. */
export async function readDeadLetters(kafka: Kafka, prefix: string): Promise<DeadLetterReader> {
  const letters = new Map<string, string[]>();
  const consumer = kafka.consumer({ groupId: `dlq-reader-${Date.now()}-${Math.random()}` });
  await consumer.connect();
  await consumer.subscribe({ topic: topicsFor(prefix).deadLetter.name, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const h = (name: string) => (message.headers?.[name] === undefined ? null : String(message.headers[name]));
      const key = deadKey(h('source-topic') ?? '', h('source-offset') ?? '', h('source-index'));
      letters.set(key, [...(letters.get(key) ?? []), h('reason') ?? '']);
    },
  });
  return { letters, stop: () => consumer.disconnect() };
}
