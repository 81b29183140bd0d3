import { createIngestKey } from '@confidant/collector/components';
import {
  decodeEvent,
  decodeEventBatch,
  PracticeStore,
  topicsFor,
  type CommonConfig,
  type EventEnvelope,
} from '@confidant/shared';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CORPUS, CORPUS_PRACTICE, type CorpusItem, type HitInput } from '../corpus/corpus.ts';
import {
  comparable,
  CORPUS_TRUSTED_PROXIES,
  CorpusCollector,
  hitAccepted,
  hitRequest,
  itemClient,
  logBody,
  visitorsOf,
} from '../corpus/corpus-runner.ts';
import { canonicalPii, describeSurviving, needlesOf, survivingPii } from '../corpus/pii-search.ts';
import { removeSpool, startCollector, type Collector } from '../faults/support/pipeline.ts';
import { kafkaFor } from '../support/processor-harness.ts';
import { eventually, prepareNamespace } from '../support/stack.ts';
import { isolatedConfig } from '../support/test-env.ts';

/**
 * The corpus through the real collector process: every hit over HTTP (`/e`, `/api/event`, `/e.gif`, `/out`), every
 * log line in one `/v1/logs` upload, into real Kafka. Then every message of every topic of the
 * namespace is read back and searched for every planted value, as is the collector's log output, and
 * the envelopes are exactly those the in-memory run of the same items makes.
 */
let config: CommonConfig;
let cleanup: () => Promise<void>;
let collector: Collector;
let ingestKey: string;

beforeAll(async () => {
  config = isolatedConfig('corpus');
  const namespace = await prepareNamespace(config);
  cleanup = namespace.cleanup;
  await new PracticeStore(namespace.control).save(CORPUS_PRACTICE);
  ingestKey = await createIngestKey(namespace.control, CORPUS_PRACTICE.id);
  // Each item's hits come from its own clients (X-Forwarded-For from the test's loopback), as in memory.
  collector = await startCollector(config, { LOG_LEVEL: 'debug', TRUSTED_PROXIES: CORPUS_TRUSTED_PROXIES.join(',') });
}, 120_000);

afterAll(async () => {
  await collector?.stop();
  await removeSpool(collector?.spoolDir);
  await cleanup?.();
}, 60_000);

type Message = { topic: string; key: string; value: string; headers: string };

/** Every message of every topic of the namespace, from the beginning. */
async function readTopics(): Promise<Message[]> {
  const kafka = kafkaFor(config);
  const admin = kafka.admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${config.kafka.topicPrefix}.`));
  let expected = 0;
  for (const topic of topics)
    for (const p of await admin.fetchTopicOffsets(topic)) expected += Number(p.high) - Number(p.low);
  await admin.disconnect();
  const consumer = kafka.consumer({ groupId: `${config.kafka.topicPrefix}.corpus-reader.${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  const out: Message[] = [];
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      out.push({
        topic,
        key: message.key?.toString('utf8') ?? '',
        value: message.value?.toString('utf8') ?? '',
        headers: Object.entries(message.headers ?? {})
          .map(([k, v]) => `${k}=${String(v)}`)
          .join(' '),
      });
    },
  });
  await eventually(
    async () => out.length,
    (n) => n >= expected,
    60_000,
    'every Kafka message read',
  );
  await consumer.disconnect();
  return out;
}

