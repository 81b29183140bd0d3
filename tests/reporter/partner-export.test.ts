import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  adminAuth,
  practice,
  RollupFixture,
  savePractices,
  startReporter,
  type ReporterHarness,
} from '../support/reporter-fixture.ts';

// Sampler input that always takes the largest uniform value: the discrete Laplace sampler then
// returns floor((t - 1) / s) deterministically. With ε = 1 split over 5 measurements:
// page views t = 10·5 = 50 → noise +49; visits t = 2·5 = 10 → noise +9.
const maxUniform = (n: bigint): bigint => n - 1n;

async function seed(h: ReporterHarness): Promise<void> {
  await savePractices(
    h.control,
    practice('p1', { shareWithPartners: true }),
    practice('p2', { shareWithPartners: true }),
    practice('p3', { shareWithPartners: true }),
    practice('p4'),
  );
  const d = (
    practiceId: string,
    day: string,
    dim: string,
    value: string,
    pageviews: number,
    visits = 0,
    source: 'snippet' | 'logs' = 'snippet',
  ) => ({
    practiceId,
    day,
    dim,
    value,
    pageviews,
    visits,
    source,
  });
  const f = new RollupFixture();
  for (const row of [
    d('p1', '2024-03-01', 'total', '', 100, 40),
    d('p2', '2024-03-01', 'total', '', 80, 30),
    d('p3', '2024-03-01', 'total', '', 20, 10),
    d('p3', '2024-03-01', 'total', '', 30, 12, 'logs'), // larger source wins per practice-day: 30 / 12
    d('p1', '2024-03-01', 'country', 'US', 90, 35),
    d('p2', '2024-03-01', 'country', 'US', 70, 26),
    d('p1', '2024-03-01', 'country', 'CA', 10, 5),
    d('p2', '2024-03-01', 'country', 'CA', 5, 2),
    d('p2', '2024-03-01', 'country', 'DE', 5, 2),
    d('p3', '2024-03-01', 'country', 'FR', 20, 10),
    d('p1', '2024-03-01', 'page_class', 'appointments', 30),
    d('p2', '2024-03-01', 'page_class', 'appointments', 20),
    d('p1', '2024-03-01', 'page_class', 'patient-portal', 8),
    // one practice-day far above the cap: counted as 5000
    d('p1', '2024-03-02', 'total', '', 9000, 10),
    d('p1', '2024-03-02', 'page_class', 'symptom-checker', 9000),
    d('p4', '2024-03-01', 'total', '', 7777, 7777), // does not share
    d('p4', '2024-03-01', 'country', 'NZ', 7777, 7777),
    d('p1', '2024-04-01', 'total', '', 555, 555), // other month
  ]) {
    f.daily(row);
  }
  await f.flush(h.db);
}

