import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Admin, Producer } from 'kafkajs';
import { TABLES, metricMergeExpression, PracticeStore, topicsFor, type Db, type ControlDb } from '@confidant/shared';
import type { RunningProcessor } from '@confidant/processor';
import { isolatedConfig } from '../support/test-env.ts';
import { eventually, prepareNamespace } from '../support/stack.ts';
import {
  dailyRollup,
  envelope,
  kafkaFor,
  ledgerCaughtUp,
  processorEnv,
  produceEvents,
  startInProcess,
  visitorOf,
} from '../support/processor-harness.ts';

const config = isolatedConfig('proc-rollups');
const env = processorEnv(config);
let db: Db;
let control: ControlDb;
let cleanup: () => Promise<void>;
let producer: Producer;
let admin: Admin;
let processor: RunningProcessor;

// New York is UTC-5 in January: local 14:00 on 2024-01-15 is 19:00Z.
const local = (day: number, hour: number, minute: number) => Date.UTC(2024, 0, day, hour + 5, minute);
const P = 'clinic-a';
const [A, B, C, D, E, F] = ['a', 'b', 'c', 'd', 'e', 'f'].map(visitorOf) as [
  string,
  string,
  string,
  string,
  string,
  string,
];
const at = (visitor: string, ts: number) => ({ practiceId: P, visitor, ts });

const a1 = envelope({
  ...at(A, local(15, 14, 0)),
  page: '/',
  referrerDomain: 'google.com',
  utmSource: 'newsletter',
  utmMedium: 'email',
  utmCampaign: 'jan',
});
const events = [
  a1,
  a1, // a retried producer's second copy
  envelope({ ...at(A, local(15, 14, 1)), page: '/services', referrerDomain: 'clinic-a.example' }),
  envelope({ ...at(A, local(15, 14, 2)), type: 'engagement', page: '/services', engagedMs: 15_000 }),
  envelope({ ...at(A, local(15, 14, 3)), type: 'outbound', page: '/services', target: 'maps.example.org' }),
  envelope({ ...at(A, local(15, 14, 4)), type: 'download', page: '/services', target: '/files/form.pdf' }),
  envelope({ ...at(A, local(15, 14, 5)), type: 'event', page: '/services', name: 'book-click' }),
  ...[{ country: 'DE', browser: 'Chrome', os: 'Windows', device: 'mobile' as const }].flatMap((b) => [
    // A self-referral does not count as a referrer.
    envelope({ ...at(B, local(15, 14, 10)), ...b, page: '/', referrerDomain: 'www.clinic-a.example' }),
    envelope({ ...at(B, local(15, 14, 11)), ...b, type: 'engagement', page: '/', engagedMs: 3000 }),
    // 44 minutes idle: a new visit.
    envelope({ ...at(B, local(15, 14, 55)), ...b, page: '/contact' }),
    envelope({ ...at(B, local(15, 14, 56)), ...b, type: 'engagement', page: '/contact', engagedMs: 12_000 }),
  ]),
  // Local midnight splits the visit.
  envelope({ ...at(C, local(15, 23, 50)), page: '/', browser: 'Safari', os: 'iOS', device: 'mobile' }),
  envelope({ ...at(C, local(16, 0, 5)), page: '/about', browser: 'Safari', os: 'iOS', device: 'mobile' }),
  envelope({ ...at(D, local(15, 15, 0)), type: 'notfound', page: '/missing', os: 'Windows' }),
  envelope({ ...at(E, local(15, 16, 0)), page: 'patient-portal', countOnly: true }),
  envelope({ ...at(E, local(15, 16, 30)), page: 'patient-portal', countOnly: true }),
  envelope({ ...at(F, local(15, 9, 0)), source: 'logs', browser: 'Chrome', os: 'Windows' }),
];

beforeAll(async () => {
  ({ db, control, cleanup } = await prepareNamespace(config));
  await new PracticeStore(control).save({
    id: P,
    siteKey: 'site-a',
    name: 'Clinic A',
    domains: ['clinic-a.example'],
    timezone: 'America/New_York',
  });
  const kafka = kafkaFor(config);
  producer = kafka.producer();
  admin = kafka.admin();
  await Promise.all([producer.connect(), admin.connect()]);
  await produceEvents(producer, config.kafka.topicPrefix, events);
  // Not an envelope at all, a schema violation, and an unregistered practice.
  await producer.send({
    topic: topicsFor(config.kafka.topicPrefix).events.name,
    messages: [
      { value: Buffer.from([0xff, 0x00, 0x13]) },
      { value: Buffer.from(JSON.stringify({ v: 1, id: 'nope' })) },
    ],
  });
  await produceEvents(producer, config.kafka.topicPrefix, [
    envelope({ practiceId: 'no-such-practice', visitor: A, ts: local(15, 12, 0) }),
  ]);
  processor = await startInProcess(env, db, control);
  await eventually(
    () => ledgerCaughtUp(db, admin, config.kafka.topicPrefix, env.PROCESSOR_GROUP_ID!),
    Boolean,
    60_000,
    'ledger caught up',
  );
  // The ledger view may be applied a moment before the rollup views of the same insert.
  await new Promise((r) => setTimeout(r, 1000));
});

