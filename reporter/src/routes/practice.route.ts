import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  EVENT_SOURCES,
  parseInput,
  type Db,
  type GoalStore,
  type PracticeStore,
  type RollupMetric,
} from '@confidant/shared';
import { breakdownSql } from '../queries/breakdown.query.ts';
import {
  BREAKDOWN_DIMENSIONS,
  defaultMetrics,
  HOURLY_METRICS,
  PROP_DIMENSION_RE,
  METRICS,
  metricAlias,
  toCount,
  type BreakdownDimension,
} from '../queries/rollup-metrics.ts';
import { timeseriesSql } from '../queries/timeseries.query.ts';
import { renderReportCsv } from '../render/report-csv.ts';
import { REPORT_CSP, renderReportHtml } from '../render/report-html.ts';
import { daysBetween, isDay, isMonth } from '../report/month.ts';
import { buildMonthlyReport } from '../report/monthly-report.ts';
import { idParam, openApi } from './route-schemas.ts';
import { readablePractice } from './readable-practice.ts';

export const MAX_DAYS = { day: 366, hour: 31 } as const;

export const day = (name: string) => z.string().refine(isDay, `${name} must be a date written YYYY-MM-DD`);
const metricList = (allowed: readonly RollupMetric[], fallback?: string) =>
  (fallback === undefined ? z.string() : z.string().default(fallback))
    .transform((s) =>
      s
        .split(',')
        .map((m) => m.trim())
        .filter(Boolean),
    )
    .refine(
      (ms) => ms.length > 0 && ms.every((m) => (allowed as readonly string[]).includes(m)),
      `metrics must be a comma list of ${allowed.join(', ')}`,
    )
    .transform((ms) => [...new Set(ms)] as RollupMetric[]);

export const monthlyQuery = z
  .object({
    month: z.string().refine(isMonth, 'month must be written YYYY-MM'),
    format: z.enum(['json', 'csv', 'html']).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(10),
    source: z.enum(EVENT_SOURCES).optional(),
  })
  .strict();

export const rangeQuery = { from: day('from'), to: day('to'), source: z.enum(EVENT_SOURCES).default('snippet') };

export const timeseriesQuery = z
  .object({
    ...rangeQuery,
    interval: z.enum(['day', 'hour']).default('day'),
    metrics: metricList(METRICS, 'pageviews,visits,visitors'),
  })
  .strict()
  .superRefine((q, ctx) => checkRange(q.from, q.to, MAX_DAYS[q.interval], ctx))
  .refine((q) => q.interval === 'day' || q.metrics.every((m) => HOURLY_METRICS.includes(m)), {
    message: 'hourly data has no events metric',
    path: ['metrics'],
  });

const DIMENSION_MESSAGE = `dimension must be one of ${BREAKDOWN_DIMENSIONS.join(', ')}, or prop:<key> for a declared property key`;

export const breakdownQuery = z
  .object({
    ...rangeQuery,
    dimension: z.union([z.enum(BREAKDOWN_DIMENSIONS), z.string().regex(PROP_DIMENSION_RE, DIMENSION_MESSAGE)], {
      message: DIMENSION_MESSAGE,
    }) as z.ZodType<BreakdownDimension, string>,
    metrics: metricList(METRICS)
      .optional()
      .describe(
        'Default: what the dimension counts: events,visitors for events, actions, forms and prop:<key>; pageviews,visitors for pages; pageviews for scroll depth; else visits,pageviews',
      ),
    orderBy: z.enum(METRICS).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(10),
  })
  .strict()
  .superRefine((q, ctx) => checkRange(q.from, q.to, MAX_DAYS.day, ctx))
  .transform((q) => ({ ...q, metrics: q.metrics ?? defaultMetrics(q.dimension) }));

export function checkRange(from: string, to: string, maxDays: number, ctx: z.RefinementCtx): void {
  if (!isDay(from) || !isDay(to)) return;
  const days = (Date.parse(to) - Date.parse(from)) / 86_400_000 + 1;
  if (days < 1) ctx.addIssue({ code: 'custom', path: ['to'], message: 'to must not be before from' });
  else if (days > maxDays)
    ctx.addIssue({
      code: 'custom',
      path: ['to'],
      message: `range too long: at most ${maxDays} days for this interval`,
    });
}

