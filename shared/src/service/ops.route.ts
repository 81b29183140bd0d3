import type { FastifyPluginAsync, FastifySchema } from 'fastify';
import { errorBody, ErrorCode } from '../contracts/errors.ts';

export type OpsRouteDeps = {
  /** True when the service can do its work (its engines reachable, its consumer running, …). */
  ready: () => boolean | Promise<boolean>;
  /** What is not working, in the 503 answer of `/readyz`. */
  notReadyMessage: string;
  /** Sent as Retry-After with that 503, when set. */
  retryAfterS?: number;
  /** A prom-client registry. */
  metrics: { contentType: string; metrics(): Promise<string> };
};

/** OpenAPI description only, read by @fastify/swagger where a service registers it (the reporter's /docs). */
const describe = (summary: string) => ({ tags: ['operations'], summary }) as FastifySchema;

/** Liveness, readiness and Prometheus metrics of every service: no key needed and no data exposed. */
export const opsRoutes: FastifyPluginAsync<OpsRouteDeps> = async (app, deps) => {
  app.get('/healthz', { schema: describe('Liveness') }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: describe('Readiness') }, async (_request, reply) => {
    if (await deps.ready()) return { status: 'ready' };
    if (deps.retryAfterS !== undefined) reply.header('retry-after', String(deps.retryAfterS));
    return reply.code(503).send(errorBody(ErrorCode.unavailable, deps.notReadyMessage));
  });
  app.get('/metrics', { schema: describe('Prometheus metrics') }, async (_request, reply) =>
    reply.type(deps.metrics.contentType).send(await deps.metrics.metrics()),
  );
};
