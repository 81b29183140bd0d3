import { parseInput, parseJsonBody, type EventType } from '@confidant/shared';
import type { FastifyPluginAsync } from 'fastify';
import type { BeaconHit } from './hit-handler.ts';
import { plausibleEventSchema } from './beacon.schema.ts';
import { acceptHit, applyCors } from './hit-handler.ts';
import { unknownSite, type RouteDeps } from './route-deps.ts';

/** Plausible's special event names and what they mean here. */
const SPECIAL: Record<string, EventType> = {
  pageview: 'pageview',
  engagement: 'engagement',
  'Outbound Link: Click': 'outbound',
  'File Download': 'download',
  '404': 'notfound',
};

function props(p: unknown): Record<string, unknown> | null {
  if (typeof p === 'string') {
    try {
      const parsed: unknown = JSON.parse(p);
      return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
        ? (parsed as Record<string, unknown>)
        : null;
    } catch {
      return null;
    }
  }
  return typeof p === 'object' && p !== null ? (p as Record<string, unknown>) : null;
}

/** `POST /api/event`: the Plausible Events API, so the official Plausible tracker can point here. */
export const plausibleRoute: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  app.post('/api/event', async (request, reply) => {
    applyCors(request, reply, null);
    let body;
    let raw: unknown;
    try {
      raw = parseJsonBody(request.body);
      body = parseInput(plausibleEventSchema, raw, 'event');
    } catch (error) {
      deps.metrics.dropped.inc({ reason: 'invalid' });
      throw error;
    }
    // `d` may list several domains (Plausible roll-ups); the first names the site.
    const practice = deps.registry.forDomain(body.d.split(',')[0]!.trim());
    if (!practice) {
      deps.metrics.dropped.inc({ reason: 'unknown-site' });
      throw unknownSite(deps.registry, 'no practice is registered for this domain');
    }
    applyCors(request, reply, practice);
    const type = SPECIAL[body.n] ?? 'event';
    const p = props(body.p);
    const engaged = (raw as { e?: unknown }).e;
    const hit: BeaconHit = {
      type,
      url: body.u,
      referrer: body.r ?? null,
      name: type === 'event' ? body.n : null,
      target: type === 'outbound' || type === 'download' ? (typeof p?.url === 'string' ? p.url : null) : null,
      engagedMs:
        type === 'engagement' && typeof engaged === 'number' && Number.isInteger(engaged)
          ? Math.min(Math.max(engaged, 0), 86_400_000)
          : null,
      props: type === 'event' ? p : null,
    };
    await acceptHit(request, reply, practice, hit, deps.hits);
    return reply.code(202).send();
  });

  app.options('/api/event', async (request, reply) => {
    applyCors(request, reply, null);
    return reply
      .header('access-control-allow-methods', 'POST')
      .header('access-control-allow-headers', 'content-type')
      .code(204)
      .send();
  });
};
