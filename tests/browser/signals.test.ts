import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import Fastify from 'fastify';
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
import type { RunningProcessor } from '@confidant/processor';
import {
  connectKafka,
  createLogger,
  metricMergeExpression,
  PracticeStore,
  sqlv,
  TABLES,
  topicsFor,
  type Db,
  type EventEnvelope,
} from '@confidant/shared';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processorEnv, startInProcess } from '../support/processor-harness.ts';
import { eventually, prepareNamespace } from '../support/stack.ts';
import { isolatedConfig } from '../support/test-env.ts';

/**
 * The snippet's built-in signals end to end: calls, emails, directions, forms and scroll depth from a
 * real Chromium through the collector, Kafka, the processor and ClickHouse, checked against the
 * counts of the scripted visits, with none of the number, address, destination or form text stored.
 */

// A desktop Chrome user agent: headless Chromium's own says "HeadlessChrome", which the bot filter drops.
const USER_AGENT =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const PRACTICE = 'signals-riverside';
/** The same signals sent by the official Plausible tracker, from a site of another practice (served on `localhost`). */
const PLAUSIBLE_PRACTICE = 'signals-plausible';

let db: Db;
let collector: FastifyInstance;
let producer: EventProducer<EventEnvelope>;
let processor: RunningProcessor;
let site: FastifyInstance;
let siteUrl: string;
let plausibleSite: FastifyInstance;
let plausibleUrl: string;
let browser: Browser;
let cleanup: () => Promise<void>;
let spoolDir: string;

