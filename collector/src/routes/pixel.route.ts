import { ApiError, ErrorCode } from '@confidant/shared';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { acceptHit } from './hit-handler.ts';
import { validate, type RouteDeps } from './route-deps.ts';

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
export function pixelRoute(app: FastifyInstance, deps: RouteDeps): void {
  app.get('/e.gif', async (request, reply) => {
    const q = validate(query, request.query);
    const practice = deps.registry.bySite(q.site);
    if (!practice) {
      deps.metrics.dropped.inc({ reason: 'unknown-site' });
      throw new ApiError(404, ErrorCode.unknownSite, 'no practice is registered for this site key');
    }
    const referer = request.headers.referer;
    const url = q.u ?? referer;
    if (!url)
      throw new ApiError(
        400,
        ErrorCode.invalidParameter,
        'u: the page URL is required when the browser sends no Referer',
      );
    await acceptHit(request, reply, practice, { type: 'pageview', url, referrer: q.r ?? null }, deps.hits);
    return reply.code(202).header('content-type', 'image/gif').header('cache-control', 'no-store').send(GIF);
  });
}
