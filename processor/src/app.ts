import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { installErrorHandling, opsRoutes } from '@confidant/shared';

export type ProcessorAppDeps = { registry: Registry; ready: () => Promise<boolean> };

/** The processor's operational endpoints: liveness, readiness and Prometheus metrics. */
export async function buildApp(deps: ProcessorAppDeps): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  installErrorHandling(app);
  await app.register(opsRoutes, {
    ready: deps.ready,
    notReadyMessage: 'consumer not running or ClickHouse unreachable',
    metrics: deps.registry,
  });
  return app;
}
