import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { ApiError, ErrorCode, parseInput, type Practice, type PracticeStore } from '@confidant/shared';
import { requirePracticeAccess } from '../auth/authenticate.ts';
import { idParam } from './route-schemas.ts';

/** The practice a route's `:id` names, once the caller is allowed to read it (refused before it is looked up). */
export async function readablePractice(
  req: FastifyRequest,
  practices: PracticeStore,
  params: z.ZodType<{ id: string }> = idParam,
): Promise<Practice> {
  const { id } = parseInput(params, req.params, 'path');
  requirePracticeAccess(req.principal!, id);
  const practice = await practices.get(id);
  if (!practice) throw new ApiError(404, ErrorCode.notFound, `no practice ${id}`);
  return practice;
}
