import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ControlQueries } from '@confidant/shared';
import {
  adminAuth,
  PartnerDaysFixture,
  partnerDataSince,
  practice,
  savePractices,
  startReporter,
  type ReporterHarness,
} from '../support/reporter-fixture.ts';

// Sampler input that always takes the largest uniform value: the discrete Laplace sampler then
// returns floor((t - 1) / s) deterministically. ε = 1 over 3 measurements of sensitivity 1: t = 3 → +2.
const maxUniform = (n: bigint): bigint => n - 1n;

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
  await partnerDataSince(h.db, '2020-01-01 00:00:00');
  await new PartnerDaysFixture()
    .sealed('p1', '2024-03-01', 'all', 40)
    .sealed('p2', '2024-03-01', 'all', 30)
    .sealed('p3', '2024-03-01', 'all', 10)
    .sealed('p3', '2024-03-01', 'all', 12, 'logs') // larger source wins: 12
    .sealed('p1', '2024-03-02', 'all', 60_000) // one practice-day above the cap: 50,000
    .sealed('p5', '2024-03-01', 'all', 7) // cookies: the processor writes them to `all` only
    .sealed('p1', '2024-03-01', 'US', 35)
    .sealed('p2', '2024-03-01', 'US', 26)
    .sealed('p1', '2024-03-01', 'CA', 5)
    .sealed('p2', '2024-03-01', 'CA', 2)
    .sealed('p3', '2024-03-01', 'FR', 10)
    .sealed('p1', '2024-03-01', 'XK', 4) // outside ISO 3166-1: counted as ZZ
    .sealed('p4', '2024-03-01', 'all', 7777) // does not share
    .sealed('p4', '2024-03-01', 'NZ', 7777)
    .sealed('p6', '2024-03-01', 'all', 6666)
    .sealed('p1', '2024-04-01', 'all', 555) // other month
    .flush(h);
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
      // visitor-days: p1 40 + min(60000, 50000) + p2 30 + p3 max(10, 12) + p5 7 = 50089, + 2
      all: 50091,
      US: 63, // 35 + 26, + 2
      CA: 'S', // 7 + 2 = 9: under the threshold
      FR: 12,
      ZZ: 'S', // XK's 4, + 2
      NZ: 'S', // p4 does not share: 0 + 2, and no practice
      IS: 'S', // no data: noised like every other cell
    });
    expect(lines.find((c) => c.country === 'US')).toMatchObject({ ci_low: 63 - half, ci_high: 63 + half });
    expect(res.body).not.toMatch(/p1|p2|p3|p4|p5|p6|XK|7777|6666/);
    const m = first.manifest;
    expect(m).toMatchObject({
      schema_version: 3,
      month: '2024-03',
      month_days: 'UTC days',
      shared_by_all_partners: true,
      metrics: ['visitor_days'],
      epsilon: '1',
      delta: 0,
      practices_included: 4,
      practice_set_frozen_at: '2024-04-01T00:00:00.000Z',
      practice_identifiers: false,
      suppression: { threshold: 10, min_practices_per_country: 3 },
      contribution_bounds: { per_practice_day_cell_cap: 50_000 },
      measurements: [
        { name: 'total', epsilon: '0.333333', l1_sensitivity: 1, noise_scale: '3' },
        { name: 'country', epsilon: '0.333333', l1_sensitivity: 1, noise_scale: '3' },
        { name: 'country_practices', epsilon: '0.333333', l1_sensitivity: 1, noise_scale: '3', published: false },
      ],
      confidence_interval: { level: 0.95, half_width: 9 },
      budget: { year: 2024, yearly_epsilon: '12', spent_epsilon: '1', remaining_epsilon: '11' },
    });
    expect(m.confidence_interval.meaning).toMatch(/not conditional on the cell being published/);
    expect(m.excluded.join(' ')).toMatch(/after their UTC day closed/);
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
    expect(rows).toContain('2024-03,US,visitor_days,63,published,54,72');
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

  test('sharing is read from the settings history, not from today; cookie mode no longer matters', async () => {
    const at = (practiceId: string, share: boolean, cookie: boolean, when: string) =>
      h.control.query(
        'INSERT INTO practice_settings_history (practice_id, share_with_partners, cookie_mode, changed_at) VALUES ($1, $2, $3, $4)',
        [practiceId, share, cookie, when],
      );
    // p2 had cookie mode on for a week of March: its country cells hold its daily-salt keys only
    // (the processor writes no cookie there), so it stays in them.
    await at('p2', true, true, '2024-03-10T00:00:00Z');
    await at('p2', true, false, '2024-03-17T00:00:00Z');
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
    // p1, p2, p5, p6
    expect(first.manifest).toMatchObject({ practices_included: 4 });
    const cells = Object.fromEntries(lines.map((c) => [c.country, c.status === 'published' ? c.value : 'S']));
    expect(cells).toMatchObject({
      // p1 40 + 50000, p2 30, p5 7, p6 6666: 56743, + 2
      all: 56745,
      US: 63, // p1 35 + p2 26, + 2
      FR: 'S', // p3 is out: 0 + 2
    });
  });
});

describe('months that cannot be released', () => {
  let h: ReporterHarness;
  beforeAll(async () => {
    h = await startReporter('unreleasable', {}, { uniform: maxUniform });
    await seed(h);
    await partner(h, 'acme');
    await partner(h, 'beta');
  });
  afterAll(async () => h?.cleanup());
  const get = (partnerId: string, month: string) =>
    h.app.inject({ url: `/v1/partners/${partnerId}/exports?month=${month}&format=ndjson`, headers: adminAuth });
  const made = async () =>
    (await h.control.query<{ month: string }>('SELECT month FROM monthly_releases ORDER BY month')).map((r) => r.month);

  test('a month released under the per-partner scheme is never noised again, for any partner', async () => {
    await h.control.query(
      "INSERT INTO partner_releases (partner_id, month, format, release_id, body, manifest) VALUES ('acme', '2024-03', 'csv', 'rel_old', 'old body', '{}')",
    );
    await h.control.query(
      "INSERT INTO privacy_budget_ledger (release_id, partner_id, year, month, epsilon_micro) VALUES ('rel_old2', 'beta', 2024, '2024-01', 1000000)",
    );
    for (const [partnerId, month] of [
      ['acme', '2024-03'],
      ['beta', '2024-03'],
      ['acme', '2024-01'],
    ] as const) {
      const res = await get(partnerId, month);
      expect(res.statusCode, res.body).toBe(409);
      expect(res.json().error.message).toMatch(/released before releases were shared/);
    }
    expect(await made()).toEqual([]);
  });

  test('a month that began before partner visitor-days were recorded, or with a day not sealed, is refused', async () => {
    await partnerDataSince(h.db, '2024-02-01 00:00:01');
    const early = await get('acme', '2024-02');
    expect(early.statusCode).toBe(409);
    expect(early.json().error.message).toMatch(/began before partner visitor-days were recorded/);
    await partnerDataSince(h.db, '2020-01-01 00:00:00');
    await new PartnerDaysFixture().open('p1', '2024-05-31', 'all', [1, 2, 3]).flush(h);
    const open = await get('acme', '2024-05');
    expect(open.statusCode).toBe(409);
    expect(open.json().error.message).toMatch(/not sealed yet/);
    expect(await made()).toEqual([]);
    // the month before and after are fine
    expect((await get('acme', '2024-04')).statusCode).toBe(200);
  });
});
