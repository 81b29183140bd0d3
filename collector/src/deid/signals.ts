import type { ScreenClass, ScrollBucket } from '@confidant/shared';
import { freeTextValue } from './free-text.ts';
import { registrableDomain } from './site-domain.ts';
import { parseWebUrl, urlHost } from './url-scrubber.ts';

/**
 * The snippet's built-in signals as they may be stored: a link's kind (call, email, directions), a
 * form's name, a scroll depth bucket and a screen class. Each keeps only what its name says: never
 * a number, address, destination, form content or exact width.
 */

/** Viewport widths (CSS pixels) at which each class starts; below the first is mobile. */
const SCREEN_FROM: ReadonlyArray<readonly [number, ScreenClass]> = [
  [1440, 'desktop'],
  [992, 'laptop'],
  [576, 'tablet'],
];

/** The screen class of a viewport width; null without a usable width (0 is what a hidden frame reports). */
export function screenClass(width: number | null | undefined): ScreenClass | null {
  if (width === null || width === undefined || !Number.isFinite(width) || width <= 0) return null;
  for (const [from, screen] of SCREEN_FROM) if (width >= from) return screen;
  return 'mobile';
}

/** The largest 25 % step a scroll depth (percent of the page's height; clamped to 0–100) reached. */
export function scrollBucket(percent: number | null | undefined): ScrollBucket | null {
  if (percent === null || percent === undefined || !Number.isFinite(percent)) return null;
  const clamped = Math.min(Math.max(percent, 0), 100);
  // A page scrolled to within half a percent of its end counts as read to the end (fractional pixels).
  return (clamped >= 99.5 ? 100 : Math.floor(clamped / 25) * 25) as ScrollBucket;
}

/** Map services by registrable domain, and the path prefix (if any) under which the domain serves maps. */
const MAP_SITES: ReadonlyMap<string, string> = new Map([
  ['waze.com', '/'],
  ['openstreetmap.org', '/'],
  ['mapquest.com', '/'],
  ['here.com', '/'],
  ['bing.com', '/maps'],
  ['goo.gl', '/maps'],
]);

/** Sites whose `maps.` host serves maps (maps.google.*, maps.apple.com, maps.app.goo.gl); any other `maps.` host is an ordinary site. */
const MAPS_HOST_SITES: ReadonlySet<string> = new Set(['apple.com', 'goo.gl']);

/**
 * True when a link opens a map: a `maps.` host of Google, Apple or goo.gl, a Google domain under
 * `/maps`, or one of MAP_SITES. Google's many country domains are matched by name.
 */
export function isMapLink(url: URL): boolean {
  const host = urlHost(url).toLowerCase();
  const site = registrableDomain(host);
  if (!site) return false;
  const google = /^google\.[a-z.]+$/.test(site);
  if (host.startsWith('maps.') && (google || MAPS_HOST_SITES.has(site))) return true;
  const path = url.pathname.toLowerCase();
  const underMaps = path === '/maps' || path.startsWith('/maps/');
  if (google) return underMaps;
  const prefix = MAP_SITES.get(site);
  return prefix === '/' || (prefix !== undefined && underMaps);
}

/** True when an outbound link's destination (an absolute http(s) URL) opens a map: a click for directions. */
export function isDirectionsLink(href: string): boolean {
  const url = parseWebUrl(href);
  return url !== null && isMapLink(url);
}

/**
 * A form's declared name (`data-confidant-form`), as a slug (`Contact Us` → `contact-us`) and then
 * scrubbed like any free text; its page (as the pipeline canonicalised it) when there is none, or when
 * the scrubber would keep only a placeholder of it (a name, number or address never survives).
 */
export function formName(declared: string | null | undefined, page: string): string {
  const slug = declared?.trim().replace(/\s+/g, '-');
  const name = slug ? freeTextValue(slug) : null;
  return name !== null && FORM_NAME.test(name) ? name : page;
}
const FORM_NAME = /^[a-z0-9][a-z0-9_-]*$/;
