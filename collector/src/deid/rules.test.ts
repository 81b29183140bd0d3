import { DEFAULT_PAGE_CLASSES } from '@confidant/shared';
import { describe, expect, it } from 'vitest';
import { isBot } from './bot-filter.ts';
import { createCountryLookup } from './country.ts';
import { canonicalPath } from './canonical-path.ts';
import { matchPageClass } from './page-class.ts';
import { INTERNAL_REFERRER, IP_HOST, referrerDomain, siteOf, UNKNOWN_HOST } from './site-domain.ts';
import { classifyUserAgent } from './user-agent.ts';

const UA = {
  chromeWin:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  safariIphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  ipad: 'Mozilla/5.0 (iPad; CPU OS 13_2_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0.3 Mobile/15E148 Safari/604.1',
  firefoxLinux: 'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0',
  androidChrome:
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36',
  edgeMac:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0',
  googlebot: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  headless:
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0.0.0 Safari/537.36',
};

describe('user agent classes', () => {
  it.each([
    [UA.chromeWin, { browser: 'Chrome', os: 'Windows', device: 'desktop' }],
    [UA.safariIphone, { browser: 'Safari', os: 'iOS', device: 'mobile' }],
    [UA.ipad, { browser: 'Safari', os: 'iOS', device: 'tablet' }],
    [UA.firefoxLinux, { browser: 'Firefox', os: 'Linux', device: 'desktop' }],
    [UA.androidChrome, { browser: 'Chrome', os: 'Android', device: 'mobile' }],
    [UA.edgeMac, { browser: 'Edge', os: 'macOS', device: 'desktop' }],
  ])('classifies %s', (ua, expected) => {
    expect(classifyUserAgent(ua)).toEqual(expected);
  });

  it('reports unknown without a user agent', () => {
    expect(classifyUserAgent(undefined)).toEqual({ browser: 'Unknown', os: 'Unknown', device: 'unknown' });
  });
});

describe('bot filter', () => {
  it('passes real browsers that send Accept-Language', () => {
    expect(isBot(UA.chromeWin, 'en-US')).toBe(false);
    expect(isBot(UA.safariIphone, 'de')).toBe(false);
  });

  it('drops crawlers, headless browsers, scripts and clients without Accept-Language', () => {
    expect(isBot(UA.googlebot, 'en')).toBe(true);
    expect(isBot(UA.headless, 'en')).toBe(true);
    expect(isBot('curl/8.5.0 (x86_64-pc-linux-gnu) libcurl', 'en')).toBe(true);
    expect(isBot(UA.chromeWin, undefined)).toBe(true);
    expect(isBot(undefined, 'en')).toBe(true);
  });
});

describe('page classes', () => {
  it('matches ** including the bare prefix, and * as one segment', () => {
    const rules = [...DEFAULT_PAGE_CLASSES, { pattern: '/doctors/*/reviews', name: 'reviews', mode: 'drop' as const }];
    const classOf = (path: string, list = rules) => matchPageClass(canonicalPath(path)!.segments, list);
    expect(classOf('/appointments')?.name).toBe('appointments');
    expect(classOf('/appointments/')?.name).toBe('appointments');
    expect(classOf('/Appointments/new/step-2')?.name).toBe('appointments');
    expect(classOf('/login')?.mode).toBe('drop');
    expect(classOf('/doctors/lopez/reviews')?.name).toBe('reviews');
    expect(classOf('/doctors/lopez/x/reviews')).toBeNull();
    expect(classOf('/appointmentsx')).toBeNull();
    expect(classOf('/services')).toBeNull();
  });
});

describe('referrer', () => {
  const own = ['clinic.example', 'www.clinic.example'];

  it('keeps only the registrable domain', () => {
    expect(referrerDomain('https://news.bbc.co.uk/health/article?id=jane@x.org', own)).toBe('bbc.co.uk');
    expect(referrerDomain('https://www.google.com/search?q=my+symptoms', own)).toBe('google.com');
  });

  it('marks self-referrals internal', () => {
    expect(referrerDomain('https://www.clinic.example/services', own)).toBe(INTERNAL_REFERRER);
    expect(referrerDomain('https://portal.clinic.example/', own)).toBe(INTERNAL_REFERRER);
  });

  it('ignores empty, non-web and unparsable referrers', () => {
    expect(referrerDomain('', own)).toBeNull();
    expect(referrerDomain('android-app://com.google.android.gm/', own)).toBeNull();
    expect(referrerDomain('::::', own)).toBeNull();
  });
});

describe('country', () => {
  const lookup = createCountryLookup();
  it('derives only an ISO country, ZZ when unknown', () => {
    expect(lookup('8.8.8.8')).toBe('US');
    expect(lookup('81.2.69.160')).toBe('GB');
    expect(lookup('127.0.0.1')).toBe('ZZ');
    expect(lookup('not-an-ip')).toBe('ZZ');
  });
});

describe('sites of referrers and outbound targets', () => {
  it('reduces hosts to the registrable domain without private suffixes, IP literals to (ip)', () => {
    expect(siteOf('jane-doe-5551234567.netlify.app')).toBe('netlify.app');
    expect(siteOf('smith-family.github.io')).toBe('github.io');
    expect(siteOf('news.bbc.co.uk')).toBe('bbc.co.uk');
    expect(siteOf('10.0.0.1')).toBe(IP_HOST);
    expect(siteOf('2001:db8::1')).toBe(IP_HOST);
    expect(siteOf('localhost')).toBe(UNKNOWN_HOST);
    expect(siteOf('co.uk')).toBe(UNKNOWN_HOST);
  });

  it('does the same for referrers', () => {
    const own = ['clinic.example'];
    expect(referrerDomain('https://jane-doe-5551234567.netlify.app/about', own)).toBe('netlify.app');
    expect(referrerDomain('http://10.0.0.1/x', own)).toBe('(ip)');
    expect(referrerDomain('http://[2001:db8::1]:8080/x', own)).toBe('(ip)');
    expect(referrerDomain('http://0x0a000001/', own)).toBe('(ip)');
    expect(referrerDomain('http://intranet/x', own)).toBe('(unknown)');
  });
});
