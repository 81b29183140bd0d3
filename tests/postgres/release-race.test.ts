// Two reporter processes and the CLI race, for different partners, for one month's release and for
// the last of the yearly budget: the control plane's claim lets exactly one of them make each, across
// processes, and every other one serves the winner's release.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClickHouse, PracticeStore, type ControlDb } from '@confidant/shared';
import { PartnerStore } from '@confidant/reporter';
import { freePort } from '../support/processor-harness.ts';
import { partnerDataSince } from '../support/reporter-fixture.ts';
import { namespaceEnv, spawnService, waitForHttp, type ServiceProcess } from '../support/service-process.ts';
import { prepareNamespace } from '../support/stack.ts';
import { isolatedConfig } from '../support/test-env.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ADMIN_KEY = 'race-admin-key-0123456789abcdef';
const config = isolatedConfig('race');
// One release costs 1 ε and the year has 1.5: after the first release of 2025 no other fits.
const env = {
  ...namespaceEnv(config),
  LOG_LEVEL: 'silent',
  REPORTER_ADMIN_KEY: ADMIN_KEY,
  REPORTER_RATE_LIMIT_PER_MINUTE: '100000',
  DP_EPSILON_PER_RELEASE: '1',
  DP_YEARLY_BUDGET: '1.5',
};
let control: ControlDb;
let cleanup: () => Promise<void>;
const reporters: Array<{ service: ServiceProcess; url: string }> = [];
const PARTNERS = [
  ['acme', 'Acme Research'],
  ['beta', 'Beta Institute'],
  ['gamma', 'Gamma Health'],
] as const;

beforeAll(async () => {
  ({ control, cleanup } = await prepareNamespace(config));
  const practices = new PracticeStore(control);
  for (const id of ['p1', 'p2', 'p3'])
    await practices.save({
      id,
      siteKey: `site-${id}`,
      name: id,
      domains: [`${id}.example`],
      timezone: 'UTC',
      shareWithPartners: true,
    });
  // In force long before the test's months ended, when their practice sets froze.
  await control.query("UPDATE practice_settings_history SET changed_at = '-infinity'");
  for (const [id, name] of PARTNERS) await new PartnerStore(control).save({ id, name });
  // Partner visitor-days recorded before the test's months began (none have data: every cell is noise).
  const db = connectClickHouse(config.clickhouse);
  await partnerDataSince(db, '2020-01-01 00:00:00');
  await db.close();
  for (const name of ['reporter-a', 'reporter-b']) {
    const port = await freePort();
    const service = spawnService(name, 'reporter/src/server.ts', { ...env, REPORTER_PORT: String(port) });
    const url = `http://127.0.0.1:${port}`;
    await waitForHttp(`${url}/readyz`, 60_000, service);
    reporters.push({ service, url });
  }
}, 120_000);

afterAll(async () => {
  for (const r of reporters) await r.service.stop();
  await cleanup?.();
});

const fromReporter = async (url: string, month: string, partner = 'acme') => {
  const res = await fetch(`${url}/v1/partners/${partner}/exports?month=${month}&format=csv`, {
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
  });
  return { status: res.status, release: res.headers.get('x-confidant-release'), body: await res.text() };
};
const fromCli = async (month: string, partner = 'acme') => {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      join(ROOT, 'node_modules/.bin/tsx'),
      ['admin/src/confidant.ts', 'export', '--partner', partner, '--month', month],
      { cwd: ROOT, env: { ...process.env, ...env } },
    );
    return { status: 0, release: /release (rel_\w+)/.exec(stderr)?.[1] ?? null, body: stdout };
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { status: e.code, release: null, body: e.stderr };
  }
};
const ledger = () =>
  control.query<{ month: string; release_id: string }>('SELECT month, release_id FROM monthly_releases ORDER BY month');

describe('partner releases across processes', () => {
  it('one release per month for every partner, however many processes ask at once', async () => {
    const month = '2024-05';
    const partnerOf = (i: number) => PARTNERS[i % PARTNERS.length]![0];
    const [http, cli] = await Promise.all([
      Promise.all(
        reporters.flatMap((r) => Array.from({ length: 4 }, (_, i) => fromReporter(r.url, month, partnerOf(i)))),
      ),
      Promise.all([fromCli(month, 'beta'), fromCli(month, 'gamma')]),
    ]);
    for (const a of http) expect(a.status, a.body).toBe(200);
    for (const a of cli) expect(a.status, a.body).toBe(0);
    const answers = [...http, ...cli];
    const releases = new Set(answers.map((a) => a.release));
    expect(releases.size).toBe(1);
    // Every answer is the one stored body: no independently noised copies to average.
    expect(new Set(answers.map((a) => a.body.trim())).size).toBe(1);
    expect(await ledger()).toEqual([{ month, release_id: [...releases][0] }]);
    const delivered = await control.query<{ partner_id: string }>(
      'SELECT partner_id FROM release_deliveries WHERE month = $1 ORDER BY partner_id',
      [month],
    );
    expect(delivered.map((d) => d.partner_id)).toEqual(['acme', 'beta', 'gamma']);
  }, 120_000);

  it('the last of a year budget is spent once, whichever partners ask: one month gets it, the others are refused', async () => {
    const months = ['2025-01', '2025-02', '2025-03'];
    const answers = await Promise.all([
      fromReporter(reporters[0]!.url, months[0]!, 'acme'),
      fromReporter(reporters[1]!.url, months[1]!, 'beta'),
      fromCli(months[2]!, 'gamma'),
    ]);
    const made = answers.filter((a) => a.status === 200 || a.status === 0);
    expect(made, JSON.stringify(answers)).toHaveLength(1);
    for (const refused of answers.filter((a) => !made.includes(a)))
      expect(refused.body).toMatch(/budget for 2025 exhausted|budget_exhausted/);
    const charged = (await ledger()).filter((r) => r.month.startsWith('2025'));
    expect(charged).toHaveLength(1);
    expect(charged[0]!.release_id).toBe(made[0]!.release);
  }, 120_000);
});
