// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- ua-parser-js 1.x ships no types; this makes every program that includes this file (tests too) see our declaration.
/// <reference path="./ua-parser-js.d.ts" />
import { UAParser } from 'ua-parser-js';
import { BoundedCache } from './bounded-cache.ts';

export type UaClass = { browser: string; os: string; device: 'desktop' | 'mobile' | 'tablet' | 'unknown' };

const BROWSERS: Array<[RegExp, string]> = [
  [/edge/i, 'Edge'],
  [/samsung/i, 'Samsung Internet'],
  [/opera/i, 'Opera'],
  [/firefox/i, 'Firefox'],
  [/chrom/i, 'Chrome'],
  [/safari/i, 'Safari'],
];

/**
 * Parsing costs tens of microseconds and a site sees few distinct user agents, so results are
 * kept in a bounded in-process cache (never written anywhere, gone with the process).
 */
const classified = new BoundedCache<string, UaClass>(5_000);

/** Families only (no versions, no models): coarse enough that they do not single anyone out. */
export function classifyUserAgent(ua: string | undefined): UaClass {
  if (!ua) return { browser: 'Unknown', os: 'Unknown', device: 'unknown' };
  return classified.through(ua, parseUserAgent);
}

function parseUserAgent(ua: string): UaClass {
  const r = new UAParser(ua).getResult();
  const rawBrowser = r.browser.name ?? '';
  const browser = BROWSERS.find(([re]) => re.test(rawBrowser))?.[1] ?? (rawBrowser ? 'Other' : 'Unknown');
  const rawOs = r.os.name ?? '';
  const os = /windows/i.test(rawOs)
    ? 'Windows'
    : /mac ?os/i.test(rawOs)
      ? 'macOS'
      : /ios/i.test(rawOs)
        ? 'iOS'
        : /android/i.test(rawOs)
          ? 'Android'
          : /chrom(e|ium) ?os/i.test(rawOs)
            ? 'ChromeOS'
            : /linux|ubuntu|debian|fedora/i.test(rawOs)
              ? 'Linux'
              : rawOs
                ? 'Other'
                : 'Unknown';
  const type = r.device.type;
  const device =
    type === 'mobile' ? 'mobile' : type === 'tablet' ? 'tablet' : type === undefined ? 'desktop' : 'unknown';
  return { browser, os, device };
}
