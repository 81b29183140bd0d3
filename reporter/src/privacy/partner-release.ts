import { randomBytes } from 'node:crypto';
import { csvField, DomainError, ErrorCode, PARTNER_ALL_CELL, type ControlDb, type Db } from '@confidant/shared';
import { partnerDataSinceSql, partnerExportSql, partnerOpenDaysSql } from '../queries/partner-export.query.ts';
import { monthRange } from '../report/month.ts';
import type { UniformSource } from './discrete-laplace.ts';
import { COUNTRY_DOMAIN, domainCountry } from './iso-countries.ts';
import { microToString, rationalToString, toMicro, type Rational } from './rational.ts';
import {
  CONFIDENCE_LEVEL,
  confidenceHalfWidth,
  MEASUREMENTS,
  MIN_PRACTICES,
  noiseScale,
  RELEASE_METRIC,
  releaseCells,
  VISITOR_DAY_SENSITIVITY,
  type ReleaseCell,
  type TrueCounts,
} from './release-cells.ts';
import { ReleaseStore, type ExportFormat, type StoredRelease } from './release-store.ts';

export const EXPORT_SCHEMA_VERSION = 3;

/**
 * Most one practice-day adds to a cell. Below 65,536 a sealed unique count is exact, so one
 * visitor-day moves a clamped practice-day cell by at most 1.
 */
export const PER_PRACTICE_DAY_CELL_CAP = 50_000;

const HOUR = 3_600_000;
// A UTC day's partner states close 2 days after it starts and are sealed an hour later; the sealer
// runs every few minutes. So a month's last day is sealed well within 48 h of the month's end.
const SEALED_AFTER_HOURS = 48;

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

/** The month's moments: partner rows are by UTC day, so the month is the UTC month. */
export function monthWindow(month: string): { startsAt: Date; frozenAt: Date; releasableAt: Date } {
  const year = Number(month.slice(0, 4));
  const m = Number(month.slice(5, 7));
  const startsAt = new Date(Date.UTC(year, m - 1, 1));
  const frozenAt = new Date(Date.UTC(year, m, 1));
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
    // A month released under the per-partner scheme is never noised again: a second, independent
    // noisy copy of it could be averaged with the first.
    if (await store.releasedBeforeSharedScheme(month)) {
      throw new DomainError(
        'conflict',
        `${month} was released before releases were shared by all partners; it is not released again`,
      );
    }

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
    const practices = await store.frozenPractices(window.frozenAt);
    if (practices.length < MIN_PRACTICES) {
      throw new DomainError(
        'conflict',
        `fewer than ${MIN_PRACTICES} practices shared data when ${month} ended; no cross-practice release can be made`,
      );
    }
    await assertPartnerDataComplete(deps.db, month, window.startsAt);
    const cells = releaseCells(await monthCounts(deps.db, practices, month), deps);
    const releaseId = `rel_${randomBytes(8).toString('hex')}`;
    const manifest = releaseManifest({
      releaseId,
      month,
      generatedAt: now,
      frozenAt: window.frozenAt,
      practices: practices.length,
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
      practiceIds: practices,
      manifest: JSON.stringify(manifest),
      bodies,
    });
    await store.delivered(month, partnerId);
    return { body: bodies[format], manifest, created: true };
  });
}

/**
 * Refuses a month whose partner rows are not complete: one that began before the processor wrote
 * partner rows, or with a UTC day whose states are not sealed yet (only sealed counts are deduplicated).
 */
async function assertPartnerDataComplete(db: Db, month: string, startsAt: Date): Promise<void> {
  const range = monthRange(month);
  const [since] = await db.rows<{ since: string; n: string }>(partnerDataSinceSql());
  if (!since || Number(since.n) === 0 || Date.parse(`${since.since.replace(' ', 'T')}Z`) > startsAt.getTime()) {
    throw new DomainError(
      'conflict',
      `${month} began before partner visitor-days were recorded; it has no complete data to release`,
    );
  }
  const [open] = await db.rows<{ n: string }>(partnerOpenDaysSql(range.from, range.to));
  if (Number(open?.n ?? 0) > 0) {
    throw new DomainError(
      'conflict',
      `${month} is not sealed yet (a UTC day's visitor-days are still open); retry later`,
    );
  }
}

