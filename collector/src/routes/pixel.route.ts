import { invalidInput, parseInput } from '@confidant/shared';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { acceptHit } from './hit-handler.ts';
import { unknownSite, type RouteDeps } from './route-deps.ts';

/** A transparent 1×1 GIF. */
const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

const query = z.object({
  site: z.string().min(1).max(64),
  u: z.string().max(2048).optional(),
  r: z.string().max(2048).optional(),
});

/**
 * `GET /e.gif`: the `<noscript>` pixel, so visits without JavaScript still count as page
 * views. The page is `u` when the site writes it in, else the Referer the browser sent.
 */
export const pixelRoute: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  app.get('/e.gif', async (request, reply) => {
    const q = parseInput(query, request.query, 'query');
    const practice = deps.registry.bySite(q.site);
    if (!practice) {
      deps.metrics.dropped.inc({ reason: 'unknown-site' });
      throw unknownSite(deps.registry, 'no practice is registered for this site key');
    }
    const referer = request.headers.referer;
    const url = q.u ?? referer;
    if (!url) throw invalidInput('query', 'the page URL is required when the browser sends no Referer', 'u');
    await acceptHit(request, reply, practice, { type: 'pageview', url, referrer: q.r ?? null }, deps.hits);
    return reply.code(202).header('content-type', 'image/gif').header('cache-control', 'no-store').send(GIF);
  });
};
