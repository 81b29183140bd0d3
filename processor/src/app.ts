import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { errorBody, ErrorCode } from '@confidant/shared';

export type ProcessorAppDeps = { registry: Registry; ready: () => Promise<boolean> };

/** The processor's operational endpoints: liveness, readiness and Prometheus metrics. */
export function buildApp(deps: ProcessorAppDeps): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    if (await deps.ready()) return { status: 'ready' };
    return reply.code(503).send(errorBody(ErrorCode.unavailable, 'consumer not running or ClickHouse unreachable'));
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', deps.registry.contentType);
    return deps.registry.metrics();
  });
  return app;
}
