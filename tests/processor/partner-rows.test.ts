// The real processor writes partner visitor-days (migration 0033) from Kafka: one value per visitor
// key, UTC day and cell, a retried copy changing nothing, cookies in `all` only, late events left out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Admin, Producer } from 'kafkajs';
import { PracticeStore, sqlv, TABLES, type ControlDb, type Db } from '@confidant/shared';
import type { RunningProcessor } from '@confidant/processor';
import { isolatedConfig } from '../support/test-env.ts';
import { eventually, prepareNamespace } from '../support/stack.ts';
import {
  envelope,
  kafkaFor,
  ledgerCaughtUp,
  processorEnv,
  produceEvents,
  startInProcess,
  visitorOf,
} from '../support/processor-harness.ts';

const config = isolatedConfig('proc-partner');
const env = processorEnv(config);
let db: Db;
let control: ControlDb;
let cleanup: () => Promise<void>;
let producer: Producer;
let admin: Admin;
let processor: RunningProcessor;

const P = 'clinic-p';
const [A, B, C, D] = ['a', 'b', 'c', 'd'].map(visitorOf) as [string, string, string, string];
// An hour ago: its UTC day is open (a day closes 2 days after it begins).
const recent = Date.now() - 3_600_000;
const today = new Date(recent).toISOString().slice(0, 10);

beforeAll(async () => {
  ({ db, control, cleanup } = await prepareNamespace(config));
  await new PracticeStore(control).save({
    id: P,
    siteKey: 'site-p',
    name: 'Clinic P',
    domains: ['clinic-p.example'],
    timezone: 'Pacific/Auckland',
  });
  const kafka = kafkaFor(config);
  producer = kafka.producer();
  admin = kafka.admin();
  await Promise.all([producer.connect(), admin.connect()]);
  const a = envelope({ practiceId: P, visitor: A, ts: recent, country: 'US' });
  await produceEvents(producer, config.kafka.topicPrefix, [
    a,
    a, // a retried producer's copy
    envelope({ practiceId: P, visitor: A, ts: recent + 1000, country: 'US', page: '/two' }),
    envelope({ practiceId: P, visitor: B, ts: recent, country: 'FR' }),
    envelope({ practiceId: P, visitor: C, ts: recent, country: 'DE', visitorPeriod: 'month' }),
    // a late event (a day closed long ago): counted in the practice's rollups, not in partner rows
    envelope({ practiceId: P, visitor: D, ts: Date.UTC(2024, 0, 15, 12), country: 'IS' }),
  ]);
  processor = await startInProcess(env, db, control);
  await eventually(
    () => ledgerCaughtUp(db, admin, config.kafka.topicPrefix, env.PROCESSOR_GROUP_ID!),
    Boolean,
    60_000,
    'ledger caught up',
  );
}, 120_000);

afterAll(async () => {
  await processor?.stop();
  await producer?.disconnect();
  await admin?.disconnect();
  await cleanup?.();
});

describe('partner rows from the processor', () => {
  it('hold each visitor key once per UTC day and cell, cookies in `all` only, no late event', async () => {
    const rows = await db.rows<{ d: string; cell: string; n: string }>(
      `SELECT toString(day) AS d, cell, toString(uniqArrayMerge(visitors)) AS n FROM ${TABLES.partnerVisitorDays}` +
        ` WHERE practice_id = ${sqlv.str(P)} AND sealed = 0 GROUP BY d, cell ORDER BY d, cell`,
    );
    expect(rows).toEqual([
      { d: today, cell: 'FR', n: '1' },
      { d: today, cell: 'US', n: '1' },
      { d: today, cell: 'all', n: '3' },
    ]);
  });
});
