import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ControlQueries } from '@confidant/shared';
import {
  adminAuth,
  practice,
  RollupFixture,
  savePractices,
  startReporter,
  type ReporterHarness,
} from '../support/reporter-fixture.ts';

// Sampler input that always takes the largest uniform value: the discrete Laplace sampler then
// returns floor((t - 1) / s) deterministically. ε = 1 over 2 measurements of sensitivity 2: t = 4 → +3.
const maxUniform = (n: bigint): bigint => n - 1n;

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

/** The practices' settings as if made long ago: in force when the test's months ended. */
const settingsSinceAlways = (control: ControlQueries) =>
  control.query("UPDATE practice_settings_history SET changed_at = '-infinity'");

async function seed(h: ReporterHarness): Promise<void> {
  await savePractices(
    h.control,
    practice('p1', { shareWithPartners: true }),
    practice('p2', { shareWithPartners: true }),
    practice('p3', { shareWithPartners: true }),
    practice('p4'),
    practice('p5', { shareWithPartners: true, cookieMode: true }),
  );
  await settingsSinceAlways(h.control);
  // Joins after the months of this test ended: its data there is not released.
  await savePractices(h.control, practice('p6', { shareWithPartners: true }));
  const f = new RollupFixture();
  const d = (
    practiceId: string,
    day: string,
    dim: string,
    value: string,
    visitors: { open?: number[]; sealed?: number; pageviews?: number },
    source: 'snippet' | 'logs' = 'snippet',
  ) =>
    f.daily({
      practiceId,
      day,
      dim,
      value,
      source,
      pageviews: visitors.pageviews ?? 0,
      ...(visitors.open ? { visitors: visitors.open } : {}),
      ...(visitors.sealed ? { sealedVisitors: visitors.sealed } : {}),
    });
  d('p1', '2024-03-01', 'total', '', { open: range(1, 40), pageviews: 400 });
  d('p2', '2024-03-01', 'total', '', { sealed: 30 });
  d('p3', '2024-03-01', 'total', '', { open: range(1, 10) });
  d('p3', '2024-03-01', 'total', '', { open: range(100, 12) }, 'logs'); // larger source wins: 12
  d('p1', '2024-03-02', 'total', '', { sealed: 60_000 }); // one practice-day above the cap: 50,000
  d('p5', '2024-03-01', 'total', '', { open: range(1, 7) }); // cookie mode: in the total only
  d('p1', '2024-03-01', 'country', 'US', { open: range(1, 35) });
  d('p2', '2024-03-01', 'country', 'US', { sealed: 26 });
  d('p1', '2024-03-01', 'country', 'CA', { open: range(50, 5) });
  d('p2', '2024-03-01', 'country', 'CA', { sealed: 2 });
  d('p3', '2024-03-01', 'country', 'FR', { open: range(1, 10) });
  d('p1', '2024-03-01', 'country', 'XK', { open: range(60, 4) }); // outside ISO 3166-1: counted as ZZ
  d('p5', '2024-03-01', 'country', 'NZ', { open: range(1, 7) });
  d('p4', '2024-03-01', 'total', '', { sealed: 7777 }); // does not share
  d('p4', '2024-03-01', 'country', 'NZ', { sealed: 7777 });
  d('p6', '2024-03-01', 'total', '', { sealed: 6666 });
  d('p1', '2024-03-01', 'page_class', 'appointments', { pageviews: 30 }); // page classes are not released
  d('p1', '2024-04-01', 'total', '', { sealed: 555 }); // other month
  await f.flush(h.db);
}

const partner = (h: ReporterHarness, id: string) =>
  h.app.inject({ method: 'POST', url: '/v1/admin/partners', headers: adminAuth, payload: { id, name: id } });
const ndjsonLines = (body: string) =>
  body
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

