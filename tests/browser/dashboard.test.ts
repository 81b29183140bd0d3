import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { LiveVisitsStore } from '@confidant/shared';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  ADMIN_KEY,
  adminAuth,
  bearer,
  practice,
  RollupFixture,
  savePractices,
  startReporter,
  type ReporterHarness,
} from '../support/reporter-fixture.ts';
import { testEnv } from '../support/test-env.ts';

// The practice dashboard in Debian's chromium, against rollups whose figures are written out below.
let h: ReporterHarness;
let browser: Browser;
let base: string;
let practiceKey: string;
let partnerKey: string;

const APRIL = Array.from({ length: 30 }, (_, i) => `2024-04-${String(i + 1).padStart(2, '0')}`);
const visitsOn = (d: number) => 40 + d;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

async function createKey(body: object): Promise<string> {
  const res = await h.app.inject({ method: 'POST', url: '/v1/admin/keys', headers: adminAuth, payload: body });
  expect(res.statusCode).toBe(201);
  return res.json().key as string;
}

beforeAll(async () => {
  // "Now" is 30 April 2024, 10:00 in Berlin: the presets count back from that local day.
  h = await startReporter('dashboard', {}, { now: () => new Date('2024-04-30T08:00:00Z') });
  await savePractices(
    h.control,
    practice('sunrise', { name: 'Sunrise Family Practice', timezone: 'Europe/Berlin' }),
    practice('lakeside', { name: 'Lakeside Clinic', timezone: 'Europe/Berlin' }),
  );
  const f = new RollupFixture();
  APRIL.forEach((day, i) => {
    const visits = visitsOn(i + 1);
    f.daily({
      practiceId: 'sunrise',
      day,
      dim: 'total',
      pageviews: visits * 3,
      visits,
      bounces: Math.floor(visits / 4),
      engagedMs: visits * 30_000,
      visitors: Array.from({ length: visits - 2 }, (_, k) => (i + 1) * 1000 + k),
    });
    f.daily({ practiceId: 'sunrise', day, dim: 'page', value: '/', pageviews: visits });
    f.daily({ practiceId: 'sunrise', day, dim: 'page', value: '/appointments', pageviews: visits * 2 });
    f.daily({ practiceId: 'sunrise', day, dim: 'country', value: 'DE', visits: visits - 3 });
    f.daily({ practiceId: 'sunrise', day, dim: 'country', value: 'AT', visits: 3 });
  });
  // The 30 days before April (2 to 31 March): 20 visits a day.
  for (let d = 2; d <= 31; d++) {
    f.daily({
      practiceId: 'sunrise',
      day: `2024-03-${String(d).padStart(2, '0')}`,
      dim: 'total',
      pageviews: 60,
      visits: 20,
      bounces: 5,
      engagedMs: 600_000,
    });
  }
  f.daily({ practiceId: 'lakeside', day: '2024-04-30', dim: 'total', pageviews: 7, visits: 7 });
  await f.flush(h.db);
  // Two processors' published counts of visits open now.
  await new LiveVisitsStore(h.control).publish(
    'processor-1',
    ['events:0'],
    [{ partition: 'events:0', practiceId: 'sunrise', source: 'snippet', openVisits: 3 }],
  );
  await new LiveVisitsStore(h.control).publish(
    'processor-2',
    ['events:1'],
    [
      { partition: 'events:1', practiceId: 'sunrise', source: 'snippet', openVisits: 2 },
      { partition: 'events:1', practiceId: 'lakeside', source: 'snippet', openVisits: 9 },
    ],
  );
  practiceKey = await createKey({ role: 'practice', scopeId: 'sunrise' });
  const partner = await h.app.inject({
    method: 'POST',
    url: '/v1/admin/partners',
    headers: adminAuth,
    payload: { id: 'acme', name: 'Acme Research' },
  });
  expect(partner.statusCode).toBe(201);
  partnerKey = await createKey({ role: 'partner', scopeId: 'acme' });
  base = await h.app.listen({ port: 0, host: '127.0.0.1' });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await h?.cleanup();
});

/** A page opened with a key (as a Basic password), with every console error and foreign request collected. */
async function open(
  key: string,
  path = '/dashboard',
): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({
    // As a browser that has answered the key prompt sends it: with every request (without it, /dashboard sends people to sign in).
    extraHTTPHeaders: { authorization: `Basic ${Buffer.from(`manager:${key}`).toString('base64')}` },
    viewport: { width: 1200, height: 1400 },
  });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('request', (r) => {
    if (!r.url().startsWith(base)) problems.push(`foreign request: ${r.url()}`);
  });
  const res = await page.goto(`${base}${path}`);
  expect(res?.status()).toBe(200);
  return { context, page, problems };
}

