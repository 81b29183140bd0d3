import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  buildApp,
  loadCollectorConfig,
  ClickHouseSaltStore,
  DiskSpool,
  BEACON_EVENTS,
  EventProducer,
  KafkaTransport,
  createMetrics,
  PracticeRegistry,
} from '@confidant/collector/components';
import { buildSampleSite } from '@confidant/collector/sample-site';
import {
  connectKafka,
  createLogger,
  decodeEvent,
  PracticeStore,
  topicsFor,
  type EventEnvelope,
} from '@confidant/shared';
import type { FastifyInstance } from 'fastify';
import type { Consumer } from 'kafkajs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, prepareNamespace } from '../support/stack.ts';
import { isolatedConfig } from '../support/test-env.ts';

// A desktop Chrome user agent: headless Chromium's own says "HeadlessChrome", which the bot filter drops.
const USER_AGENT =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

let collector: FastifyInstance;
let producer: EventProducer<EventEnvelope>;
let site: FastifyInstance;
let siteUrl: string;
let collectorUrl: string;
let browser: Browser;
let consumer: Consumer;
let cleanup: () => Promise<void>;
let spoolDir: string;
const events: EventEnvelope[] = [];

beforeAll(async () => {
  const common = isolatedConfig('browser');
  const ns = await prepareNamespace(common);
  cleanup = ns.cleanup;
  await new PracticeStore(ns.control).save({
    id: 'sample-riverside',
    siteKey: 'site-browser',
    name: 'Riverside Family Practice',
    domains: ['127.0.0.1'],
    timezone: 'UTC',
    exitAllowlist: ['www.cdc.gov'],
    events: [{ name: 'Newsletter signup' }],
  });

  const logger = createLogger('collector', 'silent');
  spoolDir = await mkdtemp(join(tmpdir(), 'browser-spool-'));
  const config = {
    ...loadCollectorConfig({}),
    ...common,
    spool: { dir: spoolDir, maxBytes: 10_000_000, replayMs: 500 },
  };
  const metrics = createMetrics();
  const registry = new PracticeRegistry(new PracticeStore(ns.control), logger);
  await registry.refresh();
  producer = new EventProducer(
    new KafkaTransport(connectKafka(common.kafka, logger), topicsFor(common.kafka.topicPrefix).events.name),
    new DiskSpool(spoolDir, config.spool.maxBytes),
    { ...config.producer, replayMs: config.spool.replayMs },
    metrics,
    logger,
    BEACON_EVENTS,
  );
  await producer.start();
  collector = await buildApp({
    config,
    logger,
    registry,
    salts: new ClickHouseSaltStore(ns.salts),
    sink: producer,
    metrics,
  });
  collectorUrl = (await collector.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');

  site = buildSampleSite({ collectorUrl, siteKey: 'site-browser' });
  siteUrl = await site.listen({ port: 0, host: '127.0.0.1' });

  consumer = connectKafka(common.kafka, createLogger('test', 'silent')).consumer({
    groupId: `${common.kafka.topicPrefix}.browser`,
  });
  await consumer.connect();
  await consumer.subscribe({ topic: topicsFor(common.kafka.topicPrefix).events.name, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const decoded = decodeEvent(message.value);
      if (decoded.ok) events.push(decoded.event);
    },
  });

  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    // Set on the command line, not per context: per-context overrides are lost for beacons sent while a page unloads.
    args: [
      `--user-agent=${USER_AGENT}`,
      '--lang=en-US',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await consumer?.disconnect();
  await site?.close();
  await collector?.close();
  await producer?.close();
  await cleanup?.();
  if (spoolDir) await rm(spoolDir, { recursive: true, force: true });
});

/** A fresh browser profile; counts the beacons it sends to the collector. */
async function visitor(
  options: { gpc?: boolean; offline?: boolean } = {},
): Promise<{ context: BrowserContext; page: Page; beacons: string[] }> {
  const context = await browser.newContext(options.gpc ? { extraHTTPHeaders: { 'Sec-GPC': '1' } } : {});
  if (options.gpc)
    await context.addInitScript(() =>
      Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true }),
    );
  // No internet here: outbound destinations are answered locally. Only where needed, because
  // request interception makes Chromium drop keepalive beacons sent while a page unloads.
  if (options.offline)
    await context.route(/^https?:\/\/(maps\.example\.org|pharmacy\.example\.com|www\.cdc\.gov)\//, (route) =>
      route.fulfill({ status: 200, body: 'elsewhere' }),
    );
  const beacons: string[] = [];
  context.on('request', (request) => {
    if (request.method() === 'POST' && request.url() === `${collectorUrl}/e`) beacons.push(request.postData() ?? '');
  });
  return { context, page: await context.newPage(), beacons };
}

const waitFor = (label: string, match: (e: EventEnvelope) => boolean) =>
  eventually(
    async () => events.find(match),
    (e) => e !== undefined,
    20_000,
    label,
  ) as Promise<EventEnvelope>;