beforeAll(async () => {
  const common = isolatedConfig('signals');
  const ns = await prepareNamespace(common);
  db = ns.db;
  cleanup = ns.cleanup;
  await new PracticeStore(ns.control).save({
    id: PRACTICE,
    siteKey: 'site-signals',
    name: 'Riverside Family Practice',
    domains: ['127.0.0.1'],
    timezone: 'UTC',
  });
  await new PracticeStore(ns.control).save({
    id: PLAUSIBLE_PRACTICE,
    siteKey: 'site-signals-plausible',
    name: 'Lakeside Clinic',
    domains: ['localhost'],
    timezone: 'UTC',
  });

  const logger = createLogger('collector', 'silent');
  spoolDir = await mkdtemp(join(tmpdir(), 'signals-spool-'));
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
  const collectorUrl = (await collector.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
  processor = await startInProcess(processorEnv(common, { LOG_LEVEL: 'silent' }), db, ns.control);

  site = buildSampleSite({ collectorUrl, siteKey: 'site-signals' });
  siteUrl = await site.listen({ port: 0, host: '127.0.0.1' });
  plausibleSite = plausibleTrackerSite(collectorUrl);
  const port = new URL(await plausibleSite.listen({ port: 0, host: '127.0.0.1' })).port;
  plausibleUrl = `http://localhost:${port}`;

  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
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
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await site?.close();
  await plausibleSite?.close();
  await collector?.close();
  await producer?.close();
  await processor?.stop();
  await cleanup?.();
  if (spoolDir) await rm(spoolDir, { recursive: true, force: true });
});

/**
 * A contact page that loads the npm Plausible tracker (bundled here as its README suggests for a site
 * without a bundler) with form and outbound tracking on, its endpoint the collector's `/api/event`; a
 * call link sends the `Phone Call` event sites define for it.
 */
function plausibleTrackerSite(collectorUrl: string): FastifyInstance {
  const tracker = buildSync({
    entryPoints: [createRequire(import.meta.url).resolve('@plausible-analytics/tracker')],
    bundle: true,
    format: 'iife',
    globalName: 'PlausibleTracker',
    write: false,
  }).outputFiles[0]!.text;
  const init = JSON.stringify({
    domain: 'localhost',
    endpoint: `${collectorUrl}/api/event`,
    outboundLinks: true,
    formSubmissions: true,
    captureOnLocalhost: true,
    logging: false,
  });
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Contact</title>
<script>${tracker}\nPlausibleTracker.init(${init});</script></head><body>
<h1>Contact</h1>
<p><a id="call" href="tel:+15550100123" onclick="plausible('Phone Call')">(555) 010-0123</a></p>
<p><a id="directions" href="https://www.google.com/maps/dir/?api=1&amp;destination=9+Lake+Street" target="_blank">Directions</a></p>
<form id="contact-form" onsubmit="event.preventDefault(); document.getElementById('sent').hidden = false;">
<textarea name="message"></textarea><button id="send">Send</button></form><p id="sent" hidden>Sent.</p>
<p style="min-height:200vh">Opening hours.</p><p>End.</p>
</body></html>`;
  const app = Fastify({ logger: false });
  app.get('/contact', async (_req, reply) => reply.header('content-type', 'text/html; charset=utf-8').send(html));
  return app;
}

/** A fresh browser profile in which `tel:` and `mailto:` links open nothing (there is no phone or mail app). */
async function visitor(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  await context.addInitScript(() =>
    document.addEventListener('click', (e) => {
      if ((e.target as Element).closest?.('a[href^="tel:"], a[href^="mailto:"]')) e.preventDefault();
    }),
  );
  // No internet here: the map service is answered locally (only it: interception drops beacons of unloading pages).
  await context.route(/^https:\/\/www\.google\.com\//, (route) => route.fulfill({ status: 200, body: 'a map' }));
  return { context, page: await context.newPage() };
}

/** Hides the page, as switching tabs does: the trackers then send their engagement, with the scroll depth. */
const hide = (page: Page) =>
  page.evaluate(() => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
  });

/** The practice's rollup rows as `dim=value` → [page views, visits, events], rows that net to zero left out. */
async function rollups(practiceId: string): Promise<Record<string, readonly [number, number, number]>> {
  const rows = await db.rows<{ k: string; pv: string; vi: string; ev: string }>(
    `SELECT concat(dim, '=', value) AS k, toString(${metricMergeExpression('pageviews')}) AS pv,` +
      ` toString(${metricMergeExpression('visits')}) AS vi, toString(${metricMergeExpression('events')}) AS ev` +
      ` FROM ${TABLES.rollupDaily} WHERE practice_id = ${sqlv.str(practiceId)} GROUP BY k`,
  );
  return Object.fromEntries(
    rows
      .map((r) => [r.k, [Number(r.pv), Number(r.vi), Number(r.ev)]] as const)
      .filter(([, counts]) => counts.some((n) => n !== 0)),
  );
}

type Rows = Record<string, readonly [number, number, number]>;

/** The rows once they hold `expected` (events arrive in several processor batches), or a timeout naming the last seen. */
const settled = (practiceId: string, expected: Rows): Promise<Rows> =>
  eventually(
    () => rollups(practiceId),
    (rows) => Object.entries(expected).every(([k, counts]) => JSON.stringify(rows[k]) === JSON.stringify(counts)),
    60_000,
    `${practiceId} rollups`,
  );

/**
 * Runs `action` and waits until the collector has answered the beacon it sends (`path`: the endpoint,
 * `sent`: text of its body), so that one step's beacon is not still in flight when the next step opens
 * a window or leaves the page.
 */
async function answered(page: Page, path: string, sent: string, action: () => Promise<unknown>): Promise<void> {
  const [response] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === path && (r.request().postData() ?? '').includes(sent), {
      timeout: 20_000,
    }),
    action(),
  ]);
  expect(response.status()).toBe(202);
}

/** Scrolls to the end of the page and waits until the page has seen its scroll event (the trackers read depth there). */
const scrollToEnd = (page: Page) =>
  page.evaluate(
    () =>
      new Promise<void>((resolve) => {
        addEventListener('scroll', () => resolve(), { once: true });
        scrollTo(0, document.documentElement.scrollHeight);
      }),
  );

describe('built-in signals in Chromium, through Kafka and ClickHouse', () => {
  it('counts calls, emails, directions, forms and scroll depth by kind only', async () => {
    const { context, page } = await visitor();
    await page.goto(`${siteUrl}/contact`);
    await answered(page, '/e', '"tel:"', () => page.click('#call'));
    await answered(page, '/e', '"mailto:"', () => page.click('#email'));
    let popup: Page | undefined;
    await answered(page, '/e', 'google.com/maps', async () => {
      [popup] = await Promise.all([context.waitForEvent('page'), page.click('#directions')]);
    });
    await popup!.close();
    await page.fill('textarea[name=message]', 'Jane Doe, 555-0100, my knee hurts');
    await answered(page, '/e', '"form"', () => page.click('#send'));
    await scrollToEnd(page);
    await answered(page, '/e', '"engagement"', () => hide(page));
    // A booking page is count-only: its form is counted under its class, with no visitor.
    await page.goto(`${siteUrl}/appointments/`);
    await answered(page, '/e', '"form"', () => page.click('button'));
    await context.close();

    // Hand-counted: one call, one email, one directions click, two forms; one visit on a laptop-sized screen.
    const expected: Rows = {
      'action=call': [0, 0, 1],
      'action=email': [0, 0, 1],
      'action=directions': [0, 0, 1],
      'action=form': [0, 0, 2],
      'form=contact-us': [0, 0, 1],
      'form=appointments': [0, 0, 1],
      'scroll=100': [1, 0, 0],
      'scroll_page=/contact#100': [1, 0, 0],
      'screen=laptop': [1, 1, 0],
      'total=': [2, 1, 5],
    };
    const rows = await settled(PRACTICE, expected);
    expect(rows).toMatchObject(expected);
    // Whatever the page sent while it was open, a page view is counted at one depth only.
    const scrolls = Object.entries(rows).filter(([k]) => k.startsWith('scroll='));
    expect(scrolls.reduce((n, [, [pv]]) => n + pv, 0)).toBe(1);
    // The link was a map: not an exit to google.com.
    expect(Object.keys(rows).filter((k) => k.startsWith('exit_domain='))).toEqual([]);
    const stored = JSON.stringify(Object.keys(rows));
    for (const secret of ['555', '0100', 'front-desk', 'River Road', 'Jane', 'knee'])
      expect(stored).not.toContain(secret);
  });

  it('counts the same signals from the official Plausible tracker on /api/event', async () => {
    const { context, page } = await visitor();
    await page.goto(`${plausibleUrl}/contact`);
    await answered(page, '/api/event', 'Phone Call', () => page.click('#call'));
    let popup: Page | undefined;
    await answered(page, '/api/event', 'google.com/maps', async () => {
      [popup] = await Promise.all([context.waitForEvent('page'), page.click('#directions')]);
    });
    await popup!.close();
    await page.fill('textarea[name=message]', 'Jane Doe, 555-0100');
    await answered(page, '/api/event', 'Form: Submission', () => page.click('#send'));
    await scrollToEnd(page);
    await answered(page, '/api/event', '"sd":100', () => hide(page));
    await context.close();

    // Hand-counted: a page view, a Phone Call, an outbound click to a map, a Form: Submission, an engagement at the end.
    const expected: Rows = {
      'action=call': [0, 0, 1],
      'action=directions': [0, 0, 1],
      'action=form': [0, 0, 1],
      'form=/contact': [0, 0, 1],
      'scroll=100': [1, 0, 0],
      'scroll_page=/contact#100': [1, 0, 0],
      'total=': [1, 1, 3],
    };
    const rows = await settled(PLAUSIBLE_PRACTICE, expected);
    expect(rows).toMatchObject(expected);
    // This tracker sends no width (`w`), so no screen class: /api/event keeps one only when `w` is sent.
    const unexpected = (k: string) => ['event=', 'exit_domain=', 'screen='].some((dim) => k.startsWith(dim));
    expect(Object.keys(rows).filter(unexpected)).toEqual([]);
    expect(JSON.stringify(Object.keys(rows))).not.toMatch(/555|Lake|Jane/);
  });
});
