import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import {
  ADMIN_KEY,
  adminAuth,
  practice,
  RollupFixture,
  savePractices,
  startReporter,
  type ReporterHarness,
} from '../support/reporter-fixture.ts';
import { testEnv } from '../support/test-env.ts';

// Opens the printable HTML report in Debian's chromium and checks it against the JSON report.
let h: ReporterHarness;
let browser: Browser;
let base: string;

beforeAll(async () => {
  h = await startReporter('browser');
  await savePractices(h.control, practice('sunrise', { name: 'Sunrise Family Practice', timezone: 'Europe/Berlin' }));
  const f = new RollupFixture();
  for (let d = 1; d <= 30; d++) {
    const day = `2024-04-${String(d).padStart(2, '0')}`;
    const weekday = new Date(`${day}T00:00:00Z`).getUTCDay();
    const visits = weekday === 0 || weekday === 6 ? 20 + d : 60 + 2 * d;
    f.daily({
      practiceId: 'sunrise',
      day,
      dim: 'total',
      pageviews: visits * 3,
      visits,
      bounces: Math.floor(visits / 3),
      engagedMs: visits * 45_000,
      visitors: Array.from({ length: visits - 5 }, (_, i) => d * 1000 + i),
    });
    f.daily({ practiceId: 'sunrise', day, dim: 'page', value: '/', pageviews: visits });
    f.daily({ practiceId: 'sunrise', day, dim: 'page', value: '/appointments', pageviews: visits * 2 });
    f.daily({ practiceId: 'sunrise', day, dim: 'country', value: 'DE', visits: visits - 4, pageviews: visits * 3 - 8 });
    f.daily({ practiceId: 'sunrise', day, dim: 'country', value: 'AT', visits: 4, pageviews: 8 });
    f.daily({ practiceId: 'sunrise', day, dim: 'referrer', value: d % 2 ? 'google.com' : '(direct)', visits });
  }
  f.daily({
    practiceId: 'sunrise',
    day: '2024-03-15',
    dim: 'total',
    pageviews: 3000,
    visits: 1000,
    bounces: 400,
    engagedMs: 40_000_000,
    visitors: [1, 2, 3],
  });
  await f.flush(h.db);
  base = await h.app.listen({ port: 0, host: '127.0.0.1' });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
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
  await h?.cleanup();
});

test('the HTML report shows the JSON numbers, styled under its CSP, and is saved as a screenshot', async () => {
  const url = '/v1/practices/sunrise/reports/monthly?month=2024-04';
  const json = (await h.app.inject({ url, headers: adminAuth })).json();
  expect(json.totals.visits.value).toBeGreaterThan(0);

  // The browser's own login flow: a Basic challenge answered with the key as the password.
  const context = await browser.newContext({
    httpCredentials: { username: 'manager', password: ADMIN_KEY },
    viewport: { width: 900, height: 1200 },
  });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));

  const res = await page.goto(`${base}${url}&format=html`);
  expect(res?.status()).toBe(200);

  const fmt = (n: number | null) => (n === null ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: 1 }));
  for (const [k, t] of Object.entries(json.totals) as Array<[string, { value: number | null }]>) {
    expect(await page.locator(`[data-total="${k}"]`).textContent(), k).toBe(fmt(t.value));
  }
  for (const d of json.daily) {
    expect(await page.locator(`[data-daily="${d.day}"][data-metric="pageviews"]`).textContent()).toBe(fmt(d.pageviews));
  }
  for (const row of json.sections.countries) {
    expect(
      await page.locator(`[data-section="countries"][data-key="${row.value}"][data-metric="visits"]`).textContent(),
    ).toBe(fmt(row.visits));
  }
  expect(await page.locator('svg rect.bar').count()).toBe(30);
  expect(await page.locator('#visitors-note').textContent()).toBe(json.visitors.note);
  // the stylesheet applied (its hash is in the CSP), and nothing else was loaded or blocked
  expect(
    await page
      .locator('.tile')
      .first()
      .evaluate((el) => getComputedStyle(el).borderTopStyle),
  ).toBe('solid');
  expect(problems).toEqual([]);
  expect(requests.filter((r) => !r.startsWith(base))).toEqual([]);

  await mkdir(testEnv.outputDir, { recursive: true });
  await page.screenshot({ path: join(testEnv.outputDir, 'reporter-monthly-report.png'), fullPage: true });
  await page.emulateMedia({ media: 'print' });
  expect(await page.locator('[data-total="pageviews"]').isVisible()).toBe(true);
  await context.close();
});
