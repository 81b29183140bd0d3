/**
 * Demo data for `npm start`: two practices, an admin key and two demo sign-ins (an operator admin
 * and a practice owner, two-factor off) kept under <data dir>/demo, and
 * (once) synthetic traffic sent through the real collector so the printed report URLs
 * show a populated report.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connectControlDb, loadCommonConfig, PracticeStore, type PracticeInput } from '@confidant/shared';
import { createIngestKey } from '@confidant/collector/components';
import { AccountStore, hashPassword } from '@confidant/reporter';
import { sendDemoLogs, sendDemoTraffic } from './demo-traffic.ts';
import type { loadStackConfig } from './stack.config.ts';

export const DEMO_PRACTICES: PracticeInput[] = [
  {
    id: 'riverside-family',
    siteKey: 'demo-riverside',
    name: 'Riverside Family Practice',
    domains: ['127.0.0.1', 'localhost', 'riverside-family.example'],
    timezone: 'America/New_York',
    exitAllowlist: ['www.cdc.gov'],
    // The demo traffic's custom event: only declared event names are stored.
    events: [{ name: 'call-clicked' }],
    shareWithPartners: true,
  },
  {
    id: 'lakeside-derm',
    siteKey: 'demo-lakeside',
    name: 'Lakeside Dermatology',
    domains: ['lakeside-derm.example'],
    timezone: 'Europe/Berlin',
    cookieMode: true,
    shareWithPartners: true,
  },
];

export async function prepareDemo(stack: ReturnType<typeof loadStackConfig>) {
  // Under the stack's data directory, so a private stack (CONFIDANT_DATA_DIR) has a demo of its own.
  const { demoDir } = stack;
  mkdirSync(demoDir, { recursive: true });
  const keyFile = `${demoDir}admin-key`;
  if (!existsSync(keyFile)) writeFileSync(keyFile, `cf_demo_${randomBytes(24).toString('hex')}\n`, { mode: 0o600 });
  const adminKey = stack.env.REPORTER_ADMIN_KEY ?? readFileSync(keyFile, 'utf8').trim();

  const common = loadCommonConfig('confidant-demo', stack.env);
  const control = connectControlDb(common.controlPlane);
  const practices = new PracticeStore(control);
  for (const practice of DEMO_PRACTICES) {
    if (!(await practices.get(practice.id))) await practices.save(practice);
  }
  const signIns = await demoSignIns(control, demoDir);
  const preloaded = existsSync(`${demoDir}preloaded`);
  const ingestKeys = preloaded ? [] : await Promise.all(DEMO_PRACTICES.map((p) => createIngestKey(control, p.id)));
  await control.close();

  const month = new Date().toISOString().slice(0, 7);
  const report = (id: string) => `${stack.reporterUrl}/v1/practices/${id}/reports/monthly?month=${month}`;
  return {
    adminKey,
    signIns,
    signInUrl: `${stack.reporterUrl}/account/sign-in`,
    // The demo's operator admin signs in without two-factor (the reporter warns that this is demo only).
    env: {
      REPORTER_ADMIN_KEY: adminKey,
      TRUSTED_PROXIES: '127.0.0.1/32,::1/128',
      OPERATOR_TWO_FACTOR_REQUIRED: 'false',
    },
    reportJsonUrl: report('lakeside-derm'),
    dashboardUrl: `${stack.reporterUrl}/dashboard?practice=${DEMO_PRACTICES[0]!.id}`,
    reportUrls: DEMO_PRACTICES.map((p) => `${report(p.id)}&format=html`),
    /** Once per data directory: ~6 weeks of access logs for each practice, and today's beacons. */
    async preload() {
      if (preloaded) return;
      let logs = 0;
      for (const [i, key] of ingestKeys.entries())
        logs += await sendDemoLogs(stack.collectorUrl, key, DEMO_PRACTICES[i]!.domains.at(-1)!, 45, 7 + i);
      const beacons = await sendDemoTraffic(stack.collectorUrl, DEMO_PRACTICES.slice(0, 1));
      writeFileSync(`${demoDir}preloaded`, `${new Date().toISOString()} ${logs} log page views, ${beacons} beacons\n`);
      console.log(`[stack] preloaded ${logs} page views from access logs and ${beacons} beacons through the collector`);
    },
  };
}

const DEMO_PEOPLE = [
  { label: 'operator admin', email: 'admin@demo.confidant.invalid', practice: null },
  { label: 'practice owner', email: 'owner@demo.confidant.invalid', practice: DEMO_PRACTICES[0]!.id },
] as const;

/** The demo's two people, with passwords made once per data directory; returned to be printed. */
async function demoSignIns(control: ReturnType<typeof connectControlDb>, demoDir: string) {
  const accounts = new AccountStore(control);
  const signIns: Array<{ label: string; email: string; password: string }> = [];
  for (const person of DEMO_PEOPLE) {
    const file = `${demoDir}password-${person.email.split('@')[0]}`;
    if (!existsSync(file)) writeFileSync(file, `demo-${randomBytes(9).toString('base64url')}\n`, { mode: 0o600 });
    const password = readFileSync(file, 'utf8').trim();
    const existing = await accounts.byEmail(person.email);
    if (!existing?.passwordHash) {
      const userId = await accounts.ensure(person.email);
      await accounts.setPassword(userId, await hashPassword(password));
      if (person.practice) await accounts.grantPractice(userId, person.practice, 'owner');
      else await accounts.grantOperatorAdmin(userId);
    }
    signIns.push({ label: person.label, email: person.email, password });
  }
  return signIns;
}
