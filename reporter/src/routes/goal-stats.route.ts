import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  ApiError,
  ErrorCode,
  GOAL_ID_RE,
  parseInput,
  type Db,
  type GoalStore,
  type PracticeStore,
} from '@confidant/shared';
import { GOAL_BREAKDOWN_KEYS, goalBreakdowns, goalSummaries, type GoalBreakdownName } from '../report/goal-report.ts';
import { checkRange, MAX_DAYS, rangeQuery } from './practice.route.ts';
import { idParam, openApi } from './route-schemas.ts';
import { readablePractice } from './readable-practice.ts';

export const goalsQuery = z
  .object(rangeQuery)
  .strict()
  .superRefine((q, ctx) => checkRange(q.from, q.to, MAX_DAYS.day, ctx));

export const goalQuery = z
  .object({
    ...rangeQuery,
    by: z
      .string()
      .default(GOAL_BREAKDOWN_KEYS.join(','))
      .transform((s) => [
        ...new Set(
          s
            .split(',')
            .map((b) => b.trim())
            .filter(Boolean),
        ),
      ])
      .refine(
        (bs) => bs.length > 0 && bs.every((b) => (GOAL_BREAKDOWN_KEYS as string[]).includes(b)),
        `by must be a comma list of ${GOAL_BREAKDOWN_KEYS.join(', ')}`,
      )
      .transform((bs) => bs as GoalBreakdownName[]),
    limit: z.coerce.number().int().min(1).max(1000).default(10),
  })
  .strict()
  .superRefine((q, ctx) => checkRange(q.from, q.to, MAX_DAYS.day, ctx));

const goalParams = idParam.extend({
  goalId: z.string().regex(GOAL_ID_RE, 'a goal id of lowercase letters, digits and -'),
});

export type GoalStatsRouteDeps = { db: Db; practices: PracticeStore; goals: GoalStore };

/** Goal conversions and rates: practice keys for their own practice, and admins. */
export const goalStatsRoutes: FastifyPluginAsync<GoalStatsRouteDeps> = async (app, deps) => {
  const tags = ['practice'];
  const security = [{ bearerAuth: [] }];

  const practiceFor = (req: FastifyRequest, params?: z.ZodType<{ id: string }>) =>
    readablePractice(req, deps.practices, params);

  app.get(
    '/v1/practices/:id/stats/goals',
    {
      schema: {
        tags,
        security,
        summary:
          'Each goal’s conversions (events that reached it), converting visits and visitors, and conversion rate (converting visits ÷ visits, %)',
        params: openApi(idParam),
        querystring: openApi(goalsQuery),
      },
    },
    async (req) => {
      const practice = await practiceFor(req);
      const q = parseInput(goalsQuery, req.query, 'query');
      const goals = await deps.goals.list(practice.id);
      return {
        practiceId: practice.id,
        from: q.from,
        to: q.to,
        source: q.source,
        goals: await goalSummaries(deps.db, { practiceId: practice.id, ...q }, goals),
      };
    },
  );

  app.get(
    '/v1/practices/:id/stats/goals/:goalId',
    {
      schema: {
        tags,
        security,
        summary:
          'One goal’s figures and its breakdowns by entry page, channel, referrer, campaign, country and device, each value with its visits and conversion rate (%)',
        params: openApi(goalParams),
        querystring: openApi(goalQuery),
      },
    },
    async (req) => {
      const practice = await practiceFor(req, goalParams);
      const { goalId } = parseInput(goalParams, req.params, 'path');
      const q = parseInput(goalQuery, req.query, 'query');
      const filter = { practiceId: practice.id, from: q.from, to: q.to, source: q.source };
      const goals = await deps.goals.list(practice.id);
      const summary = (await goalSummaries(deps.db, filter, goals)).find((g) => g.id === goalId);
      if (!summary) throw new ApiError(404, ErrorCode.notFound, `practice ${practice.id} has no goal ${goalId}`);
      return {
        practiceId: practice.id,
        from: q.from,
        to: q.to,
        source: q.source,
        goal: summary,
        breakdowns: await goalBreakdowns(deps.db, filter, goalId, q.by, q.limit),
      };
    },
  );
};
