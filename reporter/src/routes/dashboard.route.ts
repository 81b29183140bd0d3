import { TZDate } from '@date-fns/tz';
import { format as formatDate } from 'date-fns';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  ApiError,
  csvField,
  ErrorCode,
  EVENT_SOURCES,
  LIVE_VISIT_WINDOW_MS,
  parseInput,
  type Db,
  type LiveVisitsStore,
  type Practice,
  type PracticeStore,
} from '@confidant/shared';
import type { Principal } from '../auth/authenticate.ts';
import { buildDashboardAssets } from '../dashboard/build-dashboard.ts';
import { DASHBOARD_CSP, renderDashboardPage, type DashboardConfig } from '../dashboard/dashboard-page.ts';
import { breakdownSql } from '../queries/breakdown.query.ts';
import { BREAKDOWN_DIMENSIONS, metricAlias, toCount } from '../queries/rollup-metrics.ts';
import { valueSeriesSql } from '../queries/value-series.query.ts';
import { daysBetween, isDay } from '../report/month.ts';
import { REPORT_SECTIONS } from '../report/monthly-report.ts';
import { buildRangeSummary, comparisonRange } from '../report/range-summary.ts';
import { breakdownQuery, checkRange, rangeQuery } from './practice.route.ts';
import { idParam, openApi } from './route-schemas.ts';
import { readablePractice } from './readable-practice.ts';

export const summaryQuery = z
  .object({ ...rangeQuery, compare: z.enum(['previous', 'year', 'none']).default('previous') })
  .strict()
  .superRefine((q, ctx) => checkRange(q.from, q.to, 366, ctx))
  .superRefine((q, ctx) => {
    // The rollups' dates start in 1970: a comparison before that cannot be read.
    if (!isDay(q.from) || !isDay(q.to)) return;
    const before = comparisonRange(q, q.compare);
    if (before && !isDay(before.from))
      ctx.addIssue({ code: 'custom', path: ['compare'], message: 'nothing to compare with before 1970-01-01' });
  });

export const valueSeriesQuery = z
  .object({
    ...rangeQuery,
    dimension: z.enum(BREAKDOWN_DIMENSIONS, { message: `dimension must be one of ${BREAKDOWN_DIMENSIONS.join(', ')}` }),
    value: z.string().max(2048),
  })
  .strict()
  .superRefine((q, ctx) => checkRange(q.from, q.to, 366, ctx));

// The other parameters in a dashboard address are the view, read by the page's script.
const dashboardQuery = z.object({ practice: idParam.shape.id.optional() });

const currentQuery = z.object({ source: z.enum(EVENT_SOURCES).default('snippet') }).strict();

export type DashboardRouteDeps = { db: Db; practices: PracticeStore; live: LiveVisitsStore; now: () => Date };

/**
 * The practices a principal may open: all for admins, its own for a practice key or share link,
 * its memberships for a person, none for a partner.
 */
