import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Admin, Producer } from 'kafkajs';
import { createLogger, PracticeStore, type ControlDb, type Db } from '@confidant/shared';
import { sealClosedVisitorStates, type RunningProcessor } from '@confidant/processor';
import { buildApp, loadReporterConfig } from '@confidant/reporter';
import type { FastifyInstance } from 'fastify';
import { eventually, prepareNamespace } from '../support/stack.ts';
import { isolatedConfig } from '../support/test-env.ts';
import {
  envelope,
  kafkaFor,
  ledgerCaughtUp,
  processorEnv,
  produceEvents,
  startInProcess,
  visitorOf,
} from '../support/processor-harness.ts';

/**
 * Issue 18's done-when: "last month's booking-page visits by channel and campaign, and their conversion
 * rate", read from the stats API and the monthly report (JSON, CSV, HTML), through real Kafka, the real
 * processor and ClickHouse, against figures worked out by hand below. The events are the envelopes the
 * collector makes (paid-click id → `paid`, referrers as sites), dated last month, so they are produced
 * to Kafka directly: the collector stamps events with the time it receives them.
 */
const ADMIN_KEY = 'goals-e2e-admin-key-0123456789abcdef';
const P = 'harbor-clinic';
const TZ = 'America/New_York';
const config = isolatedConfig('goals-e2e');
const env = processorEnv(config);

// Last month in the practice's zone; noon local on a day of it (New York is UTC-4 or UTC-5: 16:00Z is 11:00 or 12:00).
const today = new Intl.DateTimeFormat('en-CA', { timeZone: TZ }).format(new Date());
const thisMonthStart = Date.UTC(Number(today.slice(0, 4)), Number(today.slice(5, 7)) - 1, 1);
const lastMonthDate = new Date(thisMonthStart - 86_400_000);
const MONTH = lastMonthDate.toISOString().slice(0, 7);
const FROM = `${MONTH}-01`;
const TO = lastMonthDate.toISOString().slice(0, 10);
const at = (day: number, minutes = 0) =>
  Date.UTC(lastMonthDate.getUTCFullYear(), lastMonthDate.getUTCMonth(), day, 16, minutes);

const V = Object.fromEntries(
  ['v1', 'v2', 'v3', 'v4', 'v5', 'v6', 'v7', 'v8', 'v9', 'v10', 'old'].map((v) => [v, visitorOf(v)]),
);
const ev = (visitor: string, ts: number, over: Parameters<typeof envelope>[0] extends infer T ? Partial<T> : never) =>
  envelope({ practiceId: P, visitor, ts, ...over });
const spring = { utmSource: 'google', utmMedium: 'cpc', utmCampaign: 'spring-checkup' };

// The month's visits (11) and what each did. `/book-online/**` is the booking goal.
const events = [
  // V1: paid Google click in the spring campaign; two booking pages: 2 conversions, 1 converting visit.
  ev(V.v1!, at(10, 0), { page: '/', referrerDomain: 'google.com', paid: true, ...spring }),
  ev(V.v1!, at(10, 1), { page: '/book-online' }),
  ev(V.v1!, at(10, 2), { page: '/book-online/confirmed' }),
  // V2: same campaign, books once. V3: same campaign, leaves without booking.
  ev(V.v2!, at(10, 5), { page: '/services', referrerDomain: 'google.com', paid: true, ...spring }),
  ev(V.v2!, at(10, 6), { page: '/book-online' }),
  ev(V.v3!, at(10, 7), { page: '/', referrerDomain: 'google.com', paid: true, ...spring }),
  // V10: same campaign, lands on the booking page itself.
  ev(V.v10!, at(10, 50), { page: '/book-online', referrerDomain: 'google.com', paid: true, ...spring }),
  // V4: organic Facebook, lands on the booking page (a mobile visit).
  ev(V.v4!, at(10, 10), { page: '/book-online', referrerDomain: 'facebook.com', device: 'mobile' }),
  // V5: from ChatGPT; calls (the declared Call event): no booking.
  ev(V.v5!, at(10, 15), { page: '/services', referrerDomain: 'chatgpt.com' }),
  ev(V.v5!, at(10, 16), { type: 'event', page: '/services', name: 'Call' }),
  // V6: direct, two visits two hours apart, each reaching the booking page: 2 converting visits.
  ev(V.v6!, at(10, 20), { page: '/' }),
  ev(V.v6!, at(10, 21), { page: '/book-online' }),
  ev(V.v6!, at(10, 140), { page: '/book-online' }),
  // V7: the newsletter (one visitor in its campaign: rare once sealed).
  ev(V.v7!, at(10, 30), {
    page: '/news/spring',
    utmSource: 'newsletter',
    utmMedium: 'email',
    utmCampaign: 'march-newsletter',
  }),
  ev(V.v7!, at(10, 31), { page: '/book-online' }),
  // V8: direct, no booking. V9: organic search on another day, books.
  ev(V.v8!, at(10, 40), { page: '/' }),
  ev(V.v9!, at(20, 0), { page: '/', referrerDomain: 'bing.com' }),
  ev(V.v9!, at(20, 1), { page: '/book-online' }),
  // The patient portal is count-only: 2 conversions of the portal goal, never a converting visit.
  envelope({ practiceId: P, ts: at(12, 0), page: 'patient-portal', countOnly: true }),
  envelope({ practiceId: P, ts: at(12, 5), page: 'patient-portal', countOnly: true }),
  // Outside last month: not counted.
  ev(V.old!, at(10, 0) - 40 * 86_400_000, { page: '/book-online', referrerDomain: 'google.com', paid: true }),
];

