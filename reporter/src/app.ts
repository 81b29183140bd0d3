import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import {
  ApiError,
  ErrorCode,
  installErrorHandling,
  isClickHouseReady,
  opsRoutes,
  GoalStore,
  PracticeStore,
  runPrivacyAudit,
  isControlPlaneReady,
  LiveVisitsStore,
  type ControlDb,
  type Db,
  type Logger,
} from '@confidant/shared';
import { Authenticator, type Principal } from './auth/authenticate.ts';
import { KeyStore } from './auth/key-store.ts';
import { PartnerStore } from './auth/partner-store.ts';
import { ShareLinkStore } from './auth/share-link-store.ts';
import type { UniformSource } from './privacy/discrete-laplace.ts';
import type { ReporterConfig } from './reporter.config.ts';
import { adminRoutes, type AuditRunner } from './routes/admin.route.ts';
import { dashboardRoutes } from './routes/dashboard.route.ts';
import { goalStatsRoutes } from './routes/goal-stats.route.ts';
import { goalRoutes } from './routes/goals.route.ts';
import { partnerRoutes } from './routes/partner.route.ts';
import { practiceRoutes } from './routes/practice.route.ts';
import { shareLinkRoutes } from './routes/share-link.route.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export type ReporterAppDeps = {
  config: ReporterConfig;
  db: Db;
  /** The control plane: practices, partners, keys, releases and the budget ledger. */
  control: ControlDb;
  logger: Logger;
  /** Uniform integers for the DP sampler; node:crypto unless a test substitutes one. */
  uniform?: UniformSource;
  now?: () => Date;
  /** The privacy audit behind `GET /v1/admin/audit`; by default over this database (topics unchecked). */
  audit?: AuditRunner;
};

// The dashboard's script and styles hold no figures; the page and the data stay behind sign-in.
// A share link's page and its unlock carry their own credential: the token in the path or body.
const PUBLIC_ROUTES = new Set([
  '/healthz',
  '/readyz',
  '/metrics',
  '/dashboard/app.js',
  '/dashboard/app.css',
  '/share/:token',
  '/v1/share-links/unlock',
]);
const isPublic = (req: FastifyRequest): boolean => {
  const url = req.routeOptions.url;
  return url !== undefined && (PUBLIC_ROUTES.has(url) || url === '/docs' || url.startsWith('/docs/'));
};

/** The reporter: aggregates only, every data route behind a scoped API key. */
export async function buildApp(deps: ReporterAppDeps): Promise<FastifyInstance> {
  const { config, db, control } = deps;
  const now = deps.now ?? (() => new Date());
  const app = Fastify({ loggerInstance: deps.logger as FastifyBaseLogger, bodyLimit: 64 * 1024 });
  installErrorHandling(app, { accepts: 'application/json' });

  // zod validates every input (`parseInput` in the routes); JSON schemas on routes only describe the API in /docs.
  app.setValidatorCompiler(() => () => true);

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'reporter_http_requests_total',
    help: 'HTTP requests',
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'reporter_http_request_seconds',
    help: 'HTTP request duration',
    labelNames: ['route'],
    registers: [registry],
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    requests.inc({ route, method: req.method, status: String(reply.statusCode) });
    latency.observe({ route }, reply.elapsedTime / 1000);
  });

  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
    },
  });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Confidant reporter',
        version: '1.0.0',
        description: 'Aggregated, privacy-preserving website statistics for medical practices.',
      },
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'cf_<keyId>_<secret>' } },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true, uiConfig: { validatorUrl: null } });

  const keys = new KeyStore(control);
  const practices = new PracticeStore(control);
  const partners = new PartnerStore(control);
  const shares = new ShareLinkStore(control);
  const auth = new Authenticator(keys, shares, config.adminKey, deps.logger, now);

  app.addHook('onClose', async () => auth.drain());
  app.addHook('onRequest', async (req, reply) => {
    if (isPublic(req)) return;
    // Keys travel only in the Authorization header (Bearer, or Basic with the key as password so a
    // browser can open an HTML report), never in URLs. Responses are not cached.
    req.principal = await auth.authenticate(req.headers.authorization);
    reply.header('cache-control', 'no-store');
  });

  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    max: config.rateLimitPerMinute,
    timeWindow: 60_000,
    keyGenerator: (req) => req.principal?.keyId ?? 'public',
    allowList: (req) => !req.principal,
    errorResponseBuilder: (_req, ctx) =>
      new ApiError(
        429,
        ErrorCode.rateLimited,
        `rate limit of ${ctx.max} requests per minute for this key exceeded; retry in ${ctx.after}`,
      ),
  });

  await app.register(opsRoutes, {
    // Every data route needs both: the rollups in ClickHouse, the keys and practices in PostgreSQL.
    ready: async () => (await isClickHouseReady(db)) && (await isControlPlaneReady(control)),
    notReadyMessage: 'ClickHouse or PostgreSQL is not reachable',
    metrics: registry,
  });
  const audit =
    deps.audit ??
    (() =>
      runPrivacyAudit({ db, control, topicPrefix: config.kafka.topicPrefix, retentionMonths: config.retentionMonths }));
  // Each route module is its own scope: the admin routes' admin-only hook applies to them alone.
  await app.register(adminRoutes, { practices, partners, keys, audit });
  const goals = new GoalStore(control);
  await app.register(goalRoutes, { practices, goals });
  await app.register(practiceRoutes, { db, practices, goals });
  await app.register(goalStatsRoutes, { db, practices, goals });
  await app.register(dashboardRoutes, { db, practices, live: new LiveVisitsStore(control), now });
  await app.register(shareLinkRoutes, { practices, shares });
  await app.register(partnerRoutes, {
    db,
    control,
    partners,
    release: {
      epsilon: config.dp.epsilonPerRelease,
      yearlyBudget: config.dp.yearlyBudget,
      suppressionThreshold: config.suppressionThreshold,
      ...(deps.uniform ? { uniform: deps.uniform } : {}),
      now,
    },
  });
  return app;
}
