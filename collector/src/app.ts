import { createHmac, randomBytes } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import {
  ApiError,
  errorBody,
  ErrorCode,
  installErrorHandling,
  opsRoutes,
  PracticeStore,
  type ControlQueries,
  type Db,
  type Logger,
} from '@confidant/shared';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { CollectorConfig } from './collector.config.ts';
import { createClientIpResolver } from './deid/client-ip.ts';
import { createCountryLookup, type CountryLookup } from './deid/country.ts';
import { RareValueGate } from './deid/rare-value-gate.ts';
import type { SaltSource } from './deid/salt-store.ts';
import type { EventBatchSink } from './logs/log-import.ts';
import { logRoutes } from './logs/logs.route.ts';
import { LoadShedder } from './load-shedder.ts';
import type { Metrics } from './metrics.ts';
import type { PracticeRegistry } from './registry/practice-registry.ts';
import { bufferPageRoute } from './routes/buffer-page.route.ts';
import { collectRoute } from './routes/collect.route.ts';
import type { EventSink } from './routes/hit-handler.ts';
import { pixelRoute } from './routes/pixel.route.ts';
import { plausibleRoute } from './routes/plausible.route.ts';
import { privacyRoute } from './routes/privacy.route.ts';
import type { RouteDeps } from './routes/route-deps.ts';
import { snippetRoute } from './routes/snippet.route.ts';

export type CollectorAppDeps = {
  config: CollectorConfig;
  logger: Logger;
  registry: PracticeRegistry;
  salts: SaltSource;
  sink: EventSink;
  metrics: Metrics;
  country?: CountryLookup;
  /** The rare-value gate of every entry point (default: one made from `config.rareValues`). */
  rareValues?: RareValueGate;
  now?: () => number;
  /** Enables `POST /v1/logs`: ingest keys and the import ledger live in ClickHouse, log events go to `sink` in batches. */
  logs?: { db: Db; control: ControlQueries; sink: EventBatchSink };
};

export const BEACON_BODY_LIMIT = 4096;
const UNMETERED = new Set(['/healthz', '/readyz', '/metrics', '/s.js']);
/** Routes that produce events: the ones load shedding protects. */
const HIT_ROUTES = new Set(['/e', '/api/event', '/e.gif', '/out', '/v1/logs']);
export const OVERLOAD_RETRY_AFTER_S = 2;

/** The collector: beacons, the pixel, the buffer page, the privacy statement, log uploads and operations. */
export async function buildApp(deps: CollectorAppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Fastify's request log lines carry the URL and remote address.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BEACON_BODY_LIMIT,
    trustProxy: false,
  });
  installErrorHandling(app, { accepts: 'text/plain or application/json' });

  // Beacons arrive as text/plain (no CORS preflight) or JSON; both are parsed by the routes, so bad JSON is a 400 of ours.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['text/plain', 'application/json'], { parseAs: 'string' }, (_req, body, done) =>
    done(null, body),
  );

  // Shedding runs first: a refusal must cost less than the work it avoids.
  const shedder = new LoadShedder({ ...deps.config.shed, sampleMs: 250 });
  shedder.start();
  app.addHook('onClose', async () => shedder.stop());
  app.addHook('onRequest', async (request, reply) => {
    if (request.method === 'OPTIONS' || !HIT_ROUTES.has(request.routeOptions.url ?? '')) return;
    const reason = shedder.check();
    if (reason) {
      deps.metrics.shed.inc({ reason });
      return reply
        .code(503)
        .header('retry-after', String(OVERLOAD_RETRY_AFTER_S))
        .send(errorBody(ErrorCode.unavailable, 'overloaded; retry later'));
    }
  });
  // The bound is on beacon events waiting to become durable: every submit settles (acknowledged, spooled or refused), so the count cannot leak.
  // A log upload is bounded by its route instead (body limit, three chunks in flight) and only refused at the door.
  const sink: EventSink = {
    ready: () => deps.sink.ready(),
    submit: (key, event) => {
      const release = shedder.enter();
      deps.metrics.inFlight.set(shedder.current);
      return deps.sink.submit(key, event).finally(() => {
        release();
        deps.metrics.inFlight.set(shedder.current);
      });
    },
  };

  // Rate-limit buckets are keyed by a keyed hash of the IP under a per-process key, held in memory only.
  const rateKey = randomBytes(32);
  const clientIp = createClientIpResolver(deps.config.trustedProxies);
  await app.register(rateLimit, {
    max: deps.config.rateLimitPerMin,
    timeWindow: 60_000,
    keyGenerator: (req) =>
      createHmac('sha256', rateKey)
        .update(clientIp(req.socket.remoteAddress ?? '', req.headers['x-forwarded-for']))
        .digest('base64url'),
    allowList: (req) => UNMETERED.has(req.routeOptions.url ?? ''),
    onExceeded: () => deps.metrics.dropped.inc({ reason: 'rate-limited' }),
    errorResponseBuilder: () => new ApiError(429, ErrorCode.rateLimited, 'too many requests'),
  });

  const country = deps.country ?? createCountryLookup();
  const rareValues =
    deps.rareValues ?? new RareValueGate(deps.config.rareValues.minVisitors, deps.config.rareValues.gateEntries);
  const routeDeps: RouteDeps = {
    config: deps.config,
    logger: deps.logger,
    registry: deps.registry,
    metrics: deps.metrics,
    hits: {
      sink,
      salts: deps.salts,
      country,
      rareValues,
      metrics: deps.metrics,
      clientIp,
      now: deps.now ?? Date.now,
    },
  };
  await app.register(collectRoute, routeDeps);
  await app.register(plausibleRoute, routeDeps);
  await app.register(pixelRoute, routeDeps);
  await app.register(snippetRoute);
  await app.register(bufferPageRoute, routeDeps);
  await app.register(privacyRoute, routeDeps);
  await app.register(opsRoutes, {
    ready: () => sink.ready(),
    notReadyMessage: 'kafka unreachable or spool nearly full',
    retryAfterS: 5,
    metrics: deps.metrics.registry,
  });
  if (deps.logs) {
    await app.register(logRoutes, {
      db: deps.logs.db,
      control: deps.logs.control,
      practices: new PracticeStore(deps.logs.control),
      sink: deps.logs.sink,
      salts: deps.salts,
      country,
      rareValues,
      metrics: deps.metrics,
    });
  }
  return app;
}
