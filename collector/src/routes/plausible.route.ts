import { parseInput, parseJsonBody, type ActionKind, type EventType } from '@confidant/shared';
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

/**
 * Event names that mean a built-in signal (Plausible's `Form: Submission`, and the names sites commonly
 * give their call, email and directions goals), compared in lower case. Their properties are not kept:
 * they may hold the number or address.
 */
const SIGNALS: ReadonlyMap<string, ActionKind> = new Map([
  ['form: submission', 'form'],
  ['form submission', 'form'],
  ['phone call', 'call'],
  ['phone click', 'call'],
  ['phone: click', 'call'],
  ['call', 'call'],
  ['click to call', 'call'],
  ['email', 'email'],
  ['email click', 'email'],
  ['email: click', 'email'],
  ['email link: click', 'email'],
  ['directions', 'directions'],
  ['get directions', 'directions'],
  ['directions click', 'directions'],
]);

/** A number the tracker sent (`e`, `sd`), as an integer within [0, max]; null when it sent none. */
function bounded(value: unknown, max: number): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? Math.min(Math.max(Math.round(value), 0), max) : null;
}

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
    const action = SIGNALS.get(body.n.trim().toLowerCase()) ?? null;
    const type = action ? 'event' : (SPECIAL[body.n] ?? 'event');
    const p = props(body.p);
    const { e: engaged, sd } = raw as { e?: unknown; sd?: unknown };
    const hit: BeaconHit = {
      type,
      url: body.u,
      referrer: body.r ?? null,
      name: type === 'event' && !action ? body.n : null,
      target: type === 'outbound' || type === 'download' ? (typeof p?.url === 'string' ? p.url : null) : null,
      engagedMs:
        type === 'engagement' && typeof engaged === 'number' && Number.isInteger(engaged)
          ? Math.min(Math.max(engaged, 0), 86_400_000)
          : null,
      props: type === 'event' && !action ? p : null,
      action,
      // Plausible sends the page's scroll depth in percent on its engagement events.
      scrollPercent: type === 'engagement' ? bounded(sd, 100) : null,
      width: body.w ?? null,
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