afterAll(async () => {
  await processor?.stop();
  await producer?.disconnect();
  await admin?.disconnect();
  await cleanup?.();
});

const m = (
  pageviews: number,
  visits: number,
  bounces: number,
  engaged_ms: number,
  events: number,
  visitors: number,
) => ({ pageviews, visits, bounces, engaged_ms, events, visitors });

describe('rollups', () => {
  it('stores every breakdown with hand-computed values', async () => {
    const s15 = '2024-01-15 snippet';
    expect(await dailyRollup(db, P)).toEqual({
      // pageviews A1 A2 B1 B3 C1 D1 E1 E2; visits A, B×2, C, D; bounces B1, C1, D1; 15 s + 3 s + 12 s; 3 events; visitors A B C D.
      [`${s15} total=`]: m(8, 5, 3, 30_000, 3, 4),
      [`${s15} page=/`]: m(3, 0, 0, 3000, 0, 3),
      [`${s15} page=/services`]: m(1, 0, 0, 15_000, 0, 1),
      [`${s15} page=/contact`]: m(1, 0, 0, 12_000, 0, 1),
      [`${s15} page=/missing`]: m(1, 0, 0, 0, 0, 1),
      [`${s15} page=patient-portal`]: m(2, 0, 0, 0, 0, 0),
      [`${s15} page_class=patient-portal`]: m(2, 0, 0, 0, 0, 0),
      [`${s15} notfound=/missing`]: m(1, 0, 0, 0, 0, 0),
      [`${s15} entry=/`]: m(0, 3, 2, 0, 0, 0),
      [`${s15} entry=/contact`]: m(0, 1, 0, 0, 0, 0),
      [`${s15} entry=/missing`]: m(0, 1, 1, 0, 0, 0),
      [`${s15} exit=/services`]: m(0, 1, 0, 0, 0, 0),
      [`${s15} exit=/`]: m(0, 2, 0, 0, 0, 0),
      [`${s15} exit=/contact`]: m(0, 1, 0, 0, 0, 0),
      [`${s15} exit=/missing`]: m(0, 1, 0, 0, 0, 0),
      [`${s15} referrer=google.com`]: m(0, 1, 0, 0, 0, 1),
      [`${s15} referrer=(direct)`]: m(0, 4, 0, 0, 0, 3),
      // Channels by each visit's entry: A came from an email campaign; B (self-referral, then none), C and D direct.
      [`${s15} channel=Email`]: m(0, 1, 0, 0, 0, 1),
      [`${s15} channel=Direct`]: m(0, 4, 3, 0, 0, 3),
      [`${s15} utm_source=newsletter`]: m(0, 1, 0, 0, 0, 1),
      [`${s15} utm_medium=email`]: m(0, 1, 0, 0, 0, 1),
      [`${s15} utm_campaign=jan`]: m(0, 1, 0, 0, 0, 1),
      [`${s15} exit_domain=maps.example.org`]: m(0, 0, 0, 0, 1, 0),
      [`${s15} download=/files/form.pdf`]: m(0, 0, 0, 0, 1, 0),
      [`${s15} event=book-click`]: m(0, 0, 0, 0, 1, 1),
      [`${s15} country=US`]: m(4, 3, 0, 0, 0, 3),
      [`${s15} country=DE`]: m(2, 2, 0, 0, 0, 1),
      [`${s15} browser=Firefox`]: m(3, 2, 0, 0, 0, 2),
      [`${s15} browser=Chrome`]: m(2, 2, 0, 0, 0, 1),
      [`${s15} browser=Safari`]: m(1, 1, 0, 0, 0, 1),
      [`${s15} os=Linux`]: m(2, 1, 0, 0, 0, 1),
      [`${s15} os=Windows`]: m(3, 3, 0, 0, 0, 2),
      [`${s15} os=iOS`]: m(1, 1, 0, 0, 0, 1),
      [`${s15} device=desktop`]: m(3, 2, 0, 0, 0, 2),
      [`${s15} device=mobile`]: m(3, 3, 0, 0, 0, 2),
      // C's second page view is after local midnight: its own visit on the 16th.
      '2024-01-16 snippet total=': m(1, 1, 1, 0, 0, 1),
      '2024-01-16 snippet page=/about': m(1, 0, 0, 0, 0, 1),
      '2024-01-16 snippet entry=/about': m(0, 1, 1, 0, 0, 0),
      '2024-01-16 snippet exit=/about': m(0, 1, 0, 0, 0, 0),
      '2024-01-16 snippet referrer=(direct)': m(0, 1, 0, 0, 0, 1),
      '2024-01-16 snippet channel=Direct': m(0, 1, 1, 0, 0, 1),
      '2024-01-16 snippet country=US': m(1, 1, 0, 0, 0, 1),
      '2024-01-16 snippet browser=Safari': m(1, 1, 0, 0, 0, 1),
      '2024-01-16 snippet os=iOS': m(1, 1, 0, 0, 0, 1),
      '2024-01-16 snippet device=mobile': m(1, 1, 0, 0, 0, 1),
      // Server logs are a separate source.
      '2024-01-15 logs total=': m(1, 1, 1, 0, 0, 1),
      '2024-01-15 logs page=/': m(1, 0, 0, 0, 0, 1),
      '2024-01-15 logs entry=/': m(0, 1, 1, 0, 0, 0),
      '2024-01-15 logs exit=/': m(0, 1, 0, 0, 0, 0),
      '2024-01-15 logs referrer=(direct)': m(0, 1, 0, 0, 0, 1),
      '2024-01-15 logs channel=Direct': m(0, 1, 1, 0, 0, 1),
      '2024-01-15 logs country=US': m(1, 1, 0, 0, 0, 1),
      '2024-01-15 logs browser=Chrome': m(1, 1, 0, 0, 0, 1),
      '2024-01-15 logs os=Windows': m(1, 1, 0, 0, 0, 1),
      '2024-01-15 logs device=desktop': m(1, 1, 0, 0, 0, 1),
    });
  });

  it('stores hourly site totals in local hours', async () => {
    const rows = await db.rows<Record<string, string>>(
      `SELECT toString(day) AS d, hour, toString(source) AS s, sumMerge(pageviews) AS pv, sumMerge(visits) AS v, sumMerge(bounces) AS b,
         sumMerge(engaged_ms) AS e, ${metricMergeExpression('visitors')} AS u FROM ${TABLES.rollupHourly} WHERE practice_id = '${P}' GROUP BY d, hour, s ORDER BY d, hour, s`,
    );
    expect(rows.map((r) => `${r.d} ${r.hour} ${r.s}: ${r.pv} ${r.v} ${r.b} ${r.e} ${r.u}`)).toEqual([
      '2024-01-15 9 logs: 1 1 1 0 1',
      '2024-01-15 14 snippet: 4 3 1 30000 2',
      '2024-01-15 15 snippet: 1 1 1 0 1',
      '2024-01-15 16 snippet: 2 0 0 0 0',
      '2024-01-15 23 snippet: 1 1 1 0 1',
      '2024-01-16 0 snippet: 1 1 1 0 1',
    ]);
  });

  it('sends undecodable, invalid and unknown-practice messages to the dead-letter topic with the reason', async () => {
    const kafka = kafkaFor(config);
    const consumer = kafka.consumer({ groupId: `dlq-reader-${Date.now()}` });
    const seen: Array<Record<string, string>> = [];
    await consumer.connect();
    await consumer.subscribe({ topic: topicsFor(config.kafka.topicPrefix).deadLetter.name, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])));
      },
    });
    await eventually(
      async () => seen.length,
      (n) => n >= 3,
      30_000,
      'three dead letters',
    );
    await consumer.disconnect();
    const source = topicsFor(config.kafka.topicPrefix).events.name;
    expect(seen.map((h) => h.reason).sort()).toEqual(
      [
        'invalid envelope: id: Invalid string: must match pattern /^[0-9a-f]{32}$/; practiceId: Invalid input: expected string, received undefined; source: Invalid option: expected one of "snippet"|"logs"',
        'not JSON',
        'unknown practice',
      ].sort(),
    );
    for (const h of seen) {
      expect(h['source-topic']).toBe(source);
      expect(Number(h['source-partition'])).toBeGreaterThanOrEqual(0);
      expect(h['source-offset']).toMatch(/^\d+$/);
    }
  });
});