describe('tracking snippet in Chromium', () => {
  it('is at most 1 KB gzipped', async () => {
    const code = Buffer.from(await (await fetch(`${collectorUrl}/s.js`)).arrayBuffer());
    expect(code.length).toBeGreaterThan(200);
    expect(gzipSync(code, { level: 9 }).length).toBeLessThanOrEqual(1024);
  });

  it('sends page views, SPA navigations, custom events, 404s and count-only classes', async () => {
    const { context, page } = await visitor();
    await page.goto(`${siteUrl}/`);
    const home = await waitFor('home page view', (e) => e.type === 'pageview' && e.page === '/');
    expect(home).toMatchObject({
      practiceId: 'sample-riverside',
      browser: 'Chrome',
      os: 'Linux',
      device: 'desktop',
      countOnly: false,
    });

    await page.goto(`${siteUrl}/services`);
    await page.click('#tab-cardiology');
    const spa = await waitFor('SPA page view', (e) => e.type === 'pageview' && e.page === '/services/cardiology');
    expect(spa.referrerDomain).toBe('internal');
    expect(spa.visitor).toBe(home.visitor);

    await page.goto(`${siteUrl}/physicians/dr-lopez`);
    await page.click('#signup');
    expect(await waitFor('custom event', (e) => e.type === 'event' && e.name === 'Newsletter signup')).toMatchObject({
      page: '/physicians/dr-lopez',
    });

    await page.goto(`${siteUrl}/no-such-page`);
    await waitFor('404', (e) => e.type === 'notfound' && e.page === '/no-such-page');

    await page.goto(`${siteUrl}/appointments/`);
    expect(await waitFor('count-only page', (e) => e.page === 'appointments')).toMatchObject({
      countOnly: true,
      referrerDomain: null,
    });
    await context.close();
  });

  it('sends visible time when the page is hidden and when it is left', async () => {
    const { context, page } = await visitor();
    await page.goto(`${siteUrl}/privacy`);
    await page.waitForTimeout(700);
    await page.evaluate(() => {
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    const hidden = await waitFor('engagement on hide', (e) => e.type === 'engagement' && e.page === '/privacy');
    expect(hidden.engagedMs).toBeGreaterThanOrEqual(600);

    await page.goto(`${siteUrl}/contact`);
    await page.waitForTimeout(600);
    await page.goto(`${siteUrl}/`);
    const left = await waitFor('engagement on leave', (e) => e.type === 'engagement' && e.page === '/contact');
    expect(left.engagedMs).toBeGreaterThanOrEqual(500);
    // One engagement per hide: the clock stops when the page is left, so no 0-ms stragglers.
    await page.waitForTimeout(300);
    expect(events.filter((e) => e.type === 'engagement' && e.page === '/contact')).toHaveLength(1);
    await context.close();
  });

  it('records outbound clicks directly and through the buffer page', async () => {
    const { context, page } = await visitor({ offline: true });
    await page.goto(`${siteUrl}/contact`);
    await page.click('#map');
    // Destinations are stored as their registrable domain.
    await waitFor('outbound click', (e) => e.type === 'outbound' && e.target === 'example.org');

    await page.click('#pharmacy');
    await page.waitForURL(`${collectorUrl}/out?**`);
    expect(await page.textContent('.dest')).toBe('pharmacy.example.com');
    expect(await page.textContent('body')).toContain('Riverside Family Practice');
    await waitFor('buffer page exit', (e) => e.type === 'outbound' && e.target === 'example.com');
    // No automatic continue to a destination the practice has not allowlisted.
    await page.waitForTimeout(3500);
    expect(page.url()).toContain(`${collectorUrl}/out`);
    await page.click('a.btn');
    await page.waitForURL('https://pharmacy.example.com/refills');
    await context.close();
  });

  it('sends nothing under Global Privacy Control', async () => {
    const { context, page, beacons } = await visitor({ gpc: true });
    await page.goto(`${siteUrl}/`);
    await page.goto(`${siteUrl}/services`);
    await page.click('#tab-dermatology');
    await page.waitForTimeout(500);
    expect(await page.evaluate(() => typeof (window as unknown as { confidant?: unknown }).confidant)).toBe('function');
    expect(beacons).toEqual([]);
    await context.close();
  });

  it('sends nothing after the visitor opts out on the privacy page', async () => {
    const { context, page, beacons } = await visitor();
    await page.goto(`${siteUrl}/privacy`);
    await expect.poll(() => beacons.length).toBe(1);
    await page.click('#optout');
    await page.goto(`${siteUrl}/`);
    await page.goto(`${siteUrl}/services`);
    await page.click('#tab-pediatrics');
    await page.waitForTimeout(500);
    expect(beacons).toHaveLength(1);
    await context.close();
  });
});
