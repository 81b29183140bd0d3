import { errorBody, ErrorCode } from '@confidant/shared';
import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from './route-deps.ts';

/** Liveness, readiness (producer connected and spool below its limit) and Prometheus metrics. */
export function healthRoute(app: FastifyInstance, deps: RouteDeps): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    if (deps.hits.sink.ready()) return { status: 'ready' };
    return reply
      .code(503)
      .header('retry-after', '5')
      .send(errorBody(ErrorCode.unavailable, 'kafka unreachable or spool nearly full'));
  });
  app.get('/metrics', async (_request, reply) => {
    return reply.header('content-type', deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
}
