import type { FastifyInstance } from 'fastify';
import { isClickHouseReady, type Db } from '@confidant/shared';
import type { Registry } from 'prom-client';

/** Liveness, readiness and Prometheus metrics. No key needed and no data exposed. */
export function opsRoutes(app: FastifyInstance, deps: { db: Db; registry: Registry }): void {
  const tags = ['operations'];
  app.get('/healthz', { schema: { tags, summary: 'Liveness' } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { tags, summary: 'Readiness: ClickHouse reachable' } }, async (_req, reply) => {
    const ready = await isClickHouseReady(deps.db);
    return reply
      .code(ready ? 200 : 503)
      .send(ready ? { status: 'ready' } : { error: { code: 'unavailable', message: 'ClickHouse is not reachable' } });
  });
  app.get('/metrics', { schema: { tags, summary: 'Prometheus metrics' } }, async (_req, reply) =>
    reply.type(deps.registry.contentType).send(await deps.registry.metrics()),
  );
}
