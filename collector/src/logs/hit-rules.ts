import { isBot } from '../deid/bot-filter.ts';
import type { LogHit } from './log-parser.ts';

export type SkipReason = 'method' | 'status' | 'redirect' | 'asset' | 'bot';
export const SKIP_REASONS: readonly SkipReason[] = ['method', 'status', 'redirect', 'asset', 'bot'];

export type HitVerdict = { kind: 'count'; type: 'pageview' | 'notfound' } | { kind: 'skip'; reason: SkipReason };

/** Files that are never a page: styles, scripts, images, fonts, media, source maps, feeds and data. */
const ASSET_EXTENSIONS = new Set(
  (
    'css js mjs cjs map json jsonld xml rss atom txt webmanifest manifest ' +
    'png jpg jpeg gif webp avif svg ico bmp tif tiff heic ' +
    'woff woff2 ttf otf eot ' +
    'mp4 webm ogg mp3 wav m4a mov avi ' +
    'zip gz tgz bz2 7z rar wasm swf'
  ).split(' '),
);

/** Lower-cased extension of the last path segment (query, fragment and path parameters ignored), or '' when there is none. */
export function extensionOf(target: string): string {
  let end = target.length;
  const q = target.indexOf('?');
  if (q >= 0) end = q;
  const h = target.indexOf('#');
  if (h >= 0 && h < end) end = h;
  let slash = target.lastIndexOf('/', end - 1);
  // Path parameters (`/site.css;jsessionid=…`) are not part of the file name.
  const semi = target.indexOf(';', slash + 1);
  if (semi >= 0 && semi < end) {
    end = semi;
    slash = target.lastIndexOf('/', end - 1);
  }
  const dot = target.lastIndexOf('.', end - 1);
  if (dot <= slash || dot === end - 1) return '';
  return target.slice(dot + 1, end).toLowerCase();
}

// Access logs do not record Accept-Language, so the collector's "no Accept-Language" bot signal cannot apply.
const LOGS_HAVE_NO_ACCEPT_LANGUAGE = 'unrecorded';
const botCache = new Map<string, boolean>();
const BOT_CACHE_MAX = 20_000;

/** The collector's bot filter (known crawlers, automation, missing or too short user agents), memoised per user agent. */
export function isLogBot(userAgent: string | null): boolean {
  if (!userAgent) return true;
  let verdict = botCache.get(userAgent);
  if (verdict === undefined) {
    verdict = isBot(userAgent, LOGS_HAVE_NO_ACCEPT_LANGUAGE);
    if (botCache.size >= BOT_CACHE_MAX) botCache.clear();
    botCache.set(userAgent, verdict);
  }
  return verdict;
}

// One verdict object each, shared by every line (one import classifies millions).
const SKIP = Object.fromEntries(
  SKIP_REASONS.map((reason) => [reason, Object.freeze({ kind: 'skip', reason })]),
) as Record<SkipReason, HitVerdict>;
const PAGE_VIEW: HitVerdict = Object.freeze({ kind: 'count', type: 'pageview' });
const NOT_FOUND: HitVerdict = Object.freeze({ kind: 'count', type: 'notfound' });

/**
 * What a log analyzer counts: GET/HEAD of documents. 2xx and 304 (a page served from the
 * browser's cache) are page views and 404 is a not-found page. Redirects (301, 302, 303,
 * 307, 308) are skipped because the browser's follow-up request is logged and counted
 * itself; counting both would double every http→https or trailing-slash redirect.
 */
export function classifyHit(hit: LogHit): HitVerdict {
  if (hit.method !== 'GET' && hit.method !== 'HEAD') return SKIP.method;
  const s = hit.status;
  if (s !== 404 && (s < 200 || s >= 400)) return SKIP.status;
  if (s >= 300 && s < 400 && s !== 304) return SKIP.redirect;
  if (ASSET_EXTENSIONS.has(extensionOf(hit.path))) return SKIP.asset;
  // A format that records no user agent (Common Log Format) cannot tell bots apart; its hits count, as in other log analyzers.
  if (hit.userAgent !== undefined && isLogBot(hit.userAgent)) return SKIP.bot;
  return s === 404 ? NOT_FOUND : PAGE_VIEW;
}
