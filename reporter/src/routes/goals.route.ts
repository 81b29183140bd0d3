import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { GOAL_ID_RE, goalSchema, parseInput } from '@confidant/shared';
import { addGoal, listGoals, removeGoal, replaceGoal, type GoalStores } from '../admin/goal-operations.ts';
import { requirePracticeOwner } from '../auth/authenticate.ts';
import { idParam, openApi } from './route-schemas.ts';

const goalParams = idParam.extend({
  goalId: z.string().regex(GOAL_ID_RE, 'a goal id of lowercase letters, digits and -'),
});

/** A practice's goals (what counts as a conversion): the operator and the practice's owners. */
export const goalRoutes: FastifyPluginAsync<GoalStores> = async (app, stores) => {
  const tags = ['admin'];
  const security = [{ bearerAuth: [] }];
  // Every route here is under /v1/admin/practices/:id; each route parses its own parameters.
  app.addHook('preHandler', async (req) => {
    const { id } = req.params as { id?: unknown };
    requirePracticeOwner(req.principal!, typeof id === 'string' ? id : '');
  });

  app.get(
    '/v1/admin/practices/:id/goals',
    { schema: { tags, security, summary: 'A practice’s goals', params: openApi(idParam) } },
    async (req) => {
      const { id } = parseInput(idParam, req.params, 'path');
      return { practiceId: id, goals: await listGoals(stores, id) };
    },
  );

  app.post(
    '/v1/admin/practices/:id/goals',
    {
      schema: {
        tags,
        security,
        summary:
          'Add a goal: a page pattern, a count-only page class, or a declared event (optionally with one property value)',
        params: openApi(idParam),
        body: openApi(goalSchema),
      },
    },
    async (req, reply) => {
      const { id } = parseInput(idParam, req.params, 'path');
      return reply.code(201).send(await addGoal(stores, id, req.body));
    },
  );

  app.put(
    '/v1/admin/practices/:id/goals/:goalId',
    { schema: { tags, security, summary: 'Replace a goal', params: openApi(goalParams), body: openApi(goalSchema) } },
    async (req) => {
      const { id, goalId } = parseInput(goalParams, req.params, 'path');
      return replaceGoal(stores, id, goalId, req.body);
    },
  );

  app.delete(
    '/v1/admin/practices/:id/goals/:goalId',
    {
      schema: {
        tags,
        security,
        summary: 'Remove a goal (its counts so far stay stored)',
        params: openApi(goalParams),
      },
    },
    async (req) => {
      const { id, goalId } = parseInput(goalParams, req.params, 'path');
      await removeGoal(stores, id, goalId);
      return { practiceId: id, goalId, removed: true };
    },
  );
};