/**
 * The true visitor-day counts of a month's cells over its frozen practices, from the sealed partner
 * rows (codes outside the ISO list count as ZZ), and per country the practices with data in it.
 */
export async function monthCounts(db: Db, practiceIds: string[], month: string): Promise<TrueCounts> {
  const range = monthRange(month);
  const rows = await db.rows<{ cell: string; visitor_days: string; practices: string }>(
    partnerExportSql({ practiceIds, from: range.from, to: range.to, cap: PER_PRACTICE_DAY_CELL_CAP }),
  );
  let total = 0;
  const countries = new Map<string, number>();
  const countryPractices = new Map<string, number>();
  for (const r of rows) {
    const n = Number(r.visitor_days);
    if (r.cell === PARTNER_ALL_CELL) total += n;
    else {
      const c = domainCountry(r.cell);
      countries.set(c, (countries.get(c) ?? 0) + n);
      // Codes folded into ZZ add up their practices: an overcount, still moved by 1 per visitor-day.
      countryPractices.set(c, (countryPractices.get(c) ?? 0) + Number(r.practices));
    }
  }
  return { total, countries, countryPractices };
}

/** What a partner needs to read the release: what is counted, the privacy unit and parameters. */
export function releaseManifest(r: {
  releaseId: string;
  month: string;
  generatedAt: Date;
  frozenAt: Date;
  practices: number;
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
    month_days: 'UTC days',
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
      'a visitor-day: one visitor key on one UTC day of its salt (a browser and IP address at one practice under one daily salt, or in cookie mode one cookie on one UTC day)',
    counted:
      'per practice, UTC day and cell the distinct visitor keys (the larger of snippet and logs), counted once when the day is sealed, clamped per practice-day cell, summed; country cells count daily-salt keys only (they include the IP address, so a key has one country)',
    excluded: [
      'events that arrive after their UTC day closed (2 days after it began): late log imports',
      'count-only events (no visitor value)',
      'cookie visitors in country cells (a cookie can be seen from several countries in a day)',
      'practices not sharing with partners when the month ended, or no longer sharing',
    ],
    practices_included: r.practices,
    practice_set:
      'practices sharing with partners when the month ended (UTC), and still sharing when the release was made',
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
      ...(m === 'country_practices' ? { published: false } : {}),
    })),
    contribution_bounds: {
      per_visitor_day: `at most ${VISITOR_DAY_SENSITIVITY} to the total, ${VISITOR_DAY_SENSITIVITY} to one country cell and ${VISITOR_DAY_SENSITIVITY} to that country's practice count`,
      per_practice_day_cell_cap: PER_PRACTICE_DAY_CELL_CAP,
    },
    confidence_interval: {
      level: CONFIDENCE_LEVEL,
      half_width: halfWidth,
      rule: 'ci_low = max(0, value - half_width), ci_high = value + half_width, from the discrete Laplace noise alone',
      meaning: `for every cell and every true count, before anything is suppressed, the interval holds the counted value (as defined under "counted") with probability at least ${CONFIDENCE_LEVEL} over the noise. It is not conditional on the cell being published, nor on its value: among published cells, or cells with small values, coverage can be lower. It says nothing of what is not counted (see "excluded") or of the caps.`,
    },
    suppression: {
      threshold: r.suppressionThreshold,
      min_practices_per_country: MIN_PRACTICES,
      rule: 'on noisy values only: a country whose noisy number of practices with data is under min_practices_per_country is suppressed; so is every cell from 1 to threshold; then complementary suppression against the noisy total',
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
