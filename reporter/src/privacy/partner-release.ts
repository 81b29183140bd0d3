import { randomBytes } from 'node:crypto';
import { csvField, DomainError, ErrorCode, type ControlDb, type Db } from '@confidant/shared';
import { partnerExportSql } from '../queries/partner-export.query.ts';
import { toCount } from '../queries/rollup-metrics.ts';
import { monthRange } from '../report/month.ts';
import type { UniformSource } from './discrete-laplace.ts';
import { COUNTRY_DOMAIN, domainCountry } from './iso-countries.ts';
import { microToString, rationalToString, toMicro, type Rational } from './rational.ts';
import {
  CONFIDENCE_LEVEL,
  confidenceHalfWidth,
  MEASUREMENTS,
  noiseScale,
  RELEASE_METRIC,
  releaseCells,
  VISITOR_DAY_SENSITIVITY,
  type ReleaseCell,
  type TrueCounts,
} from './release-cells.ts';
import { ReleaseStore, type ExportFormat, type FrozenPractice, type StoredRelease } from './release-store.ts';

export const EXPORT_SCHEMA_VERSION = 2;

/** Fewer practices than this and a "cross-practice" figure would describe one site. */
export const MIN_PRACTICES = 3;

/**
 * Most one practice-local day adds to a cell. Below 65,536 a row's unique count is exact, so one
 * visitor-day moves a clamped practice-day cell by at most 1.
 */
export const PER_PRACTICE_DAY_CELL_CAP = 50_000;

const HOUR = 3_600_000;
// The month is over in every time zone 14 h after its UTC end; that is when its practice set freezes.
const LAST_TIME_ZONE_HOURS = 14;
// Releases wait until the month's visitor states are sealed (2 UTC midnights after a day, the 2nd for
// a month, then an hour): a row is never read while its states are being replaced by counts.
const SEALED_AFTER_HOURS = 72;

export type ReleaseDeps = {
  db: Db;
  /** Releases and the budget; one transaction per release, serialised across processes. */
  control: ControlDb;
  epsilon: Rational;
  yearlyBudget: Rational;
  suppressionThreshold: number;
  /** Tests only: a seeded source; production draws from node:crypto. */
  uniform?: UniformSource;
  now?: () => Date;
};

export type Release = { body: string; manifest: Record<string, unknown>; created: boolean };

/** The month's moments: local months start up to 14 h before UTC's and end up to 14 h after. */
export function monthWindow(month: string): { startsAt: Date; frozenAt: Date; releasableAt: Date } {
  const year = Number(month.slice(0, 4));
  const m = Number(month.slice(5, 7));
  const startsAt = new Date(Date.UTC(year, m - 1, 1) - LAST_TIME_ZONE_HOURS * HOUR);
  const frozenAt = new Date(Date.UTC(year, m, 1) + LAST_TIME_ZONE_HOURS * HOUR);
  return { startsAt, frozenAt, releasableAt: new Date(frozenAt.getTime() + SEALED_AFTER_HOURS * HOUR) };
}

/**
 * The month's release, the same for every partner: made (and charged to the yearly budget) by the
 * first request in any process, served unchanged to everyone after.
 */
export async function partnerRelease(
  deps: ReleaseDeps,
  partnerId: string,
  month: string,
  format: ExportFormat,
): Promise<Release> {
  const now = (deps.now ?? (() => new Date()))();
  const window = monthWindow(month);
  if (now < window.releasableAt) {
    throw new DomainError(
      'invalid-input',
      `month ${month} is not closed yet; a release covers a month from ${window.releasableAt.toISOString()}`,
    );
  }
  return deps.control.transaction(async (tx) => {
    const store = new ReleaseStore(tx);
    if (!(await store.partnerExists(partnerId))) throw new DomainError('not-found', `no partner ${partnerId}`);
    const served = async (r: StoredRelease): Promise<Release> => {
      await store.delivered(month, partnerId);
      return { body: r.bodies[format], manifest: JSON.parse(r.manifest) as Record<string, unknown>, created: false };
    };
    const stored = await store.find(month);
    if (stored) return served(stored);
    // Whoever waited here while another made the month's release serves that one.
    await store.lockReleases();
    const existing = await store.find(month);
    if (existing) return served(existing);

    const range = monthRange(month);
    const cost = toMicro(deps.epsilon);
    const budget = toMicro(deps.yearlyBudget);
    const spent = await store.spentMicro(range.year);
    if (spent + cost > budget) {
      throw new DomainError(
        'conflict',
        `privacy budget for ${range.year} exhausted: spent ${microToString(spent)} of ${microToString(budget)}`,
        ErrorCode.budgetExhausted,
      );
    }
    const practices = await store.frozenPractices(window.startsAt, window.frozenAt);
    if (practices.length < MIN_PRACTICES) {
      throw new DomainError(
        'conflict',
        `fewer than ${MIN_PRACTICES} practices shared data when ${month} ended; no cross-practice release can be made`,
      );
    }
    const countryPractices = practices.filter((p) => !p.cookieMode);
    const cells = releaseCells(await monthCounts(deps.db, practices, month), deps);
    const releaseId = `rel_${randomBytes(8).toString('hex')}`;
    const manifest = releaseManifest({
      releaseId,
      month,
      generatedAt: now,
      frozenAt: window.frozenAt,
      practices: practices.length,
      countryPractices: countryPractices.length,
      epsilon: deps.epsilon,
      yearlyBudget: deps.yearlyBudget,
      suppressionThreshold: deps.suppressionThreshold,
      spentMicro: spent + cost,
      budgetMicro: budget,
    });
    const bodies = { csv: renderExportCsv(month, cells, manifest), ndjson: renderExportNdjson(month, cells, manifest) };
    await store.record({
      releaseId,
      month,
      year: range.year,
      epsilonMicro: cost,
      practiceIds: practices.map((p) => p.id),
      manifest: JSON.stringify(manifest),
      bodies,
    });
    await store.delivered(month, partnerId);
    return { body: bodies[format], manifest, created: true };
  });
}

