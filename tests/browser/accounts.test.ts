import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createPerson, newSecret, PASSWORD, totpCode } from '../support/accounts-fixture.ts';
import { linkIn, startMailServer, type MailServer } from '../support/mail-server.ts';
import {
  adminAuth,
  practice,
  RollupFixture,
  savePractices,
  startReporter,
  type ReporterHarness,
} from '../support/reporter-fixture.ts';
import { testEnv } from '../support/test-env.ts';

// People's accounts in real Chromium against the real reporter (and ClickHouse behind its reports):
// mails come from a real SMTP server; screenshots go to test-output/.
const PUBLIC_URL = 'http://reporter.test';
let h: ReporterHarness;
let mail: MailServer;
let chrome: Browser;
let base: string;

beforeAll(async () => {
  mail = await startMailServer();
  h = await startReporter('browseraccounts', { SMTP_URL: mail.url, REPORTER_PUBLIC_URL: PUBLIC_URL });
  await savePractices(
    h.control,
    practice('sunrise', { name: 'Sunrise Family Practice' }),
    practice('harbour', { name: 'Harbour Clinic' }),
  );
  const f = new RollupFixture();
  for (const [id, visits] of [
    ['sunrise', 40],
    ['harbour', 70],
  ] as const)
    f.daily({
      practiceId: id,
      day: `${new Date().toISOString().slice(0, 8)}01`,
      dim: 'total',
      pageviews: visits * 2,
      visits,
    });
  await f.flush(h.db);
  await h.app.inject({
    method: 'POST',
    url: '/v1/admin/partners',
    headers: adminAuth,
    payload: { id: 'acme', name: 'Acme' },
  });
  base = await h.app.listen({ port: 0, host: '127.0.0.1' });
  chrome = await chromium.launch({
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
  await mkdir(testEnv.outputDir, { recursive: true });
});

afterAll(async () => {
  await chrome?.close();
  await h?.cleanup();
  await mail?.close();
});

/** A fresh browser profile, recording anything that failed to load or broke the CSP. */
async function open(width = 1000): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await chrome.newContext({ viewport: { width, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    // Refusals the test asks for (401, 403, 410, 429) are logged by Chromium as failed loads; anything else is a problem.
    if (m.type() === 'error' && !/status of (401|403|410|429)/.test(m.text())) problems.push(m.text());
  });
  page.on('request', (r) => {
    if (!r.url().startsWith(base)) problems.push(`external request: ${r.url()}`);
  });
  return { context, page, problems };
}

/** Saves the page as a screenshot, after checking it has no serious or critical axe-core violation. */
async function shot(page: Page, name: string): Promise<void> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.map((v) => `${name}: ${v.id} ${v.help}`)).toEqual([]);
  await page.screenshot({ path: join(testEnv.outputDir, `accounts-${name}.png`), fullPage: true });
}
const local = (url: URL) => `${base}${url.pathname}${url.search}`;