describe('partner export with deterministic noise', () => {
  let h: ReporterHarness;
  beforeAll(async () => {
    h = await startReporter('export', {}, { uniform: maxUniform });
    await seed(h);
    await h.app.inject({
      method: 'POST',
      url: '/v1/admin/partners',
      headers: adminAuth,
      payload: { id: 'acme', name: 'Acme Research' },
    });
  });
  afterAll(async () => h?.cleanup());

  test('cells, primary and complementary suppression, caps and manifest', async () => {
    const res = await h.app.inject({
      url: '/v1/partners/acme/exports?month=2024-03&format=ndjson',
      headers: adminAuth,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const [first, ...lines] = res.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const cells = Object.fromEntries(
      lines.map((c) => [`${c.country}/${c.page_class}/${c.metric}`, c.status === 'published' ? c.value : 'S']),
    );
    expect(cells).toEqual({
      // total page views: p1 100 + min(9000, 5000) + p2 80 + p3 max(20, 30) = 5210, + 49
      'all/all/pageviews': 5259,
      // total visits: 40 + 10 + 30 + max(10, 12) = 92, + 9
      'all/all/visits': 101,
      // page views by country: US 160, CA 15, DE 5, FR 20 → DE primary, CA complementary
      'US/all/pageviews': 209,
      'CA/all/pageviews': 'S',
      'DE/all/pageviews': 'S',
      'FR/all/pageviews': 69,
      // visits by country: US 61, CA 7, DE 2, FR 10 → three primary, nothing to add
      'US/all/visits': 70,
      'CA/all/visits': 'S',
      'DE/all/visits': 'S',
      'FR/all/visits': 'S',
      // page classes: appointments 50, patient-portal 8, symptom-checker 5000 (capped),
      // other 5210 - 5058 = 152 → patient-portal primary, appointments complementary
      'all/appointments/pageviews': 'S',
      'all/patient-portal/pageviews': 'S',
      'all/symptom-checker/pageviews': 5049,
      'all/other/pageviews': 201,
    });
    expect(res.body).not.toMatch(/p1|p2|p3|p4|NZ|7777/);
    const m = first.manifest;
    expect(m).toMatchObject({
      schema_version: 1,
      month: '2024-03',
      epsilon: '1',
      delta: 0,
      practices_included: 3,
      practice_identifiers: false,
      suppression: { threshold: 10 },
      contribution_bounds: {
        per_visitor_day: { pageviews: 10, visits: 2 },
        per_practice_day_cell_cap: { pageviews: 5000, visits: 2000 },
      },
      budget: { year: 2024, yearly_epsilon: '12', spent_epsilon: '1', remaining_epsilon: '11' },
      noise_scale: { 'total.pageviews': '50', 'total.visits': '10' },
    });
    expect(Date.parse(m.generated_at)).toBeGreaterThan(0);
  });

  test('a release is made once: byte-identical on every request, both formats from it, charged once', async () => {
    const a = await h.app.inject({ url: '/v1/partners/acme/exports?month=2024-03&format=csv', headers: adminAuth });
    const b = await h.app.inject({ url: '/v1/partners/acme/exports?month=2024-03&format=csv', headers: adminAuth });
    const n = await h.app.inject({ url: '/v1/partners/acme/exports?month=2024-03&format=ndjson', headers: adminAuth });
    expect(a.statusCode).toBe(200);
    expect(b.body).toBe(a.body);
    expect(a.headers['x-confidant-release']).toBe(n.headers['x-confidant-release']);
    const [manifestLine, header, ...rows] = a.body.trim().split('\n');
    expect(manifestLine).toMatch(/^# manifest \{/);
    expect(header).toBe('month,country,page_class,metric,value,status');
    expect(rows).toContain('2024-03,US,all,pageviews,209,published');
    expect(rows).toContain('2024-03,CA,all,pageviews,,suppressed');
    const [ledger] = await h.control.query<{ n: string; spent: string }>(
      "SELECT count(*)::text AS n, sum(epsilon_micro)::text AS spent FROM privacy_budget_ledger WHERE partner_id = 'acme'",
    );
    expect(ledger).toEqual({ n: '1', spent: '1000000' });
  });

  test('open months, missing partners and too few sharing practices are refused without charging', async () => {
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
    await h.app.inject({
      method: 'PATCH',
      url: '/v1/admin/practices/p3',
      headers: adminAuth,
      payload: { shareWithPartners: false },
    });
    const few = await h.app.inject({ url: '/v1/partners/acme/exports?month=2024-02', headers: adminAuth });
    expect(few.statusCode).toBe(409);
    expect(few.json().error.code).toBe('conflict');
    await h.app.inject({
      method: 'PATCH',
      url: '/v1/admin/practices/p3',
      headers: adminAuth,
      payload: { shareWithPartners: true },
    });
    const [ledger] = await h.control.query<{ n: string }>(
      "SELECT count(*)::text AS n FROM privacy_budget_ledger WHERE partner_id = 'acme'",
    );
    expect(ledger!.n).toBe('1');
  });
});

describe('privacy budget', () => {
  let h: ReporterHarness;
  beforeAll(async () => {
    h = await startReporter('budget', { DP_EPSILON_PER_RELEASE: '0.75', DP_YEARLY_BUDGET: '1.5' });
    await seed(h);
    await h.app.inject({
      method: 'POST',
      url: '/v1/admin/partners',
      headers: adminAuth,
      payload: { id: 'acme', name: 'Acme' },
    });
  });
  afterAll(async () => h?.cleanup());

  test('releases are refused once the yearly budget would be exceeded; stored ones are still served', async () => {
    const get = (month: string) =>
      h.app.inject({ url: `/v1/partners/acme/exports?month=${month}&format=ndjson`, headers: adminAuth });
    const jan = await get('2024-01');
    expect(jan.statusCode).toBe(200);
    expect(JSON.parse(jan.body.split('\n')[0]!).manifest.budget).toEqual({
      year: 2024,
      yearly_epsilon: '1.5',
      spent_epsilon: '0.75',
      remaining_epsilon: '0.75',
    });
    const mar = await get('2024-03');
    expect(mar.statusCode).toBe(200);
    expect(JSON.parse(mar.body.split('\n')[0]!).manifest.budget.remaining_epsilon).toBe('0');
    const feb = await get('2024-02');
    expect(feb.statusCode).toBe(409);
    expect(feb.json().error.code).toBe('budget_exhausted');
    // already released months cost nothing and come back unchanged
    expect((await get('2024-03')).body).toBe(mar.body);
    // another data year has its own budget
    expect((await get('2023-12')).statusCode).toBe(200);
    const rows = await h.control.query<{ year: number; spent: string }>(
      "SELECT year, sum(epsilon_micro)::text AS spent FROM privacy_budget_ledger WHERE partner_id = 'acme' GROUP BY year ORDER BY year",
    );
    expect(rows).toEqual([
      { year: 2023, spent: '750000' },
      { year: 2024, spent: '1500000' },
    ]);
  });

  test('with real noise, suppressed cells stay empty and published ones are non-negative integers', async () => {
    const res = await h.app.inject({
      url: '/v1/partners/acme/exports?month=2023-12&format=ndjson',
      headers: adminAuth,
    });
    const lines = res.body
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => JSON.parse(l));
    for (const c of lines) {
      if (c.status === 'suppressed') expect(c.value).toBeNull();
      else expect(Number.isInteger(c.value) && c.value >= 0).toBe(true);
    }
  });
});