let db: Db;
let control: ControlDb;
let cleanup: () => Promise<void>;
let producer: Producer;
let admin: Admin;
let processor: RunningProcessor;
let reporter: FastifyInstance;

const headers = { authorization: `Bearer ${ADMIN_KEY}` };
const get = async (url: string) => {
  const res = await reporter.inject({ url, headers });
  expect(res.statusCode, res.body).toBe(200);
  return res;
};

beforeAll(async () => {
  ({ db, control, cleanup } = await prepareNamespace(config));
  await new PracticeStore(control).save({
    id: P,
    siteKey: 'site-harbor',
    name: 'Harbor Clinic',
    domains: ['harbor.example'],
    timezone: TZ,
    pageClasses: [{ pattern: '/portal/**', name: 'patient-portal', mode: 'count-only' }],
    events: [{ name: 'Call' }],
  });
  const reporterConfig = loadReporterConfig({
    ...process.env,
    CLICKHOUSE_DATABASE: config.clickhouse.database,
    POSTGRES_URL: config.controlPlane.url,
    REPORTER_ADMIN_KEY: ADMIN_KEY,
    LOG_LEVEL: 'silent',
  });
  reporter = await buildApp({ config: reporterConfig, db, control, logger: createLogger('goals-e2e', 'silent') });
  // Goals through the admin API, before the processor loads the practices.
  for (const goal of [
    { id: 'booking', name: 'Booking pages', kind: 'page', pattern: '/book-online/**' },
    { id: 'call', name: 'Calls', kind: 'event', event: 'Call' },
    { id: 'portal', name: 'Portal', kind: 'page-class', pageClass: 'patient-portal' },
  ]) {
    const res = await reporter.inject({
      method: 'POST',
      url: `/v1/admin/practices/${P}/goals`,
      headers,
      payload: goal,
    });
    expect(res.statusCode, res.body).toBe(201);
  }
  const kafka = kafkaFor(config);
  producer = kafka.producer();
  admin = kafka.admin();
  await Promise.all([producer.connect(), admin.connect()]);
  await produceEvents(producer, config.kafka.topicPrefix, events);
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
  await reporter?.close();
  await producer?.disconnect();
  await admin?.disconnect();
  await cleanup?.();
});

// [converting visits, conversions, visits of the value, conversion rate %]
const row = (value: string, convertingVisits: number, conversions: number, visits: number, rate: number | null) => ({
  value,
  convertingVisits,
  conversions,
  visits,
  conversionRatePercent: rate,
});

// By hand. Visits: V1 V2 V3 V10 (Paid Search, spring-checkup), V4 (Organic Social), V5 (AI assistants),
// V6 ×2 and V8 (Direct), V7 (Email, march-newsletter), V9 (Organic Search) = 11.
// Booking: conversions V1 2, V2 1, V10 1, V4 1, V6 2, V7 1, V9 1 = 9; converting visits V1 V2 V10 V4 V6a V6b V7 V9 = 8;
// converting visitors (daily, summed) 7; rate 8/11 = 72.7 %.
const BOOKING_BY_CHANNEL = [
  row('Paid Search', 3, 4, 4, 75),
  row('Direct', 2, 2, 3, 66.7),
  row('Email', 1, 1, 1, 100),
  row('Organic Search', 1, 1, 1, 100),
  row('Organic Social', 1, 1, 1, 100),
];
const BOOKING_BY_CAMPAIGN = [row('spring-checkup', 3, 4, 4, 75), row('march-newsletter', 1, 1, 1, 100)];

