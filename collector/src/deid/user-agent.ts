// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- ua-parser-js 1.x ships no types; this makes every program that includes this file (tests too) see our declaration.
/// <reference path="./ua-parser-js.d.ts" />
import { UAParser } from 'ua-parser-js';

export type UaClass = { browser: string; os: string; device: 'desktop' | 'mobile' | 'tablet' | 'unknown' };

const BROWSERS: Array<[RegExp, string]> = [
  [/edge/i, 'Edge'],
  [/samsung/i, 'Samsung Internet'],
  [/opera/i, 'Opera'],
  [/firefox/i, 'Firefox'],
  [/chrom/i, 'Chrome'],
  [/safari/i, 'Safari'],
];

/** Families only (no versions, no models): coarse enough that they do not single anyone out. */
export function classifyUserAgent(ua: string | undefined): UaClass {
  if (!ua) return { browser: 'Unknown', os: 'Unknown', device: 'unknown' };
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
  const device = type === 'mobile' ? 'mobile' : type === 'tablet' ? 'tablet' : type === undefined ? 'desktop' : 'unknown';
  return { browser, os, device };
}
