import { randomBytes } from 'node:crypto';
import { csvField, DomainError, ErrorCode, PracticeStore, type ControlDb, type Db } from '@confidant/shared';
import { partnerExportSql } from '../queries/partner-export.query.ts';
import { toCount } from '../queries/rollup-metrics.ts';
import { monthRange } from '../report/month.ts';
import { ReleaseStore, type ExportFormat, type StoredRelease } from './release-store.ts';
import { cryptoUniform, discreteLaplace, type UniformSource } from './discrete-laplace.ts';
import { microToString, rationalToString, toMicro, type Rational } from './rational.ts';
import { suppressCells } from './suppression.ts';

export const EXPORT_SCHEMA_VERSION = 1;

/**
 * Contribution bounds. The rollups hold aggregates, so a single visitor cannot be clamped here:
 * the noise is calibrated to the per-visitor-day bound below, and what the export query does
 * enforce is a cap on what one practice-day adds to any cell.
 */
export const CONTRIBUTION = {
  perVisitorDay: { pageviews: 10, visits: 2 },
  perPracticeDayCell: { pageviews: 5000, visits: 2000 },
} as const;

/** Fewer sharing practices than this and a "cross-practice" figure would describe one site. */
export const MIN_PRACTICES = 3;

type ExportMetric = 'pageviews' | 'visits';
type Scope = 'total' | 'country' | 'page_class';

/** Each measurement gets an equal share of the release's epsilon (sequential composition). */
const MEASUREMENTS: Array<{ scope: Scope; metric: ExportMetric }> = [
  { scope: 'total', metric: 'pageviews' },
  { scope: 'total', metric: 'visits' },
  { scope: 'country', metric: 'pageviews' },
  { scope: 'country', metric: 'visits' },
  { scope: 'page_class', metric: 'pageviews' },
];

export type ExportCell = {
  country: string;
  pageClass: string;
  metric: ExportMetric;
  value: number | null;
  status: 'published' | 'suppressed';
};

export type ReleaseDeps = {
  db: Db;
  /** Releases and the budget ledger; one transaction per release, serialised per partner across processes. */
  control: ControlDb;
  epsilon: Rational;
  yearlyBudget: Rational;
  suppressionThreshold: number;
  uniform?: UniformSource;
  now?: () => Date;
};

export type Release = { body: string; manifest: Record<string, unknown>; created: boolean };

/** Returns the stored release for the partner and month, creating (and charging) it on first request. */
export function partnerRelease(
  deps: ReleaseDeps,
  partnerId: string,
  month: string,
  format: ExportFormat,
): Promise<Release> {
  const now = (deps.now ?? (() => new Date()))();
  // A release is frozen once made, so it may only cover a month that is over everywhere.
  if (month >= new Date(now.getTime() - 14 * 3_600_000).toISOString().slice(0, 7)) {
    return Promise.reject(
      new DomainError('invalid-input', `month ${month} is not over yet; exports cover completed months only`),
    );
  }
  return deps.control.transaction(async (tx) => {
    const store = new ReleaseStore(tx);
    const served = (r: StoredRelease): Release => ({
      body: r.body,
      manifest: JSON.parse(r.manifest) as Record<string, unknown>,
      created: false,
    });
    // A stored release is served without waiting for anyone.
    const stored = await store.find(partnerId, month, format);
    if (stored) return served(stored);
    // Held until commit: a second request for this partner, in any process, waits here and then finds
    // the release this one stored (or the budget it spent).
    if (!(await store.lockPartner(partnerId))) throw new DomainError('not-found', `no partner ${partnerId}`);
    const existing = await store.find(partnerId, month, format);
    if (existing) return served(existing);

    const range = monthRange(month);
    const cost = toMicro(deps.epsilon);
    const budget = toMicro(deps.yearlyBudget);
    const spent = await store.spentMicro(partnerId, range.year);
    if (spent + cost > budget) {
      throw new DomainError(
        'conflict',
        `privacy budget for ${range.year} exhausted: spent ${microToString(spent)} of ${microToString(budget)}`,
        ErrorCode.budgetExhausted,
      );
    }
    const practices = (await new PracticeStore(tx).list()).filter((p) => p.shareWithPartners);
    if (practices.length < MIN_PRACTICES) {
      throw new DomainError(
        'conflict',
        `fewer than ${MIN_PRACTICES} practices share data; no cross-practice release can be made`,
      );
    }
    const rows = await deps.db.rows<{ k: string; v: string; m_pageviews: string; m_visits: string }>(
      partnerExportSql({
        practiceIds: practices.map((p) => p.id),
        from: range.from,
        to: range.to,
        capPageviews: CONTRIBUTION.perPracticeDayCell.pageviews,
        capVisits: CONTRIBUTION.perPracticeDayCell.visits,
      }),
    );
    const cells = noisyCells(rows, deps);
    const releaseId = `rel_${randomBytes(8).toString('hex')}`;
    const manifest = {
      schema_version: EXPORT_SCHEMA_VERSION,
      release_id: releaseId,
      partner_id: partnerId,
      month,
      generated_at: now.toISOString(),
      dimensions: ['month', 'country', 'page_class'],
      metrics: ['pageviews', 'visits'],
      practices_included: practices.length,
      practice_identifiers: false,
      mechanism: 'discrete Laplace, exact sampler (Canonne, Kamath & Steinke 2020) driven by node:crypto',
      epsilon: rationalToString(deps.epsilon),
      delta: 0,
      epsilon_per_measurement: microToString(cost / BigInt(MEASUREMENTS.length)),
      noise_scale: Object.fromEntries(
        MEASUREMENTS.map((m) => [
          `${m.scope}.${m.metric}`,
          microToString(
            (BigInt(CONTRIBUTION.perVisitorDay[m.metric]) *
              BigInt(MEASUREMENTS.length) *
              1_000_000n *
              deps.epsilon.den) /
              deps.epsilon.num,
          ),
        ]),
      ),
      suppression: {
        threshold: deps.suppressionThreshold,
        rule: 'cells from 1 to threshold suppressed, with complementary suppression against totals',
      },
      contribution_bounds: {
        per_visitor_day: CONTRIBUTION.perVisitorDay,
        per_practice_day_cell_cap: CONTRIBUTION.perPracticeDayCell,
      },
      budget: {
        year: range.year,
        yearly_epsilon: rationalToString(deps.yearlyBudget),
        spent_epsilon: microToString(spent + cost),
        remaining_epsilon: microToString(budget - spent - cost),
      },
    };
    const bodies = { csv: renderExportCsv(month, cells, manifest), ndjson: renderExportNdjson(month, cells, manifest) };
    await store.record({
      releaseId,
      partnerId,
      month,
      year: range.year,
      epsilonMicro: cost,
      manifest: JSON.stringify(manifest),
      bodies,
    });
    return { body: bodies[format], manifest, created: true };
  });
}

