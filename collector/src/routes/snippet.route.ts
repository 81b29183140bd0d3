import type { FastifyPluginAsync } from 'fastify';
import { buildSnippet } from '../snippet/build-snippet.ts';

/** `GET /s.js`: the snippet, pre-gzipped, cacheable for a week and revalidated by ETag. */
export const snippetRoute: FastifyPluginAsync = async (app) => {
  const snippet = buildSnippet();
  app.get('/s.js', async (request, reply) => {
    reply
      .header('content-type', 'application/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=604800, stale-while-revalidate=86400')
      .header('etag', snippet.etag)
      .header('vary', 'Accept-Encoding')
      .header('cross-origin-resource-policy', 'cross-origin')
      .header('access-control-allow-origin', '*');
    if (request.headers['if-none-match'] === snippet.etag) return reply.code(304).send();
    if (/\bgzip\b/.test(request.headers['accept-encoding'] ?? ''))
      return reply.header('content-encoding', 'gzip').send(snippet.gzip);
    return reply.send(snippet.code);
  });
};
