import { HOUR_MS, parseInput, SALT_GRACE_MS, topicsFor, type Practice } from '@confidant/shared';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { ALLOWED_QUERY_KEYS } from '../deid/url-scrubber.ts';
import { escapeHtml, sendHtml } from './html.ts';
import { unknownSite, type RouteDeps } from './route-deps.ts';

/** When the collection rules in this code last changed; the document's date is the later of this and the practice's configuration. */
export const RULES_REVISED_AT = Date.UTC(2026, 11, 3);

const query = z.object({ site: z.string().min(1).max(64).optional(), format: z.enum(['json', 'html']).optional() });

type Item = { item: string; detail: string };

/** The privacy statement, generated from the running configuration so it cannot drift from what the code does. */
export function privacyDocument(deps: RouteDeps, practice: Practice | null) {
  const rawHours = topicsFor(deps.config.kafka.topicPrefix).events.retentionMs / HOUR_MS;
  const graceH = SALT_GRACE_MS / HOUR_MS;
  const revisedAt = Math.max(RULES_REVISED_AT, practice ? practice.updatedAt : deps.registry.lastChangedAt());
  const received: Item[] = [
    {
      item: 'IP address',
      detail:
        'From the network connection (X-Forwarded-For only from configured proxies). Used in memory for the visitor key, country and rate limiting, then discarded.',
    },
    {
      item: 'User agent',
      detail: 'Used in memory for the visitor key, browser/OS/device family and bot detection, then discarded.',
    },
    { item: 'Page URL and referrer', detail: 'Scrubbed before anything is stored.' },
    {
      item: 'Event type, engagement time, scroll depth, clicked link, form name, custom event name, screen width',
      detail:
        'As sent by the snippet; of a call or email link only its scheme is sent, never the number or address; screen width and scroll depth are kept only as their classes.',
    },
    { item: 'Global Privacy Control / Do Not Track', detail: 'When set, the request is discarded unrecorded.' },
  ];
  if (!practice || practice.cookieMode) {
    received.push({
      item: 'First-party cookie cf_id (cookie mode only)',
      detail: 'A random id set by the collector; used in memory for the visitor key, never stored or forwarded.',
    });
  }
  const derived: Item[] = [
    {
      item: 'Visitor key',
      detail: `HMAC-SHA256 of practice, IP and user agent with a random daily salt${!practice || practice.cookieMode ? ' (cookie mode: practice and cookie id with a random monthly salt)' : ''}. Meaningless once the salt is deleted.`,
    },
    { item: 'Country', detail: 'ISO country code from a public IP-to-country database; nothing finer.' },
    {
      item: 'Browser, operating system, device class',
      detail: 'Families only (e.g. Chrome, iOS, mobile); no versions or models.',
    },
    {
      item: 'Page',
      detail: `Path with e-mail addresses, phone numbers, SSNs, long numbers, UUIDs and tokens replaced by placeholders; only the query keys ${ALLOWED_QUERY_KEYS.join(', ')} are kept, scrubbed the same way; fragments dropped.`,
    },
    { item: 'Referrer', detail: 'Registrable domain only; links from the practice itself are marked internal.' },
    {
      item: 'Referring sites, campaign values and event property values',
      detail: `Recorded as "(rare)" until ${deps.config.rareValues.minVisitors} different visitors from as many networks sent the same value that day; the collector counts them in memory by keyed hashes only.`,
    },
    {
      item: 'Calls, emails, directions and form submissions',
      detail:
        'Counted by kind (a form by its declared name or its page); never the number, address, map destination or anything typed into a form.',
    },
    {
      item: 'Screen class and scroll depth',
      detail: 'Mobile, tablet, laptop or desktop from the width; the deepest 25 % step of a page reached.',
    },
  ];
  const dropped: Item[] = [
    { item: 'Bots and automated browsers', detail: 'Counted in a metric, not recorded.' },
    { item: 'Other query parameters, fragments, form contents', detail: 'Never recorded.' },
    {
      item: 'Free-form event properties',
      detail: practice?.propsAllowlist.length
        ? `Only the keys ${practice.propsAllowlist.join(', ')} are kept, scrubbed.`
        : 'Not recorded.',
    },
  ];
  const retention: Item[] = [
    { item: 'Daily salt', detail: `Kept in memory only (never on disk); deleted ${graceH} h after its UTC day ends.` },
    { item: 'Monthly cookie-mode salt', detail: `Kept in memory only; deleted ${graceH} h after its UTC month ends.` },
    { item: 'De-identified events (raw stream)', detail: `${rawHours} h, then deleted by Kafka retention.` },
    {
      item: 'Local spool',
      detail: `De-identified events only, while the stream is unreachable; at most ${Math.round(deps.config.spool.maxBytes / 1048576)} MiB; deleted once delivered.`,
    },
    { item: 'Aggregates', detail: 'Per-practice counts by day and hour; no per-visitor records.' },
  ];
  return {
    revisedAt: new Date(revisedAt).toISOString().slice(0, 10),
    practice: practice
      ? {
          name: practice.name,
          domains: practice.domains,
          cookieMode: practice.cookieMode,
          pageClasses: practice.pageClasses,
          exitAllowlist: practice.exitAllowlist,
          propsAllowlist: practice.propsAllowlist,
        }
      : null,
    received,
    derived,
    dropped,
    retention,
  };
}

const table = (items: Item[]) =>
  `<table>${items.map((i) => `<tr><th>${escapeHtml(i.item)}</th><td>${escapeHtml(i.detail)}</td></tr>`).join('')}</table>`;

/** `GET /privacy` (HTML, or JSON with `?format=json` / `Accept: application/json`), optionally for one `site`. */
export const privacyRoute: FastifyPluginAsync<RouteDeps> = async (app, deps) => {
  app.get('/privacy', async (request, reply) => {
    const q = parseInput(query, request.query, 'query');
    const practice = q.site ? deps.registry.bySite(q.site) : null;
    if (q.site && !practice) throw unknownSite(deps.registry, 'no practice is registered for this site key');
    const doc = privacyDocument(deps, practice);
    const wantsJson =
      q.format === 'json' || (q.format !== 'html' && /application\/json/.test(request.headers.accept ?? ''));
    if (wantsJson) return reply.header('cache-control', 'no-store').send(doc);
    const p = doc.practice;
    return sendHtml(
      reply,
      200,
      'What this analytics collector records',
      `<h1>What ${p ? escapeHtml(p.name) + "'s" : 'this'} website analytics records</h1><p>Last revised <time>${doc.revisedAt}</time>.</p>` +
        (p
          ? `<p>Cookie mode: ${p.cookieMode ? 'on' : 'off (no cookies)'}. Pages recorded by class only or not at all: ${escapeHtml(p.pageClasses.map((c) => `${c.pattern} (${c.mode})`).join(', ') || 'none')}.</p>`
          : '') +
        `<h2>Received</h2>${table(doc.received)}<h2>Derived, then the raw values discarded</h2>${table(doc.derived)}<h2>Dropped</h2>${table(doc.dropped)}<h2>How long each thing is kept</h2>${table(doc.retention)}`,
    );
  });
};