const cellKey = (scope: Scope, value: string, metric: ExportMetric): string => `${scope}|${value}|${metric}`;

/** True counts → suppression on the true values → discrete Laplace noise on what is published. */
export function noisyCells(
  rows: Array<{ k: string; v: string; m_pageviews: string; m_visits: string }>,
  deps: Pick<ReleaseDeps, 'epsilon' | 'suppressionThreshold' | 'uniform'>,
): ExportCell[] {
  const cells = new Map<string, number>();
  const countries = new Set<string>();
  const classes = new Set<string>();
  let classedPageviews = 0;
  for (const r of rows) {
    const pv = toCount(r.m_pageviews);
    if (r.k === 'total') {
      cells.set(cellKey('total', 'all', 'pageviews'), pv);
      cells.set(cellKey('total', 'all', 'visits'), toCount(r.m_visits));
    } else if (r.k === 'country') {
      const c = r.v || 'unknown';
      countries.add(c);
      cells.set(cellKey('country', c, 'pageviews'), (cells.get(cellKey('country', c, 'pageviews')) ?? 0) + pv);
      cells.set(
        cellKey('country', c, 'visits'),
        (cells.get(cellKey('country', c, 'visits')) ?? 0) + toCount(r.m_visits),
      );
    } else if (r.k === 'page_class' && r.v) {
      classes.add(r.v);
      classedPageviews += pv;
      cells.set(cellKey('page_class', r.v, 'pageviews'), pv);
    }
  }
  const totalPv = cells.get(cellKey('total', 'all', 'pageviews')) ?? 0;
  cells.set(cellKey('total', 'all', 'pageviews'), totalPv);
  cells.set(cellKey('total', 'all', 'visits'), cells.get(cellKey('total', 'all', 'visits')) ?? 0);
  classes.add('other');
  cells.set(cellKey('page_class', 'other', 'pageviews'), Math.max(0, totalPv - classedPageviews));

  const sortedCountries = [...countries].sort();
  const sortedClasses = [...classes].sort();
  const groups = [
    [...sortedCountries.map((c) => cellKey('country', c, 'pageviews')), cellKey('total', 'all', 'pageviews')],
    [...sortedCountries.map((c) => cellKey('country', c, 'visits')), cellKey('total', 'all', 'visits')],
    [...sortedClasses.map((c) => cellKey('page_class', c, 'pageviews')), cellKey('total', 'all', 'pageviews')],
  ];
  const { suppressed } = suppressCells({ cells, groups, threshold: deps.suppressionThreshold });

  const uniform = deps.uniform ?? cryptoUniform;
  const k = BigInt(MEASUREMENTS.length);
  const noisy = (scope: Scope, value: string, metric: ExportMetric): ExportCell => {
    const key = cellKey(scope, value, metric);
    const country = scope === 'country' ? value : 'all';
    const pageClass = scope === 'page_class' ? value : 'all';
    if (suppressed.has(key)) return { country, pageClass, metric, value: null, status: 'suppressed' };
    // scale = Δ / (ε / k) = Δ·k·den / num
    const noise = discreteLaplace(
      deps.epsilon.num,
      BigInt(CONTRIBUTION.perVisitorDay[metric]) * k * deps.epsilon.den,
      uniform,
    );
    const v = BigInt(cells.get(key) ?? 0) + noise;
    return { country, pageClass, metric, value: Number(v < 0n ? 0n : v), status: 'published' };
  };
  return [
    noisy('total', 'all', 'pageviews'),
    noisy('total', 'all', 'visits'),
    ...sortedCountries.flatMap((c) => [noisy('country', c, 'pageviews'), noisy('country', c, 'visits')]),
    ...sortedClasses.map((c) => noisy('page_class', c, 'pageviews')),
  ];
}

export function renderExportCsv(month: string, cells: ExportCell[], manifest: object): string {
  const lines = [`# manifest ${JSON.stringify(manifest)}`, 'month,country,page_class,metric,value,status'];
  for (const c of cells)
    lines.push([month, c.country, c.pageClass, c.metric, c.value, c.status].map(csvField).join(','));
  return `${lines.join('\n')}\n`;
}

export function renderExportNdjson(month: string, cells: ExportCell[], manifest: object): string {
  const lines = [JSON.stringify({ manifest })];
  for (const c of cells)
    lines.push(
      JSON.stringify({
        month,
        country: c.country,
        page_class: c.pageClass,
        metric: c.metric,
        value: c.value,
        status: c.status,
      }),
    );
  return `${lines.join('\n')}\n`;
}