describe('partner export with deterministic noise', () => {
  let h: ReporterHarness;
  beforeAll(async () => {
    h = await startReporter('export', {}, { uniform: maxUniform });
    await seed(h);
    await partner(h, 'acme');
    await partner(h, 'beta');
  });
  afterAll(async () => h?.cleanup());

  test('every country cell of the fixed domain, noised, suppressed by noisy value; manifest', async () => {
    const res = await h.app.inject({
      url: '/v1/partners/acme/exports?month=2024-03&format=ndjson',
      headers: adminAuth,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const [first, ...lines] = ndjsonLines(res.body);
    expect(lines).toHaveLength(251);
    expect(new Set(lines.map((c) => c.metric))).toEqual(new Set(['visitor_days']));
    const cells = Object.fromEntries(lines.map((c) => [c.country, c.status === 'published' ? c.value : 'S']));
    const half = first.manifest.confidence_interval.half_width;
    expect(cells).toMatchObject({
      // visitor-days: p1 40 + min(60000, 50000) + p2 30 + p3 max(10, 12) + p5 7 = 50089, + 3
      all: 50092,
      US: 64, // 35 + 26, + 3
      CA: 'S', // 7 + 3 = 10: at the threshold
      FR: 13,
      ZZ: 'S', // XK's 4, + 3
      NZ: 'S', // p5 is in cookie mode, p4 does not share: 0 + 3
      IS: 'S', // no data: noised like every other cell
    });
    expect(lines.find((c) => c.country === 'US')).toMatchObject({ ci_low: 64 - half, ci_high: 64 + half });
    expect(res.body).not.toMatch(/p1|p2|p3|p4|p5|p6|XK|appointments|7777|6666/);
    const m = first.manifest;
    expect(m).toMatchObject({
      schema_version: 2,
      month: '2024-03',
      shared_by_all_partners: true,
      metrics: ['visitor_days'],
      epsilon: '1',
      delta: 0,
      practices_included: 4,
      practices_in_country_cells: 3,
      practice_set_frozen_at: '2024-04-01T14:00:00.000Z',
      practice_identifiers: false,
      suppression: { threshold: 10 },
      contribution_bounds: { per_practice_day_cell_cap: 50_000 },
      measurements: [
        { name: 'total', epsilon: '0.5', l1_sensitivity: 2, noise_scale: '4' },
        { name: 'country', epsilon: '0.5', l1_sensitivity: 2, noise_scale: '4' },
      ],
      confidence_interval: { level: 0.95, half_width: 12 },
      budget: { year: 2024, yearly_epsilon: '12', spent_epsilon: '1', remaining_epsilon: '11' },
    });
    expect(m.unit_of_privacy).toMatch(/visitor-day/);
    expect(m.domain.page_class).toMatch(/not released/);
    expect(m).not.toHaveProperty('partner_id');
    expect(Date.parse(m.generated_at)).toBeGreaterThan(0);
  });

  test('one release for every partner: byte-identical, both formats from it, charged once', async () => {
    const a = await h.app.inject({ url: '/v1/partners/acme/exports?month=2024-03&format=csv', headers: adminAuth });
    const b = await h.app.inject({ url: '/v1/partners/beta/exports?month=2024-03&format=csv', headers: adminAuth });
    const n = await h.app.inject({ url: '/v1/partners/beta/exports?month=2024-03&format=ndjson', headers: adminAuth });
    expect(a.statusCode).toBe(200);
    expect(b.body).toBe(a.body);
    expect(a.headers['x-confidant-release']).toBe(n.headers['x-confidant-release']);
    const [manifestLine, header, ...rows] = a.body.trim().split('\n');
    expect(manifestLine).toMatch(/^# manifest \{/);
    expect(header).toBe('month,country,metric,value,status,ci_low,ci_high');
    expect(rows).toContain('2024-03,US,visitor_days,64,published,52,76');
    expect(rows).toContain('2024-03,CA,visitor_days,,suppressed,,');
    const releases = await h.control.query<{ month: string; spent: string }>(
      'SELECT month, epsilon_micro::text AS spent FROM monthly_releases',
    );
    expect(releases).toEqual([{ month: '2024-03', spent: '1000000' }]);
    const delivered = await h.control.query<{ partner_id: string }>(
      "SELECT partner_id FROM release_deliveries WHERE month = '2024-03' ORDER BY partner_id",
    );
    expect(delivered.map((r) => r.partner_id)).toEqual(['acme', 'beta']);
  });

  test('a month is released only once closed, sealed and frozen; missing partners and too few practices are refused', async () => {
    const current = new Date().toISOString().slice(0, 7);
    const open = await h.app.inject({ url: `/v1/partners/acme/exports?month=${current}`, headers: adminAuth });
    expect(open.statusCode).toBe(400);
    expect(
      (await h.app.inject({ url: '/v1/partners/nobody/exports?month=2024-03', headers: adminAuth })).statusCode,
    ).toBe(404);
    expect(
      (await h.app.inject({ url: '/v1/partners/acme/exports?month=2024-03&format=xlsx', headers: adminAuth }))
        .statusCode,
    ).toBe(400);
    // A withdrawal is honoured for months not yet released: p3 and p5 out leaves p1 and p2. p6
    // shares now, but did not when 2024-02 ended, so it does not make up the number.
    for (const id of ['p3', 'p5'])
      await h.app.inject({
        method: 'PATCH',
        url: `/v1/admin/practices/${id}`,
        headers: adminAuth,
        payload: { shareWithPartners: false },
      });
    // the database recorded the change itself, for the months that end from now on
    const history = await h.control.query<{ share_with_partners: boolean }>(
      "SELECT share_with_partners FROM practice_settings_history WHERE practice_id = 'p3' ORDER BY seq",
    );
    expect(history.map((r) => r.share_with_partners)).toEqual([true, false]);
    const few = await h.app.inject({ url: '/v1/partners/acme/exports?month=2024-02', headers: adminAuth });
    expect(few.statusCode).toBe(409);
    expect(few.json().error.code).toBe('conflict');
    const [count] = await h.control.query<{ n: string }>('SELECT count(*)::text AS n FROM monthly_releases');
    expect(count!.n).toBe('1');
  });
});

describe('privacy budget', () => {
  let h: ReporterHarness;
  beforeAll(async () => {
    h = await startReporter('budget', { DP_EPSILON_PER_RELEASE: '0.75', DP_YEARLY_BUDGET: '1.5' });
    await seed(h);
    await partner(h, 'acme');
    await partner(h, 'beta');
  });
  afterAll(async () => h?.cleanup());

  test('one yearly budget for all partners: refused once exceeded; stored releases are still served', async () => {
    const get = (partnerId: string, month: string) =>
      h.app.inject({ url: `/v1/partners/${partnerId}/exports?month=${month}&format=ndjson`, headers: adminAuth });
    const jan = await get('acme', '2024-01');
    expect(jan.statusCode).toBe(200);
    expect(JSON.parse(jan.body.split('\n')[0]!).manifest.budget).toMatchObject({
      year: 2024,
      yearly_epsilon: '1.5',
      spent_epsilon: '0.75',
      remaining_epsilon: '0.75',
    });
    // Another partner spends the same budget: the same people are in every release.
    const mar = await get('beta', '2024-03');
    expect(mar.statusCode).toBe(200);
    expect(JSON.parse(mar.body.split('\n')[0]!).manifest.budget.remaining_epsilon).toBe('0');
    const feb = await get('acme', '2024-02');
    expect(feb.statusCode).toBe(409);
    expect(feb.json().error.code).toBe('budget_exhausted');
    expect((await get('beta', '2024-02')).statusCode).toBe(409);
    // released months cost nothing and come back unchanged, to every partner
    expect((await get('acme', '2024-03')).body).toBe(mar.body);
    expect((await get('acme', '2024-01')).body).toBe(jan.body);
    // another data year has its own budget
    expect((await get('beta', '2023-12')).statusCode).toBe(200);
    const rows = await h.control.query<{ year: number; spent: string }>(
      'SELECT year, sum(epsilon_micro)::text AS spent FROM monthly_releases GROUP BY year ORDER BY year',
    );
    expect(rows).toEqual([
      { year: 2023, spent: '750000' },
      { year: 2024, spent: '1500000' },
    ]);
  });

  test('per-partner charges made before shared releases count against the one budget', async () => {
    await h.control.query(
      "INSERT INTO privacy_budget_ledger (release_id, partner_id, year, month, epsilon_micro) VALUES ('rel_legacy', 'acme', 2022, '2022-05', 1000000)",
    );
    expect(
      (await h.app.inject({ url: '/v1/partners/beta/exports?month=2022-06', headers: adminAuth })).json().error.code,
    ).toBe('budget_exhausted');
  });

  test('with real noise, every cell is there, suppressed ones are empty and published ones non-negative integers', async () => {
    const res = await h.app.inject({
      url: '/v1/partners/acme/exports?month=2023-12&format=ndjson',
      headers: adminAuth,
    });
    const lines = ndjsonLines(res.body).slice(1);
    expect(lines).toHaveLength(251);
    for (const c of lines) {
      if (c.status === 'suppressed') expect([c.value, c.ci_low, c.ci_high]).toEqual([null, null, null]);
      else {
        // noisy values from 1 to the threshold are suppressed; at or below 0 they are published as 0
        expect(Number.isInteger(c.value) && (c.value === 0 || c.value > 10)).toBe(true);
        expect(c.ci_low).toBeLessThanOrEqual(c.value);
      }
    }
  });
});

describe('the practice set as it was when the month ended', () => {
  let h: ReporterHarness;
  beforeAll(async () => {
    h = await startReporter('frozen', {}, { uniform: maxUniform });
    await seed(h);
    await partner(h, 'acme');
  });
  afterAll(async () => h?.cleanup());

  test('sharing and cookie mode are read from the settings history, not from today', async () => {
    const at = (practiceId: string, share: boolean, cookie: boolean, when: string) =>
      h.control.query(
        'INSERT INTO practice_settings_history (practice_id, share_with_partners, cookie_mode, changed_at) VALUES ($1, $2, $3, $4)',
        [practiceId, share, cookie, when],
      );
    // p2 had cookie mode on for a week of March: its visitor-days count in the total only.
    await at('p2', true, true, '2024-03-10T00:00:00Z');
    await at('p2', true, false, '2024-03-17T00:00:00Z');
    // p5 left cookie mode before March began: by country again.
    await at('p5', true, false, '2024-02-01T00:00:00Z');
    // p6 shared already in February (today's row says it joined now).
    await at('p6', true, false, '2024-02-01T00:00:00Z');
    // p3 stopped sharing late in March and resumed in May: out of March.
    await at('p3', false, false, '2024-03-30T00:00:00Z');
    await at('p3', true, false, '2024-05-01T00:00:00Z');
    const res = await h.app.inject({
      url: '/v1/partners/acme/exports?month=2024-03&format=ndjson',
      headers: adminAuth,
    });
    expect(res.statusCode, res.body).toBe(200);
    const [first, ...lines] = ndjsonLines(res.body);
    // p1, p2, p5, p6; by country p1, p5, p6
    expect(first.manifest).toMatchObject({ practices_included: 4, practices_in_country_cells: 3 });
    const cells = Object.fromEntries(lines.map((c) => [c.country, c.status === 'published' ? c.value : 'S']));
    expect(cells).toMatchObject({
      // p1 40 + 50000, p2 30, p5 7, p6 6666: 56743, + 3
      all: 56746,
      US: 38, // p1 35 (p2 is out of the country cells), + 3
      FR: 'S', // p3 is out: 0 + 3
    });
  });
});
