import { invalidInput, parseInput, toApiError } from '@confidant/shared';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { hostInDomains } from '../deid/site-domain.ts';
import { acceptHit } from './hit-handler.ts';
import { escapeHtml, sendHtml } from './html.ts';
import { unknownSite, type RouteDeps } from './route-deps.ts';

const query = z.object({ site: z.string().min(1).max(64), to: z.string().min(1).max(2048) });

/**
 * `GET /out`: the buffer page shown when a visitor leaves the practice's site. It names the
 * practice and the destination domain, records an exit to that domain, and continues only
 * on click, except for domains on the practice's exit allowlist. Only http(s) destinations:
 * never an open redirect.
 */
export const bufferPageRoute: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  app.get('/out', async (request, reply) => {
    const q = parseInput(query, request.query, 'query');
    const practice = deps.registry.bySite(q.site);
    if (!practice) throw unknownSite(deps.registry, 'no practice is registered for this site key');
    let dest: URL;
    try {
      dest = new URL(q.to);
    } catch {
      throw invalidInput('query', 'must be an absolute http(s) URL', 'to');
    }
    if ((dest.protocol !== 'http:' && dest.protocol !== 'https:') || dest.username || dest.password) {
      throw invalidInput('query', 'must be an absolute http(s) URL without credentials', 'to');
    }
    const host = dest.hostname.toLowerCase();
    // The page the visitor left from, when the browser told us and it is the practice's own.
    const referer = request.headers.referer;
    let from = `https://${practice.domains[0]}/`;
    try {
      if (referer && hostInDomains(new URL(referer).hostname, practice.domains)) from = referer;
    } catch {
      // unparsable Referer: keep the site root
    }
    const result = await acceptHit(
      request,
      reply,
      practice,
      { type: 'outbound', url: from, target: dest.href },
      deps.hits,
    ).then(
      () => 'recorded',
      (error: unknown) => {
        // The visitor still gets the page; the exit just is not counted.
        const refusal = toApiError(error);
        deps.logger.warn({ err: refusal ? { code: refusal.code } : error }, 'buffer page exit not recorded');
        return 'not-recorded';
      },
    );
    reply.header('x-exit', result);
    const auto = practice.exitAllowlist.some((d) => host === d || host.endsWith(`.${d}`));
    const href = escapeHtml(dest.href);
    return sendHtml(
      reply,
      200,
      `Leaving ${practice.name}`,
      `<p>You are leaving the website of <strong>${escapeHtml(practice.name)}</strong>.</p>` +
        `<p>You are going to</p><p class="dest">${escapeHtml(host)}</p>` +
        `<p>That site is not run by ${escapeHtml(practice.name)}. Its own privacy policy applies there, not this practice's.</p>` +
        `<p><a class="btn" rel="noopener noreferrer" href="${href}">Continue to ${escapeHtml(host)}</a></p>` +
        (auto
          ? `<p><small>${escapeHtml(practice.name)} lists this site as trusted; continuing automatically.</small></p>`
          : ''),
      auto ? `<meta http-equiv="refresh" content="3;url=${href}">` : '',
    );
  });
};
