import { describe, expect, it } from 'vitest';
import {
  CHANNELS,
  channelOf,
  hasPaidClickId,
  listedSourceHost,
  sourceAndMedium,
  sourceCategory,
  type Channel,
} from './channel.ts';

// [referrer, utm_source, utm_medium, utm_campaign, paid-click id, expected channel]
type Case = [string | null, string | null, string | null, string | null, boolean, Channel];
const _ = null;

const CASES: Case[] = [
  // Direct: nothing, or only a self-referral (the aggregate step passes null for those)
  [_, _, _, _, false, 'Direct'],
  [_, '(direct)', '(none)', _, false, 'Direct'],
  [_, '(direct)', '(not set)', _, false, 'Direct'],
  // Organic search, by referrer and by tag
  ['google.com', _, _, _, false, 'Organic Search'],
  ['google.co.uk', _, _, _, false, 'Organic Search'],
  ['google.de', _, _, _, false, 'Organic Search'],
  ['google.com.au', _, _, _, false, 'Organic Search'],
  ['www.google.ca', _, _, _, false, 'Organic Search'],
  ['bing.com', _, _, _, false, 'Organic Search'],
  ['duckduckgo.com', _, _, _, false, 'Organic Search'],
  ['search.yahoo.com', _, _, _, false, 'Organic Search'],
  ['yahoo.com', _, _, _, false, 'Organic Search'],
  ['yandex.ru', _, _, _, false, 'Organic Search'],
  ['ecosia.org', _, _, _, false, 'Organic Search'],
  ['baidu.com', _, _, _, false, 'Organic Search'],
  ['search.brave.com', _, _, _, false, 'Organic Search'],
  ['startpage.com', _, _, _, false, 'Organic Search'],
  ['qwant.com', _, _, _, false, 'Organic Search'],
  ['kagi.com', _, _, _, false, 'Organic Search'],
  ['naver.com', _, _, _, false, 'Organic Search'],
  ['seznam.cz', _, _, _, false, 'Organic Search'],
  ['msn.com', _, _, _, false, 'Organic Search'],
  [_, 'google', 'organic', _, false, 'Organic Search'],
  [_, 'newsletter-partner', 'organic', _, false, 'Organic Search'],
  [_, 'Google', _, _, false, 'Organic Search'],
  // Paid search: a click id, or a paid medium, on a search source
  ['google.com', _, _, _, true, 'Paid Search'],
  ['bing.com', _, _, _, true, 'Paid Search'],
  [_, 'google', 'cpc', 'spring', false, 'Paid Search'],
  [_, 'google', 'ppc', _, false, 'Paid Search'],
  [_, 'bing', 'paidsearch', _, false, 'Paid Search'],
  [_, 'google', 'retargeting', _, false, 'Paid Search'],
  [_, 'google', 'CPC', _, false, 'Paid Search'],
  ['google.com', 'google', 'cpc', _, true, 'Paid Search'],
  [_, 'yahoo', 'paid', _, false, 'Paid Search'],
  [_, 'duckduckgo', 'cpc', _, false, 'Paid Search'],
  // Organic social
  ['facebook.com', _, _, _, false, 'Organic Social'],
  ['m.facebook.com', _, _, _, false, 'Organic Social'],
  ['l.facebook.com', _, _, _, false, 'Organic Social'],
  ['instagram.com', _, _, _, false, 'Organic Social'],
  ['t.co', _, _, _, false, 'Organic Social'],
  ['x.com', _, _, _, false, 'Organic Social'],
  ['twitter.com', _, _, _, false, 'Organic Social'],
  ['linkedin.com', _, _, _, false, 'Organic Social'],
  ['lnkd.in', _, _, _, false, 'Organic Social'],
  ['pinterest.com', _, _, _, false, 'Organic Social'],
  ['pinterest.ca', _, _, _, false, 'Organic Social'],
  ['reddit.com', _, _, _, false, 'Organic Social'],
  ['old.reddit.com', _, _, _, false, 'Organic Social'],
  ['tiktok.com', _, _, _, false, 'Organic Social'],
  ['nextdoor.com', _, _, _, false, 'Organic Social'],
  ['threads.net', _, _, _, false, 'Organic Social'],
  ['bsky.app', _, _, _, false, 'Organic Social'],
  ['yelp.com', _, _, _, false, 'Organic Social'],
  [_, 'facebook', 'social', _, false, 'Organic Social'],
  [_, 'clinic-blog', 'social', _, false, 'Organic Social'],
  [_, 'community', 'social-media', _, false, 'Organic Social'],
  [_, 'community', 'sm', _, false, 'Organic Social'],
  [_, 'fb', _, _, false, 'Organic Social'],
  // Paid social: fbclid and friends, or a paid medium on a social source
  ['facebook.com', _, _, _, true, 'Paid Social'],
  ['instagram.com', _, _, _, true, 'Paid Social'],
  [_, 'facebook', 'cpc', _, false, 'Paid Social'],
  [_, 'instagram', 'paid_social', _, false, 'Paid Social'],
  [_, 'linkedin', 'cpm', _, false, 'Paid Social'],
  [_, 'tiktok', 'paid', _, false, 'Paid Social'],
  [_, 'reddit', 'cpc', _, false, 'Paid Social'],
  // Video
  ['youtube.com', _, _, _, false, 'Organic Video'],
  ['m.youtube.com', _, _, _, false, 'Organic Video'],
  ['youtu.be', _, _, _, false, 'Organic Video'],
  ['vimeo.com', _, _, _, false, 'Organic Video'],
  ['twitch.tv', _, _, _, false, 'Organic Video'],
  [_, 'clinic-channel', 'video', _, false, 'Organic Video'],
  [_, 'partner', 'video-embed', _, false, 'Organic Video'],
  [_, 'youtube', 'cpc', _, false, 'Paid Video'],
  [_, 'youtube', 'cpv', _, false, 'Paid Video'],
  ['youtube.com', _, _, _, true, 'Paid Video'],
  [_, 'vimeo', 'paid', _, false, 'Paid Video'],
  // Shopping
  ['amazon.com', _, _, _, false, 'Organic Shopping'],
  ['amazon.co.uk', _, _, _, false, 'Organic Shopping'],
  ['etsy.com', _, _, _, false, 'Organic Shopping'],
  ['shopping.google.com', _, _, _, false, 'Organic Shopping'],
  [_, 'partner', 'referral', 'summer-shop', false, 'Organic Shopping'],
  [_, 'partner', 'referral', 'shopping-week', false, 'Organic Shopping'],
  [_, 'partner', 'referral', 'workshop', false, 'Referral'],
  [_, 'google', 'cpc', 'shopping', false, 'Paid Shopping'],
  [_, 'amazon', 'cpc', _, false, 'Paid Shopping'],
  [_, 'partner', 'paid', 'black-friday-shop', false, 'Paid Shopping'],
  // Display
  [_, 'adnetwork', 'display', _, false, 'Display'],
  [_, 'adnetwork', 'banner', _, false, 'Display'],
  [_, 'adnetwork', 'interstitial', _, false, 'Display'],
  [_, 'adnetwork', 'expandable', _, false, 'Display'],
  [_, 'adnetwork', 'cpm', _, false, 'Display'],
  [_, 'google', 'display', _, false, 'Display'],
  // Paid other
  [_, 'radio-station', 'paid', _, false, 'Paid Other'],
  [_, 'adnetwork', 'cpc', _, false, 'Paid Other'],
  [_, _, _, _, true, 'Paid Other'],
  ['news-site.example', _, _, _, true, 'Paid Other'],
  // Cross-network
  [_, 'google', 'cpc', 'pmax-cross-network', false, 'Cross-network'],
  [_, 'google', 'cross-network', 'cross-network', false, 'Cross-network'],
  // AI assistants, by referrer and by tag (ChatGPT tags its links utm_source=chatgpt.com)
  ['chatgpt.com', _, _, _, false, 'AI assistants'],
  ['chat.openai.com', _, _, _, false, 'AI assistants'],
  ['perplexity.ai', _, _, _, false, 'AI assistants'],
  ['www.perplexity.ai', _, _, _, false, 'AI assistants'],
  ['gemini.google.com', _, _, _, false, 'AI assistants'],
  ['copilot.microsoft.com', _, _, _, false, 'AI assistants'],
  ['claude.ai', _, _, _, false, 'AI assistants'],
  ['you.com', _, _, _, false, 'AI assistants'],
  ['chat.mistral.ai', _, _, _, false, 'AI assistants'],
  ['chat.deepseek.com', _, _, _, false, 'AI assistants'],
  [_, 'chatgpt.com', _, _, false, 'AI assistants'],
  [_, 'perplexity', _, _, false, 'AI assistants'],
  ['chatgpt.com', 'chatgpt.com', _, _, false, 'AI assistants'],
  [_, 'chatgpt.com', 'cpc', _, false, 'Paid Other'],
  // Referral
  ['healthgrades.com', _, _, _, false, 'Referral'],
  ['zocdoc.com', _, _, _, false, 'Referral'],
  ['news-site.example', _, _, _, false, 'Referral'],
  ['openai.com', _, _, _, false, 'Referral'],
  ['microsoft.com', _, _, _, false, 'Referral'],
  [_, 'partner', 'referral', _, false, 'Referral'],
  [_, 'partner-app', 'app', _, false, 'Referral'],
  [_, 'qr', 'link', _, false, 'Referral'],
  // Email
  [_, 'newsletter', 'email', 'march', false, 'Email'],
  [_, 'newsletter', 'e-mail', _, false, 'Email'],
  [_, 'newsletter', 'e_mail', _, false, 'Email'],
  [_, 'email', _, _, false, 'Email'],
  [_, 'e-mail', 'newsletter', _, false, 'Email'],
  [_, 'Newsletter', 'Email', _, false, 'Email'],
  ['mail.google.com', _, _, _, false, 'Email'],
  ['outlook.live.com', _, _, _, false, 'Email'],
  ['mail.yahoo.com', _, _, _, false, 'Email'],
  [_, 'webmail', _, _, false, 'Email'],
  // Affiliates, audio, SMS, push
  [_, 'partner', 'affiliate', _, false, 'Affiliates'],
  [_, 'podcast', 'audio', _, false, 'Audio'],
  [_, 'sms', _, _, false, 'SMS'],
  [_, 'reminders', 'sms', _, false, 'SMS'],
  [_, 'app', 'push', _, false, 'Mobile Push Notifications'],
  [_, 'app', 'web-push', _, false, 'Mobile Push Notifications'],
  [_, 'app', 'mobile', _, false, 'Mobile Push Notifications'],
  [_, 'app', 'notification', _, false, 'Mobile Push Notifications'],
  [_, 'firebase', _, _, false, 'Mobile Push Notifications'],
  // Unassigned: tagged, but by no rule
  [_, 'flyer', _, _, false, 'Unassigned'],
  [_, 'flyer', 'print', _, false, 'Unassigned'],
  [_, 'clinic', 'poster', 'spring', false, 'Unassigned'],
  ['news-site.example', 'flyer', 'offline', _, false, 'Unassigned'],
  // Tags win over the referrer
  ['facebook.com', 'newsletter', 'email', _, false, 'Email'],
  ['google.com', 'partner', 'referral', _, false, 'Referral'],
  ['news-site.example', 'google', 'cpc', _, false, 'Paid Search'],
  // Look-alikes are not listed sites
  ['notgoogle.com', _, _, _, false, 'Referral'],
  ['google.example-clinic.com', _, _, _, false, 'Referral'],
  ['facebook.com.evil.example', _, _, _, false, 'Referral'],
  ['ask.example', _, _, _, false, 'Referral'],
];

