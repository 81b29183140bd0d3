import { describe, expect, it } from 'vitest';
import { classifyHit, extensionOf } from './hit-rules.ts';
import type { LogHit } from './log-parser.ts';

const BROWSER =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const hit = (over: Partial<LogHit> = {}): LogHit => ({
  ip: '192.0.2.1',
  time: 0,
  method: 'GET',
  path: '/',
  status: 200,
  referrer: null,
  userAgent: BROWSER,
  ...over,
});
const verdict = (over: Partial<LogHit>) => {
  const v = classifyHit(hit(over));
  return v.kind === 'count' ? v.type : `skip:${v.reason}`;
};

describe('classifyHit', () => {
  it('counts GET and HEAD documents with 2xx and 304 as page views, 404 as not found', () => {
    expect(verdict({})).toBe('pageview');
    expect(verdict({ method: 'HEAD', status: 204 })).toBe('pageview');
    expect(verdict({ status: 304 })).toBe('pageview');
    expect(verdict({ status: 404, path: '/missing-page' })).toBe('notfound');
    expect(verdict({ path: '/guide.html?x=1' })).toBe('pageview');
    expect(verdict({ path: '/files/intake.pdf' })).toBe('pageview');
  });
  it('skips other methods, statuses and redirects with their reason', () => {
    expect(verdict({ method: 'POST' })).toBe('skip:method');
    expect(verdict({ method: 'OPTIONS' })).toBe('skip:method');
    expect(verdict({ status: 500 })).toBe('skip:status');
    expect(verdict({ status: 403 })).toBe('skip:status');
    expect(verdict({ status: 101 })).toBe('skip:status');
    expect(verdict({ status: 301 })).toBe('skip:redirect');
    expect(verdict({ status: 302 })).toBe('skip:redirect');
  });
  it('skips static assets, also with queries and upper-case extensions', () => {
    for (const path of [
      '/css/site.css',
      '/js/app.js?v=3',
      '/img/Logo.PNG',
      '/fonts/a.woff2',
      '/app.js.map',
      '/favicon.ico',
      '/feed.json',
      '/sitemap.xml',
      '/site.css;jsessionid=A1',
      '/app.js;v=2?x=1',
    ]) {
      expect([path, verdict({ path })]).toEqual([path, 'skip:asset']);
    }
    // A 404 for an asset is a broken asset, not a not-found page view.
    expect(verdict({ path: '/img/gone.png', status: 404 })).toBe('skip:asset');
  });
  it('skips bots with the collector bot filter (crawlers, tools, missing or short user agents)', () => {
    expect(verdict({ userAgent: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' })).toBe(
      'skip:bot',
    );
    expect(verdict({ userAgent: 'curl/8.5.0' })).toBe('skip:bot');
    expect(verdict({ userAgent: 'Mozilla/5.0 HeadlessChrome/120 (X11; Linux x86_64)' })).toBe('skip:bot');
    expect(verdict({ userAgent: null })).toBe('skip:bot');
    expect(verdict({ userAgent: 'short' })).toBe('skip:bot');
  });
  it('counts hits of formats that record no user agent (Common Log Format) instead of calling them all bots', () => {
    expect(verdict({ userAgent: undefined })).toBe('pageview');
    expect(verdict({ userAgent: undefined, path: '/site.css' })).toBe('skip:asset');
  });
});

it('extensionOf reads only the last segment before query, fragment and path parameters', () => {
  expect(extensionOf('/a.b/c')).toBe('');
  expect(extensionOf('/x.CSS?a=b.js')).toBe('css');
  expect(extensionOf('/x.js#frag.png')).toBe('js');
  expect(extensionOf('/dir/')).toBe('');
  expect(extensionOf('/trailing.')).toBe('');
  expect(extensionOf('/page;v=1.5')).toBe('');
  expect(extensionOf('/a;b=1/c.css')).toBe('css');
});
