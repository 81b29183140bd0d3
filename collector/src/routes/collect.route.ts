import { parseInput, parseJsonBody } from '@confidant/shared';
import type { FastifyPluginAsync } from 'fastify';
import { BEACON_ACTIONS, beaconSchema, type Beacon } from './beacon.schema.ts';
import { acceptHit, applyCors, type BeaconHit } from './hit-handler.ts';
import { unknownSite, type RouteDeps } from './route-deps.ts';

/** What a beacon says, as the pipeline takes it: a signal's type becomes its kind, the scroll share a percentage. */
export function beaconHit({ type, scroll, ...beacon }: Beacon): BeaconHit {
  const action = Object.hasOwn(BEACON_ACTIONS, type) ? BEACON_ACTIONS[type as keyof typeof BEACON_ACTIONS] : null;
  return {
    ...beacon,
    type: action ? 'event' : (type as BeaconHit['type']),
    action,
    scrollPercent: scroll === null || scroll === undefined ? null : scroll * 100,
  };
}

/** `POST /e`: the snippet's beacon. */
export const collectRoute: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  app.post('/e', async (request, reply) => {
    applyCors(request, reply, null);
    let beacon;
    try {
      beacon = parseInput(beaconSchema, parseJsonBody(request.body), 'event');
    } catch (error) {
      deps.metrics.dropped.inc({ reason: 'invalid' });
      throw error;
    }
    const practice = deps.registry.bySite(beacon.site);
    if (!practice) {
      deps.metrics.dropped.inc({ reason: 'unknown-site' });
      throw unknownSite(deps.registry, 'no practice is registered for this site key');
    }
    applyCors(request, reply, practice);
    await acceptHit(request, reply, practice, beaconHit(beacon), deps.hits);
    return reply.code(202).send();
  });

  app.options('/e', async (request, reply) => {
    applyCors(request, reply, null);
    return reply
      .header('access-control-allow-methods', 'POST')
      .header('access-control-allow-headers', 'content-type')
      .header('access-control-max-age', '86400')
      .code(204)
      .send();
  });
};