describe('channelOf', () => {
  it('has at least 100 cases and reaches every channel', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(100);
    const reached = new Set(CASES.map((c) => c[5]));
    expect(CHANNELS.filter((c) => !reached.has(c))).toEqual([]);
  });

  it.each(CASES)('referrer %s, source %s, medium %s, campaign %s, paid %s: %s', (referrer, s, m, c, paid, expected) => {
    expect(channelOf({ referrer, utmSource: s, utmMedium: m, utmCampaign: c, paid })).toBe(expected);
  });
});

describe('source and medium', () => {
  it('derive like GA4: organic for a search engine, referral otherwise, cpc for a paid click, (none) for direct', () => {
    const none = { referrer: null, utmSource: null, utmMedium: null, utmCampaign: null, paid: false };
    expect(sourceAndMedium({ ...none, referrer: 'google.com' })).toEqual({ source: 'google.com', medium: 'organic' });
    expect(sourceAndMedium({ ...none, referrer: 'zocdoc.com' })).toEqual({ source: 'zocdoc.com', medium: 'referral' });
    expect(sourceAndMedium({ ...none, referrer: 'google.com', paid: true })).toEqual({
      source: 'google.com',
      medium: 'cpc',
    });
    expect(sourceAndMedium(none)).toEqual({ source: '(direct)', medium: '(none)' });
    expect(sourceAndMedium({ ...none, utmSource: 'flyer' })).toEqual({ source: 'flyer', medium: '(not set)' });
  });

  it('a more specific listed host wins over its site', () => {
    expect(listedSourceHost('gemini.google.com')).toBe('gemini.google.com');
    expect(listedSourceHost('x.gemini.google.com')).toBe('gemini.google.com');
    expect(listedSourceHost('www.google.com')).toBeNull();
    expect(sourceCategory('gemini.google.com')).toBe('ai');
    expect(sourceCategory('google.com')).toBe('search');
    expect(sourceCategory('mail.google.com')).toBe('email');
  });
});

describe('paid-click ids', () => {
  it.each(['gclid', 'GCLID', 'msclkid', 'fbclid', 'ttclid', 'wbraid', 'li_fat_id', 'twclid'])(
    '%s marks a paid click',
    (key) => {
      expect(hasPaidClickId(new URLSearchParams(`utm_source=x&${key}=abc123`))).toBe(true);
    },
  );
  it('other parameters do not', () => {
    expect(hasPaidClickId(new URLSearchParams('utm_source=google&utm_medium=organic&q=gclid'))).toBe(false);
  });
});