const shown = (page: Page, total: string) => page.locator(`#totals [data-total="${total}"]`).textContent();
const settled = (page: Page, from: string, to: string) =>
  expect.poll(() => page.locator('#status').textContent(), { timeout: 15_000 }).toBe(`Showing ${from} to ${to}.`);

describe('the practice dashboard', () => {
  test('shows the last 30 days with the previous 30 for comparison, as written in the rollups', async () => {
    const { context, page, problems } = await open(practiceKey);
    await settled(page, '2024-04-01', '2024-04-30');
    const visits = sum(APRIL.map((_, i) => visitsOn(i + 1)));
    expect(await shown(page, 'visits')).toBe(visits.toLocaleString('en'));
    expect(await shown(page, 'pageviews')).toBe((3 * visits).toLocaleString('en'));
    expect(await shown(page, 'visitors')).toBe((visits - 60).toLocaleString('en'));
    const bounces = sum(APRIL.map((_, i) => Math.floor(visitsOn(i + 1) / 4)));
    expect(await shown(page, 'bounceRate')).toBe(`${Math.round((1000 * bounces) / visits) / 10}%`);
    expect(await shown(page, 'avgVisitSeconds')).toBe('0m 30s');
    // March 2–31 had 600 visits.
    const change = Math.round((1000 * (visits - 600)) / 600) / 10;
    expect(await page.locator('#totals .total').nth(1).locator('.change').textContent()).toBe(`+${change}% (was 600)`);

    await expect.poll(() => page.locator('#current').textContent()).toBe('5');

    // The chart is drawn, and its figures are in the table beside it.
    expect(await page.locator('#chart canvas').count()).toBeGreaterThan(0);
    expect(await page.locator('#chart-table tbody tr').count()).toBe(30);
    expect(await page.locator('#chart-table tbody tr').first().locator('td').nth(2).textContent()).toBe(String(41 * 3));

    // Panels: pages ranked by page views, countries by visits.
    const pages = page.locator('[data-panel="pages"] tbody tr');
    expect(await pages.count()).toBe(2);
    expect(await pages.first().locator('button').textContent()).toBe('/appointments');
    expect(await pages.first().locator('td').nth(1).textContent()).toBe((2 * visits).toLocaleString('en'));
    expect(await page.locator('[data-panel="countries"] tbody tr').nth(1).locator('td').nth(1).textContent()).toBe(
      '90',
    );

    // Drill-down: one page's days.
    await pages.first().locator('button').click();
    await page.locator('#detail-title').filter({ hasText: 'Top pages: /appointments' }).waitFor();
    expect(await page.locator('#detail-table tbody tr').count()).toBe(30);
    expect(await page.locator('#detail-table tbody tr').nth(9).locator('td').nth(1).textContent()).toBe(
      String(2 * visitsOn(10)),
    );

    // The CSV of a panel, with the caller's credentials.
    const href = await page.locator('[data-panel="pages"] a.csv').getAttribute('href');
    const csv = await page.request.get(`${base}${href}`);
    expect(csv.status()).toBe(200);
    expect(await csv.text()).toBe(`page,pageviews,visitors\n/appointments,${2 * visits},0\n/,${visits},0\n`);

    // The monthly report links point at the month of the range's end.
    expect(await page.locator('#report-csv').getAttribute('href')).toBe(
      '/v1/practices/sunrise/reports/monthly?month=2024-04&format=csv&source=snippet',
    );

    const axe = await new AxeBuilder({ page }).analyze();
    expect(axe.violations.map((v) => `${v.id}: ${v.help}`)).toEqual([]);
    await mkdir(testEnv.outputDir, { recursive: true });
    await page.screenshot({ path: join(testEnv.outputDir, 'reporter-dashboard.png'), fullPage: true });
    expect(problems).toEqual([]);
    await context.close();
  });

  test('presets, custom ranges, the source switch and the year comparison re-read the figures', async () => {
    const { context, page, problems } = await open(practiceKey);
    await settled(page, '2024-04-01', '2024-04-30');
    await page.selectOption('#range', 'today');
    await settled(page, '2024-04-30', '2024-04-30');
    expect(await shown(page, 'visits')).toBe(String(visitsOn(30)));
    expect(page.url()).toContain('range=today');

    await page.fill('#from', '2024-04-10');
    await page.locator('#from').dispatchEvent('change');
    await settled(page, '2024-04-10', '2024-04-30');
    expect(await page.locator('#range').inputValue()).toBe('custom');
    expect(await shown(page, 'visits')).toBe(sum(APRIL.slice(9).map((_, i) => visitsOn(i + 10))).toLocaleString('en'));

    await page.selectOption('#compare', 'year');
    await settled(page, '2024-04-10', '2024-04-30');
    expect(await page.locator('#totals .total').nth(1).locator('.change').textContent()).toBe('no comparison (was 0)');

    await page.selectOption('#source', 'logs');
    await settled(page, '2024-04-10', '2024-04-30');
    expect(await shown(page, 'visits')).toBe('0');
    expect(await page.locator('[data-panel="pages"] .empty').textContent()).toBe('Nothing in this period.');

    // A reload keeps the view.
    await page.reload();
    await settled(page, '2024-04-10', '2024-04-30');
    expect(await page.locator('#source').inputValue()).toBe('logs');
    expect(problems).toEqual([]);
    await context.close();
  });

  test('a share link opens one practice; a protected one only after its password', async () => {
    const create = async (payload: object) =>
      (
        await h.app.inject({ method: 'POST', url: '/v1/practices/sunrise/share-links', headers: adminAuth, payload })
      ).json() as { path: string; error?: unknown };
    const visits = sum(APRIL.map((_, i) => visitsOn(i + 1)));

    // No login at all: the token in the address is the credential.
    const context = await browser.newContext({ viewport: { width: 1200, height: 1400 } });
    const problems: string[] = [];
    const page = await context.newPage();
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    const open = await create({ label: 'board' });
    expect(open.error).toBeUndefined();
    expect((await page.goto(`${base}${open.path}`))?.status()).toBe(200);
    await settled(page, '2024-04-01', '2024-04-30');
    expect(await page.locator('h1').textContent()).toBe('Sunrise Family Practice');
    expect(await shown(page, 'visits')).toBe(visits.toLocaleString('en'));
    expect(await page.locator('#practice').isVisible()).toBe(false);
    // A panel's CSV comes down with the token, not through a plain link.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('[data-panel="pages"] a.csv').click(),
    ]);
    expect(download.suggestedFilename()).toBe('sunrise-page-2024-04-01-2024-04-30.csv');

    const locked = await create({ password: 'correct horse battery' });
    expect((await page.goto(`${base}${locked.path}`))?.status()).toBe(200);
    expect(await page.locator('h1').textContent()).toBe('Shared dashboard');
    expect(await page.locator('#view').isVisible()).toBe(false);
    await page.fill('#password', 'wrong password!');
    await page.click('#unlock button');
    await expect.poll(() => page.locator('#status').textContent()).toBe('Could not load: wrong password');
    expect(await page.locator('#view').isVisible()).toBe(false);
    await page.fill('#password', 'correct horse battery');
    await page.click('#unlock button');
    await settled(page, '2024-04-01', '2024-04-30');
    expect(await shown(page, 'visits')).toBe(visits.toLocaleString('en'));
    const axe = await new AxeBuilder({ page }).analyze();
    expect(axe.violations.map((v) => `${v.id}: ${v.help}`)).toEqual([]);
    // The failed unlock's 401 is the only error the console saw.
    expect(problems.filter((p) => !p.includes('401'))).toEqual([]);
    await context.close();
  });

  test('an admin switches practices; a practice key sees only its own; a partner key none', async () => {
    const { context, page } = await open(ADMIN_KEY);
    expect(await page.locator('#practice option').allTextContents()).toEqual([
      'Lakeside Clinic',
      'Sunrise Family Practice',
    ]);
    await settled(page, '2024-04-01', '2024-04-30');
    await Promise.all([page.waitForURL(/practice=sunrise/), page.selectOption('#practice', 'sunrise')]);
    await settled(page, '2024-04-01', '2024-04-30');
    expect(await page.locator('h1').textContent()).toBe('Sunrise Family Practice');
    await context.close();

    const own = await h.app.inject({ url: '/dashboard?practice=lakeside', headers: bearer(practiceKey) });
    expect(own.statusCode).toBe(403);
    const other = await h.app.inject({
      url: '/v1/practices/lakeside/stats/summary?from=2024-04-01&to=2024-04-30',
      headers: bearer(practiceKey),
    });
    expect(other.statusCode).toBe(403);
    const partner = await h.app.inject({ url: '/dashboard', headers: bearer(partnerKey) });
    expect(partner.statusCode).toBe(403);
    // Without a key or a session, a person is sent to sign in.
    const anonymous = await h.app.inject({ url: '/dashboard' });
    expect(anonymous.statusCode).toBe(303);
    expect(anonymous.headers.location).toBe('/account/sign-in');
  });
});