async function signIn(page: Page, email: string, password: string, code = ''): Promise<number | undefined> {
  await page.goto(`${base}/account/sign-in`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  if (code) await page.getByLabel(/Two-factor code/).fill(code);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/account/sign-in') && r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ]);
  await page.waitForLoadState();
  return response.status();
}

describe('accounts in Chromium', () => {
  test('invitation by mail, sign-in by keyboard only at 360 px, the own report, sign-out', async () => {
    const sent = await h.app.inject({
      method: 'POST',
      url: '/v1/admin/invitations',
      headers: adminAuth,
      payload: { email: 'manager@sunrise.example', practiceId: 'sunrise', role: 'owner' },
    });
    expect(sent.statusCode, sent.body).toBe(201);
    const link = linkIn(await mail.next('manager@sunrise.example'), PUBLIC_URL);
    const { context, page, problems } = await open(360);
    await page.goto(local(link));
    await shot(page, 'invitation');
    await page.getByLabel(/Choose a password/).fill('sunrise manager password');
    await page.getByRole('button', { name: 'Accept invitation' }).click();
    await expect.poll(() => page.textContent('h1')).toBe('Invitation accepted');

    // Keyboard only: Tab to each field, type, Enter submits.
    await page.goto(`${base}/account/sign-in`);
    await page.keyboard.press('Tab');
    await page.keyboard.type('manager@sunrise.example');
    await page.keyboard.press('Tab');
    await page.keyboard.type('sunrise manager password');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}/account`);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await shot(page, 'account-360px');
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === 'confidant_session')).toMatchObject({
      httpOnly: true,
      secure: true,
      sameSite: 'Strict',
    });

    // The practice's name opens its dashboard with the session; its monthly report is beside it.
    await page.getByRole('link', { name: 'sunrise', exact: true }).click();
    await page.waitForURL(/\/dashboard\?practice=sunrise/);
    expect(await page.textContent('h1')).toBe('Sunrise Family Practice');
    await expect.poll(() => page.textContent('#status')).toMatch(/^Showing /);
    expect(await page.locator('#practice option').allTextContents()).toEqual(['Sunrise Family Practice']);
    const otherDashboard = await page.goto(page.url().replace('practice=sunrise', 'practice=harbour'));
    expect(otherDashboard?.status()).toBe(403);
    expect(await page.content()).not.toContain('Harbour Clinic');
    await page.goto(`${base}/account`);
    await page.getByRole('link', { name: 'monthly report' }).click();
    await page.waitForLoadState();
    expect(await page.textContent('h1')).toContain('Sunrise Family Practice');
    await shot(page, 'own-report');
    // Editing the URL to another practice shows nothing of it.
    const other = await page.goto(page.url().replace('/sunrise/', '/harbour/'));
    expect(other?.status()).toBe(403);
    expect(await page.content()).not.toContain('Harbour Clinic');

    await page.goto(`${base}/account`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/account\/sign-in/);
    expect(await page.textContent('[role=status]')).toBe('You are signed out.');
    // The browser's cookies, without the page (a navigation would show the Basic prompt API keys use).
    const after = await context.request.get(
      `${base}/v1/practices/sunrise/stats/timeseries?from=2024-03-01&to=2024-03-02`,
    );
    expect(after.status()).toBe(401);
    expect(problems).toEqual([]);
    await context.close();
  });

  test('password reset by mail, and a second use of the link refused', async () => {
    await createPerson(h.control, 'reset.me@example.org', { practices: { sunrise: 'viewer' } });
    const { context, page, problems } = await open();
    await page.goto(`${base}/account/sign-in`);
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.getByLabel('Email').fill('reset.me@example.org');
    await page.getByRole('button', { name: 'Send a reset link' }).click();
    await expect.poll(() => page.textContent('[role=status]')).toMatch(/on its way/);
    const link = linkIn(await mail.next('reset.me@example.org'), PUBLIC_URL);
    await page.goto(local(link));
    await page.getByLabel('New password').fill('a fresh reset password');
    await page.getByRole('button', { name: 'Set password' }).click();
    await expect.poll(() => page.textContent('h1')).toBe('Password changed');
    const again = await page.goto(local(link));
    expect(again?.status()).toBe(410);
    expect(await page.textContent('main')).toMatch(/already been used/);
    await shot(page, 'reset-link-used');
    expect(await signIn(page, 'reset.me@example.org', 'a fresh reset password')).toBe(303);
    expect(page.url()).toBe(`${base}/account`);
    expect(problems).toEqual([]);
    await context.close();
  });

  test('two-factor enrolment, then sign-in asks for the code', async () => {
    await createPerson(h.control, 'two.factor@example.org', { practices: { sunrise: 'viewer' } });
    const { context, page } = await open();
    await signIn(page, 'two.factor@example.org', PASSWORD);
    await page.getByRole('link', { name: 'Two-factor authentication' }).click();
    const key = (await page.locator('code').first().textContent())!.replace(/ /g, '');
    await shot(page, 'two-factor-enrol');
    await page.getByLabel('Code from the app').fill(totpCode(key));
    await page.getByRole('button', { name: 'Turn on' }).click();
    await expect.poll(() => page.textContent('h1')).toBe('Two-factor authentication is on');
    expect((await page.textContent('pre'))!.trim().split('\n')).toHaveLength(10);
    await page.goto(`${base}/account`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/sign-in/);
    expect(await signIn(page, 'two.factor@example.org', PASSWORD)).toBe(401);
    expect(await page.textContent('[role=alert]')).toMatch(/not right/);
    const used = totpCode(key);
    while (totpCode(key) === used) await new Promise((r) => setTimeout(r, 500));
    expect(await signIn(page, 'two.factor@example.org', PASSWORD, totpCode(key))).toBe(303);
    await context.close();
  });

  test('lockout, session expiry and a CSRF refusal', async () => {
    await createPerson(h.control, 'guarded@example.org', { practices: { sunrise: 'viewer' } });
    const { context, page } = await open();
    for (let i = 0; i < 5; i++) expect(await signIn(page, 'guarded@example.org', `wrong ${i}`)).toBe(401);
    expect(await signIn(page, 'Guarded@Example.org', PASSWORD)).toBe(429);
    expect(await page.textContent('[role=alert]')).toMatch(/Too many sign-in attempts/);
    await shot(page, 'locked-out');
    await h.control.query(`DELETE FROM sign_in_throttle`);

    expect(await signIn(page, 'guarded@example.org', PASSWORD)).toBe(303);
    await h.control.query(`UPDATE sessions SET last_seen_at = now() - interval '1 hour'`);
    const expired = await page.goto(`${base}/account`);
    expect(expired?.url()).toBe(`${base}/account/sign-in`);

    // The CSRF secret cookie gone (another site cannot read or send it): the form post is refused.
    await page.goto(`${base}/account/sign-in`);
    const staleSession = (await context.cookies()).find((c) => c.name === 'confidant_session')?.value;
    await context.clearCookies({ name: '_csrf' });
    await page.getByLabel('Email').fill('guarded@example.org');
    await page.getByLabel('Password').fill(PASSWORD);
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Sign in' }).click(),
    ]);
    expect(refused.status()).toBe(403);
    expect((await context.cookies()).find((c) => c.name === 'confidant_session')?.value).toBe(staleSession);
    await context.close();
  });

  test('the operator console lists practices, partners, keys, people and the privacy audit; others are refused', async () => {
    const secret = newSecret();
    await createPerson(h.control, 'operator@example.org', { operatorAdmin: true, totpSecret: secret });
    const { context, page, problems } = await open(1200);
    expect(await signIn(page, 'operator@example.org', PASSWORD, totpCode(secret))).toBe(303);
    await page.getByRole('link', { name: 'operator console' }).click();
    await page.waitForURL(`${base}/console`);
    expect(await page.textContent('[role=status]')).toMatch(/Privacy audit: clean/);
    for (const caption of ['Practices', 'Partners', 'API keys', 'People'])
      expect(await page.locator('caption', { hasText: caption }).count(), caption).toBe(1);
    expect(await page.textContent('main')).toContain('Harbour Clinic');
    expect(await page.textContent('main')).toContain('operator@example.org');
    await shot(page, 'operator-console');
    expect(problems).toEqual([]);
    await context.close();

    await createPerson(h.control, 'not.operator@example.org', { practices: { sunrise: 'owner' } });
    const owner = await open();
    await signIn(owner.page, 'not.operator@example.org', PASSWORD);
    expect((await owner.page.goto(`${base}/console`))?.status()).toBe(403);
    await owner.context.close();
  });

  test('role boundaries: a viewer of one practice sees nothing of another; a partner user sees no practice', async () => {
    await createPerson(h.control, 'viewer.sunrise@example.org', { practices: { sunrise: 'viewer' } });
    const { context, page } = await open();
    await signIn(page, 'viewer.sunrise@example.org', PASSWORD);
    const home = await page.content();
    expect(home).toContain('/v1/practices/sunrise/');
    expect(home).not.toContain('harbour');
    const month = new Date().toISOString().slice(0, 7);
    for (const url of [
      `/v1/practices/harbour/reports/monthly?month=${month}&format=html`,
      '/v1/practices/harbour/stats/timeseries?from=2024-03-01&to=2024-03-02',
      '/v1/practices/harbour/stats/breakdown?from=2024-03-01&to=2024-03-02&dimension=page',
      '/v1/practices/sunrise/users',
      '/v1/practices/harbour/users',
      '/v1/admin/practices',
      '/v1/admin/audit-log',
      '/v1/partners/acme/exports?month=2024-03',
    ]) {
      const res = await page.goto(`${base}${url}`);
      expect(res?.status(), url).toBe(403);
      expect(await page.content(), url).not.toMatch(/Harbour Clinic|"visits"/);
    }
    await context.close();

    await createPerson(h.control, 'partner.person@example.org', { partners: ['acme'] });
    const partner = await open();
    await signIn(partner.page, 'partner.person@example.org', PASSWORD);
    const partnerHome = await partner.page.content();
    expect(partnerHome).not.toMatch(/\/v1\/practices\//);
    expect(partnerHome).toContain('/v1/partners/acme/exports');
    await shot(partner.page, 'partner-account');
    for (const id of ['sunrise', 'harbour']) {
      const res = await partner.page.goto(`${base}/v1/practices/${id}/reports/monthly?month=${month}&format=html`);
      expect(res?.status()).toBe(403);
    }
    await partner.context.close();
  });
});