/** Explicit `format` wins; otherwise the Accept header picks HTML or CSV; JSON by default. */
function negotiate(req: FastifyRequest, format: 'json' | 'csv' | 'html' | undefined): 'json' | 'csv' | 'html' {
  if (format) return format;
  const accept = req.headers.accept ?? '';
  if (/text\/html/.test(accept)) return 'html';
  if (/text\/csv/.test(accept)) return 'csv';
  return 'json';
}

export type PracticeRouteDeps = { db: Db; practices: PracticeStore; goals: GoalStore };

/** Per-practice figures: practice keys for their own practice, and admins. */
export const practiceRoutes: FastifyPluginAsync<PracticeRouteDeps> = async (app, deps) => {
  const tags = ['practice'];
  const security = [{ bearerAuth: [] }];

  const practiceFor = (req: FastifyRequest) => readablePractice(req, deps.practices);

  app.get(
    '/v1/practices/:id/reports/monthly',
    {
      schema: {
        tags,
        security,
        summary: 'Monthly usage report (JSON, CSV or printable HTML)',
        params: openApi(idParam),
        querystring: openApi(monthlyQuery),
      },
    },
    async (req, reply: FastifyReply) => {
      const practice = await practiceFor(req);
      const q = parseInput(monthlyQuery, req.query, 'query');
      const report = await buildMonthlyReport(deps.db, practice, q.month, {
        limit: q.limit,
        goals: await deps.goals.list(practice.id),
        ...(q.source ? { source: q.source } : {}),
      });
      const format = negotiate(req, q.format);
      reply.header('vary', 'accept');
      if (format === 'csv') {
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${practice.id}-${q.month}.csv"`)
          .send(renderReportCsv(report));
      }
      if (format === 'html')
        return reply
          .type('text/html; charset=utf-8')
          .header('content-security-policy', REPORT_CSP)
          .send(renderReportHtml(report));
      return report;
    },
  );

  app.get(
    '/v1/practices/:id/stats/timeseries',
    {
      schema: {
        tags,
        security,
        summary: 'Totals per day or hour',
        params: openApi(idParam),
        querystring: openApi(timeseriesQuery),
      },
    },
    async (req) => {
      const practice = await practiceFor(req);
      const q = parseInput(timeseriesQuery, req.query, 'query');
      const rows = await deps.db.rows<Record<string, string | number>>(
        timeseriesSql({ practiceId: practice.id, ...q }),
      );
      const found = new Map(rows.map((r) => [q.interval === 'day' ? String(r.d) : `${r.d} ${r.h}`, r]));
      const slots = daysBetween(q.from, q.to).flatMap((d) =>
        q.interval === 'day' ? [{ date: d }] : Array.from({ length: 24 }, (_, h) => ({ date: d, hour: h })),
      );
      const points = slots.map((slot) => {
        const row = found.get('hour' in slot ? `${slot.date} ${slot.hour}` : slot.date);
        return { ...slot, ...Object.fromEntries(q.metrics.map((m) => [m, row ? toCount(row[metricAlias(m)]) : 0])) };
      });
      return {
        practiceId: practice.id,
        from: q.from,
        to: q.to,
        interval: q.interval,
        source: q.source,
        metrics: q.metrics,
        timezone: practice.timezone,
        points,
      };
    },
  );

  app.get(
    '/v1/practices/:id/stats/breakdown',
    {
      schema: {
        tags,
        security,
        summary: 'Top values of one dimension',
        params: openApi(idParam),
        querystring: openApi(breakdownQuery),
      },
    },
    async (req) => {
      const practice = await practiceFor(req);
      const q = parseInput(breakdownQuery, req.query, 'query');
      const orderBy = q.orderBy ?? q.metrics[0]!;
      const rows = await deps.db.rows<Record<string, string>>(breakdownSql({ practiceId: practice.id, ...q, orderBy }));
      return {
        practiceId: practice.id,
        from: q.from,
        to: q.to,
        source: q.source,
        dimension: q.dimension,
        metrics: q.metrics,
        orderBy,
        rows: rows.map((r) => ({
          value: r.v,
          ...Object.fromEntries(q.metrics.map((m) => [m, toCount(r[metricAlias(m)])])),
        })),
      };
    },
  );
};