async function visiblePractices(store: PracticeStore, p: Principal): Promise<Practice[]> {
  const admin = p.kind === 'key' ? p.role === 'admin' : p.operatorAdmin;
  if (admin) return (await store.list()).sort((a, b) => a.name.localeCompare(b.name));
  const ids = p.kind === 'key' ? (p.role === 'practice' ? [p.scopeId] : []) : [...p.practices.keys()];
  const found = await Promise.all(ids.map((id) => store.get(id)));
  return found.filter((x): x is Practice => x !== null).sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The practice dashboard: one page whose script reads the stats API with the caller's own
 * credentials, plus the two reads it needs beyond the stats API (totals with a comparison, and
 * one value's days for a drill-down) and a CSV of any breakdown.
 */
export const dashboardRoutes: FastifyPluginAsync<DashboardRouteDeps> = async (app, deps) => {
  const tags = ['dashboard'];
  const security = [{ bearerAuth: [] }];
  const assets = await buildDashboardAssets();

  const practiceFor = (req: FastifyRequest) => readablePractice(req, deps.practices);

  app.get('/dashboard/app.js', { schema: { hide: true } }, async (_req, reply) =>
    reply.type('text/javascript; charset=utf-8').header('etag', assets.etag).send(assets.js),
  );
  app.get('/dashboard/app.css', { schema: { hide: true } }, async (_req, reply) =>
    reply.type('text/css; charset=utf-8').header('etag', assets.etag).send(assets.css),
  );

  /** What the page needs to show one practice the caller may open (the first, unless one is named). */
  async function dashboardConfig(principal: Principal, practiceId: string | undefined): Promise<DashboardConfig> {
    const visible = await visiblePractices(deps.practices, principal);
    if (visible.length === 0)
      throw new ApiError(403, ErrorCode.forbidden, 'this key may not open a practice dashboard');
    const practice = practiceId ? visible.find((p) => p.id === practiceId) : visible[0];
    // As on every practice route: refused, whether or not such a practice exists.
    if (!practice) throw new ApiError(403, ErrorCode.forbidden, `this caller may not read practice ${practiceId}`);
    return {
      practice: { id: practice.id, name: practice.name, timezone: practice.timezone, cookieMode: practice.cookieMode },
      today: formatDate(new TZDate(deps.now(), practice.timezone), 'yyyy-MM-dd'),
      practices: visible.map((p) => ({ id: p.id, name: p.name })),
      panels: REPORT_SECTIONS.map((s) => ({ key: s.key, title: s.title, dim: s.dim, metrics: [...s.metrics] })),
    };
  }

  app.get('/dashboard', { schema: { hide: true } }, async (req, reply) => {
    const q = parseInput(dashboardQuery, req.query, 'query');
    const dashboard = await dashboardConfig(req.principal!, q.practice);
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', DASHBOARD_CSP)
      .send(renderDashboardPage({ kind: 'dashboard', dashboard }));
  });

  app.get(
    '/v1/dashboard/config',
    {
      schema: {
        tags,
        security,
        summary: "What the dashboard page needs: the practice, today's local date, the panels",
      },
    },
    async (req) => dashboardConfig(req.principal!, parseInput(dashboardQuery, req.query, 'query').practice),
  );

  app.get(
    '/v1/practices/:id/stats/summary',
    {
      schema: {
        tags,
        security,
        summary: 'Totals of a day range, compared with the previous period or the same period a year earlier',
        params: openApi(idParam),
        querystring: openApi(summaryQuery),
      },
    },
    async (req) => {
      const practice = await practiceFor(req);
      return buildRangeSummary(deps.db, practice, parseInput(summaryQuery, req.query, 'query'));
    },
  );

  app.get(
    '/v1/practices/:id/stats/current',
    {
      schema: {
        tags,
        security,
        summary: 'Visits with activity in the last 5 minutes, as the processors last published them',
        params: openApi(idParam),
        querystring: openApi(currentQuery),
      },
    },
    async (req) => {
      const practice = await practiceFor(req);
      const q = parseInput(currentQuery, req.query, 'query');
      const now = await deps.live.current(practice.id, q.source);
      return {
        practiceId: practice.id,
        source: q.source,
        visits: now.openVisits,
        windowMinutes: LIVE_VISIT_WINDOW_MS / 60_000,
        asOf: now.asOf?.toISOString() ?? null,
      };
    },
  );

  app.get(
    '/v1/practices/:id/stats/value-series',
    {
      schema: {
        tags,
        security,
        summary: "One dimension value's figures per day (a dashboard drill-down)",
        params: openApi(idParam),
        querystring: openApi(valueSeriesQuery),
      },
    },
    async (req) => {
      const practice = await practiceFor(req);
      const q = parseInput(valueSeriesQuery, req.query, 'query');
      const rows = await deps.db.rows<Record<string, string>>(valueSeriesSql({ practiceId: practice.id, ...q }));
      const byDay = new Map(rows.map((r) => [r.d!, r]));
      return {
        practiceId: practice.id,
        dimension: q.dimension,
        value: q.value,
        source: q.source,
        points: daysBetween(q.from, q.to).map((date) => {
          const r = byDay.get(date);
          return {
            date,
            pageviews: toCount(r?.m_pageviews),
            visits: toCount(r?.m_visits),
            events: toCount(r?.m_events),
          };
        }),
      };
    },
  );

  app.get(
    '/v1/practices/:id/stats/breakdown.csv',
    {
      schema: {
        tags,
        security,
        summary: 'Top values of one dimension as CSV',
        params: openApi(idParam),
        querystring: openApi(breakdownQuery),
      },
    },
    async (req, reply) => {
      const practice = await practiceFor(req);
      const q = parseInput(breakdownQuery, req.query, 'query');
      const orderBy = q.orderBy ?? q.metrics[0]!;
      const rows = await deps.db.rows<Record<string, string>>(breakdownSql({ practiceId: practice.id, ...q, orderBy }));
      const lines = [
        [q.dimension, ...q.metrics].map(csvField).join(','),
        ...rows.map((r) => [r.v ?? '', ...q.metrics.map((m) => toCount(r[metricAlias(m)]))].map(csvField).join(',')),
      ];
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${practice.id}-${q.dimension}-${q.from}-${q.to}.csv"`)
        .send(`${lines.join('\n')}\n`);
    },
  );
};