describe("done when: last month's booking-page visits by channel and campaign, and their conversion rate", () => {
  it('the stats API gives each goal its conversions, converting visits and rate', async () => {
    const { goals } = (await get(`/v1/practices/${P}/stats/goals?from=${FROM}&to=${TO}`)).json();
    expect(goals).toEqual([
      {
        id: 'booking',
        name: 'Booking pages',
        kind: 'page',
        conversions: 9,
        convertingVisits: 8,
        convertingVisitors: 7,
        visits: 11,
        conversionRatePercent: 72.7,
      },
      // V5's call: in a visit from ChatGPT.
      {
        id: 'call',
        name: 'Calls',
        kind: 'event',
        conversions: 1,
        convertingVisits: 1,
        convertingVisitors: 1,
        visits: 11,
        conversionRatePercent: 9.1,
      },
      // Count-only: conversions only, no rate.
      {
        id: 'portal',
        name: 'Portal',
        kind: 'page-class',
        conversions: 2,
        convertingVisits: 0,
        convertingVisitors: 0,
        visits: 11,
        conversionRatePercent: null,
      },
    ]);
  });

  it('the stats API breaks the booking goal down by channel, campaign and entry page with rates', async () => {
    const body = (
      await get(`/v1/practices/${P}/stats/goals/booking?from=${FROM}&to=${TO}&by=channel,campaign,entry,device`)
    ).json();
    expect(Object.keys(body.breakdowns)).toEqual(['channel', 'campaign', 'entry', 'device']);
    expect(body.breakdowns.channel).toEqual(BOOKING_BY_CHANNEL);
    expect(body.breakdowns.campaign).toEqual(BOOKING_BY_CAMPAIGN);
    // Entries: / (V1, V6a, V9: visits V1 V3 V6a V8 V9 = 5), /book-online (V10, V4, V6b: 3 visits), /services (V2; V2 V5), /news/spring (V7).
    expect(body.breakdowns.entry).toEqual([
      row('/', 3, 4, 5, 60),
      row('/book-online', 3, 3, 3, 100),
      row('/news/spring', 1, 1, 1, 100),
      row('/services', 1, 1, 2, 50),
    ]);
    expect(body.breakdowns.device).toEqual([row('desktop', 7, 8, 10, 70), row('mobile', 1, 1, 1, 100)]);
    const call = (await get(`/v1/practices/${P}/stats/goals/call?from=${FROM}&to=${TO}&by=channel`)).json();
    expect(call.breakdowns.channel).toEqual([row('AI assistants', 1, 1, 1, 100)]);
    const channels = (
      await get(`/v1/practices/${P}/stats/breakdown?from=${FROM}&to=${TO}&dimension=channel&metrics=visits`)
    ).json();
    expect(channels.rows).toEqual([
      { value: 'Paid Search', visits: 4 },
      { value: 'Direct', visits: 3 },
      { value: 'AI assistants', visits: 1 },
      { value: 'Email', visits: 1 },
      { value: 'Organic Search', visits: 1 },
      { value: 'Organic Social', visits: 1 },
    ]);
  });

  it('the monthly report has the same figures in its Goals and Channels sections, in JSON, CSV and HTML', async () => {
    const report = (await get(`/v1/practices/${P}/reports/monthly?month=${MONTH}`)).json();
    expect(report.totals.visits.value).toBe(11);
    expect(report.sections.channels.map((r: { value: string; visits: number }) => [r.value, r.visits])).toEqual([
      ['Paid Search', 4],
      ['Direct', 3],
      ['AI assistants', 1],
      ['Email', 1],
      ['Organic Search', 1],
      ['Organic Social', 1],
    ]);
    const booking = report.goals.find((g: { id: string }) => g.id === 'booking');
    expect(booking).toMatchObject({ conversions: 9, convertingVisits: 8, conversionRatePercent: 72.7 });
    expect(booking.breakdowns.channel).toEqual(BOOKING_BY_CHANNEL);
    expect(booking.breakdowns.campaign).toEqual(BOOKING_BY_CAMPAIGN);

    const csv = (await get(`/v1/practices/${P}/reports/monthly?month=${MONTH}&format=csv`)).body.split('\n');
    expect(csv).toEqual(
      expect.arrayContaining([
        'goals,booking,conversionRatePercent,72.7',
        'goal:booking:channel,Paid Search,convertingVisits,3',
        'goal:booking:channel,Paid Search,conversionRatePercent,75',
        'goal:booking:campaign,spring-checkup,conversionRatePercent,75',
        'channels,Paid Search,visits,4',
      ]),
    );
    const html = (await get(`/v1/practices/${P}/reports/monthly?month=${MONTH}&format=html`)).body;
    expect(html).toContain('<section id="goals"><h2>Goals</h2>');
    expect(html).toContain('data-goal="booking" data-metric="conversionRatePercent">72.7</td>');
    expect(html).toContain(
      'data-goal="booking" data-breakdown="campaign" data-key="spring-checkup" data-metric="conversionRatePercent">75</td>',
    );
    expect(html).toContain('data-section="channels" data-key="Paid Search" data-metric="visits">4</td>');
  });

  it('once the days are sealed, a campaign of fewer than k visitors is (rare) in the goal breakdown too', async () => {
    await sealClosedVisitorStates({ db, clickhouse: config.clickhouse, now: () => Date.now() + 3 * 3_600_000 });
    const body = (await get(`/v1/practices/${P}/stats/goals/booking?from=${FROM}&to=${TO}&by=channel,campaign`)).json();
    expect(body.goal).toMatchObject({ conversions: 9, convertingVisits: 8, conversionRatePercent: 72.7 });
    expect(body.breakdowns.channel).toEqual(BOOKING_BY_CHANNEL);
    // The rule is per day: spring-checkup had 3 converting visitors on the 10th (k = 3) and stays; march-newsletter had one.
    expect(body.breakdowns.campaign).toEqual([row('spring-checkup', 3, 4, 4, 75), row('(rare)', 1, 1, 0, null)]);
    const report = (await get(`/v1/practices/${P}/reports/monthly?month=${MONTH}&format=csv`)).body;
    expect(report).not.toContain('march-newsletter');
  });
});
