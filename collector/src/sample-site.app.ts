import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import type { SampleSiteConfig } from './sample-site.config.ts';

const ROOT = fileURLToPath(new URL('../sample-site/', import.meta.url));

/** Path → page of the static sample practice site; anything else is its 404 page. */
function pageFor(path: string): string | null {
  if (path === '/') return 'index.html';
  if (path === '/services' || path.startsWith('/services/')) return 'services.html';
  if (path === '/physicians/dr-lopez') return 'physicians/dr-lopez.html';
  if (path === '/appointments' || path === '/appointments/') return 'appointments/index.html';
  if (path === '/contact') return 'contact.html';
  if (path === '/privacy') return 'privacy.html';
  return null;
}

/** A tiny PDF so the download link has something real behind it. */
const PDF = Buffer.from(
  '%PDF-1.1\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n',
);

/** The sample practice site, with the collector URL and site key written into every page. */
export function buildSampleSite(config: Pick<SampleSiteConfig, 'collectorUrl' | 'siteKey'>): FastifyInstance {
  const app = Fastify({ logger: false });
  const render = async (file: string) =>
    (await readFile(ROOT + file, 'utf8'))
      .replaceAll('{{COLLECTOR}}', config.collectorUrl)
      .replaceAll('{{SITE_KEY}}', config.siteKey);
  app.get('/files/intake-form.pdf', async (_req, reply) => reply.header('content-type', 'application/pdf').send(PDF));
  app.get('/*', async (request, reply) => {
    const path = request.url.split('?')[0]!;
    const page = pageFor(path);
    return reply
      .code(page ? 200 : 404)
      .header('content-type', 'text/html; charset=utf-8')
      .send(await render(page ?? '404.html'));
  });
  return app;
}