/**
 * The true visitor-day counts of a month's cells over its frozen practices: all of them in the total,
 * those never in cookie mode during the month by country (codes outside the ISO list count as ZZ).
 */
export async function monthCounts(db: Db, practices: FrozenPractice[], month: string): Promise<TrueCounts> {
  const range = monthRange(month);
  const rows = await db.rows<{ k: string; v: string; m_visitor_days: string }>(
    partnerExportSql({
      totalPracticeIds: practices.map((p) => p.id),
      countryPracticeIds: practices.filter((p) => !p.cookieMode).map((p) => p.id),
      from: range.from,
      to: range.to,
      cap: PER_PRACTICE_DAY_CELL_CAP,
    }),
  );
  let total = 0;
  const countries = new Map<string, number>();
  for (const r of rows) {
    const n = toCount(r.m_visitor_days);
    if (r.k === 'total') total += n;
    else if (r.k === 'country') {
      const c = domainCountry(r.v);
      countries.set(c, (countries.get(c) ?? 0) + n);
    }
  }
  return { total, countries };
}

/** What a partner needs to read the release: what is counted, the privacy unit and parameters. */
export function releaseManifest(r: {
  releaseId: string;
  month: string;
  generatedAt: Date;
  frozenAt: Date;
  practices: number;
  countryPractices: number;
  epsilon: Rational;
  yearlyBudget: Rational;
  suppressionThreshold: number;
  spentMicro: bigint;
  budgetMicro: bigint;
}): Record<string, unknown> {
  const { s, t } = noiseScale(r.epsilon);
  const halfWidth = confidenceHalfWidth(r.epsilon);
  const perMeasurement = microToString(toMicro(r.epsilon) / BigInt(MEASUREMENTS.length));
  return {
    schema_version: EXPORT_SCHEMA_VERSION,
    release_id: r.releaseId,
    month: r.month,
    generated_at: r.generatedAt.toISOString(),
    shared_by_all_partners: true,
    dimensions: ['month', 'country'],
    metrics: [RELEASE_METRIC],
    domain: {
      country: `ISO 3166-1 alpha-2 (${COUNTRY_DOMAIN.length - 1} codes) and ZZ (unknown or any other code), every one released`,
      page_class:
        'not released: page-class counts come from count-only events, which carry no visitor value, so what one visitor adds to them cannot be bounded',
    },
    unit_of_privacy:
      'a visitor-day: one visitor key on one UTC day (a browser and IP address at one practice under one daily salt, or in cookie mode one cookie)',
    practices_included: r.practices,
    practices_in_country_cells: r.countryPractices,
    practice_set:
      'practices sharing with partners when the month ended everywhere, and still sharing when the release was made; practices in cookie mode at any time in the month count in the total only (a cookie can appear in several countries a day)',
    practice_set_frozen_at: r.frozenAt.toISOString(),
    practice_identifiers: false,
    mechanism: 'discrete Laplace on every cell, exact sampler (Canonne, Kamath & Steinke 2020) driven by node:crypto',
    epsilon: rationalToString(r.epsilon),
    delta: 0,
    measurements: MEASUREMENTS.map((m) => ({
      name: m,
      epsilon: perMeasurement,
      l1_sensitivity: VISITOR_DAY_SENSITIVITY,
      noise_scale: microToString((t * 1_000_000n) / s),
    })),
    contribution_bounds: {
      per_visitor_day: `at most 1 per practice-local day and cell, at most ${VISITOR_DAY_SENSITIVITY} local days, one country`,
      per_practice_day_cell_cap: PER_PRACTICE_DAY_CELL_CAP,
    },
    confidence_interval: {
      level: CONFIDENCE_LEVEL,
      half_width: halfWidth,
      rule: 'each published cell gives [max(0, value - half_width), value + half_width] (ci_low, ci_high), from the discrete Laplace tails alone',
    },
    suppression: {
      threshold: r.suppressionThreshold,
      rule: 'on the noisy values only: cells from 1 to threshold suppressed, with complementary suppression against the noisy total',
    },
    budget: {
      scope: 'one budget for all partners: the same people are in every release',
      year: Number(r.month.slice(0, 4)),
      yearly_epsilon: rationalToString(r.yearlyBudget),
      spent_epsilon: microToString(r.spentMicro),
      remaining_epsilon: microToString(r.budgetMicro - r.spentMicro),
    },
  };
}

const CSV_HEADER = 'month,country,metric,value,status,ci_low,ci_high';

export function renderExportCsv(month: string, cells: ReleaseCell[], manifest: object): string {
  const lines = [`# manifest ${JSON.stringify(manifest)}`, CSV_HEADER];
  for (const c of cells)
    lines.push(
      [month, c.country, RELEASE_METRIC, c.value, c.status, c.ciLow, c.ciHigh]
        .map((v) => csvField(v === null ? '' : String(v)))
        .join(','),
    );
  return `${lines.join('\n')}\n`;
}

export function renderExportNdjson(month: string, cells: ReleaseCell[], manifest: object): string {
  const lines = [JSON.stringify({ manifest })];
  for (const c of cells)
    lines.push(
      JSON.stringify({
        month,
        country: c.country,
        metric: RELEASE_METRIC,
        value: c.value,
        status: c.status,
        ci_low: c.ciLow,
        ci_high: c.ciHigh,
      }),
    );
  return `${lines.join('\n')}\n`;
}