/** One hit over HTTP; sent again when the collector sheds load (503), as a browser's retry would: the machine is shared. */
async function sendWhenNotShed(input: HitInput, client: string): Promise<Response> {
  const { method, url, body, headers } = hitRequest(input, client);
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(`${collector.url}${url}`, { method, headers, body });
    await res.arrayBuffer();
    if (res.status !== 503 || attempt === 50) return res;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A message as text to search: its key, value and headers, without the hex visitor key, event id and time. */
const searchable = (m: Message) =>
  `${m.key.replace(/[0-9a-f]{16,}/g, '')} ${m.value.replace(/"(id|visitor)":"[0-9a-f]+"|"ts":\d+/g, '')} ${m.headers}`;

it('puts no planted value into any Kafka message, and produces exactly the in-memory envelopes', async () => {
  const hits = CORPUS.filter((i): i is CorpusItem & { input: HitInput } => i.input.kind === 'hit');
  const logs = CORPUS.filter((i) => i.input.kind === 'log');
  for (const item of hits)
    for (let v = 0; v < visitorsOf(item); v++) {
      const res = await sendWhenNotShed(item.input, itemClient(item, v));
      hitAccepted(item.input, res.status, res.headers.get('x-exit') ?? undefined);
    }
  const upload = await fetch(`${collector.url}/v1/logs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ingestKey}`, 'content-type': 'text/plain' },
    body: logBody(logs, Date.now() - 3_600_000),
  });
  expect(upload.status, await upload.clone().text()).toBe(200);

  // What the same items make in memory, in the same order (the rare-value gate counts in order): the real collector must produce exactly these.
  const memory = await CorpusCollector.start();
  const expected: EventEnvelope[] = [];
  for (const item of [...hits, ...logs])
    for (const outcome of await memory.run(item)) if (outcome.kind === 'ok') expected.push(outcome.event);
  await memory.close();

  const { events: eventsTopic, eventBatches } = topicsFor(config.kafka.topicPrefix);
  await eventually(
    async () => (await readTopics()).length,
    (n) => n >= 1,
    30_000,
    'events in Kafka',
  );
  let messages: Message[] = [];
  let produced: EventEnvelope[] = [];
  await eventually(
    async () => {
      messages = await readTopics();
      produced = messages.flatMap((m): EventEnvelope[] => {
        if (m.topic === eventsTopic.name) {
          const decoded = decodeEvent(Buffer.from(m.value));
          if (!decoded.ok) throw new Error(`${m.topic}: ${decoded.reason}`);
          return [decoded.event];
        }
        if (m.topic === eventBatches.name) {
          const batch = decodeEventBatch(Buffer.from(m.value));
          if (!batch.ok) throw new Error(`${m.topic}: ${batch.reason}`);
          return batch.items.map((b) => {
            if (!b.ok) throw new Error(`${m.topic}: ${b.reason}`);
            return b.event;
          });
        }
        return [];
      });
      return produced.length;
    },
    (n) => n >= expected.length,
    60_000,
    'every accepted corpus item in Kafka',
  );

  // Every planted value of every item, searched in every field of every envelope and in the raw messages.
  const planted = [...new Set(CORPUS.flatMap((i) => i.pii))];
  const needles = needlesOf(planted);
  const surviving = produced.flatMap((e) => survivingPii(e as Record<string, unknown>, planted));
  const inFields = surviving.map(describeSurviving);
  const inMessages = messages.flatMap((m) => {
    const text = canonicalPii(searchable(m));
    return needles.flatMap((n, i) => (text.includes(n) ? [`${JSON.stringify(planted[i])} in ${m.topic}`] : []));
  });
  console.log(
    `corpus through Kafka: ${CORPUS.length} items, ${messages.length} messages in ${new Set(messages.map((m) => m.topic)).size} topics, ${produced.length} envelopes, ${planted.length} distinct planted values: ${inFields.length + inMessages.length} found`,
  );
  expect.soft(inFields).toEqual([]);
  expect.soft(inMessages).toEqual([]);
  expect.soft(produced.map(comparable).sort()).toEqual(expected.map(comparable).sort());
  // The collector's own log output (debug level; the harness keeps its last 50,000 characters).
  const logText = canonicalPii(collector.output());
  expect(logText.length).toBeGreaterThan(0);
  expect.soft(needles.flatMap((n, i) => (logText.includes(n) ? [planted[i]] : []))).toEqual([]);

  // Negative control: the same search finds a planted value once a message carries one.
  const producer = kafkaFor(config).producer();
  await producer.connect();
  await producer.send({
    topic: topicsFor(config.kafka.topicPrefix).deadLetter.name,
    messages: [{ key: 'control', value: JSON.stringify({ page: `/x/${planted[0]}` }) }],
  });
  await producer.disconnect();
  const control = (await readTopics()).filter((m) => canonicalPii(searchable(m)).includes(needles[0]!));
  expect(control.map((m) => m.key)).toEqual(['control']);
}, 300_000);
