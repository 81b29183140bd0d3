import { SOURCE_CATEGORIES, type SourceCategory } from './source-categories.ts';

/**
 * Acquisition channels, following the rules of GA4's default channel group (evaluated in its order,
 * first match wins), plus "AI assistants" for chat assistants that link to sites. Each visit gets one
 * channel from its entry: its campaign parameters, its referring site, and whether its landing URL
 * carried a paid-click id (the collector keeps only that boolean, never the id).
 */
export const CHANNELS = [
  'Direct',
  'Cross-network',
  'Paid Shopping',
  'Paid Search',
  'Paid Social',
  'Paid Video',
  'Display',
  'Paid Other',
  'AI assistants',
  'Organic Shopping',
  'Organic Social',
  'Organic Video',
  'Organic Search',
  'Referral',
  'Email',
  'Affiliates',
  'Audio',
  'SMS',
  'Mobile Push Notifications',
  'Unassigned',
] as const;
export type Channel = (typeof CHANNELS)[number];

/**
 * Query parameters that ad platforms append to a paid click (Google, Microsoft, Meta, TikTok, LinkedIn,
 * X, Pinterest, Snapchat, Reddit, Yahoo, Yandex). Meta also appends `fbclid` to some unpaid links, so
 * Paid Social may include a few organic Facebook and Instagram visits.
 */
export const PAID_CLICK_PARAMS = [
  'gclid',
  'gbraid',
  'wbraid',
  'dclid',
  'gclsrc',
  'msclkid',
  'fbclid',
  'ttclid',
  'li_fat_id',
  'twclid',
  'epik',
  'sccid',
  'rdt_cid',
  'yclid',
  'ysclid',
] as const;

/** Whether a landing URL's query names a paid-click parameter (its value is never read). */
export function hasPaidClickId(search: URLSearchParams): boolean {
  for (const key of search.keys())
    if ((PAID_CLICK_PARAMS as readonly string[]).includes(key.toLowerCase())) return true;
  return false;
}

/** What a visit's entry says about where it came from (all already de-identified). */
export type AcquisitionInput = {
  /** The referring site, or null for none, or the practice's own site. */
  referrer: string | null;
  utmSource: string | null;
  utmMedium: string | null;
  utmCampaign: string | null;
  paid: boolean;
};

const HOSTS = new Map<string, SourceCategory>();
const NAMES = new Map<string, SourceCategory>();
for (const [category, entries] of Object.entries(SOURCE_CATEGORIES) as [SourceCategory, readonly string[]][])
  for (const text of entries) (text.includes('.') ? HOSTS : NAMES).set(text, category);

/** A country or generic suffix after a name: com, de, co.uk, com.au. */
const NAME_SUFFIX = /^[a-z]{2,3}(\.[a-z]{2,3})?$/;

/**
 * The listed host `host` is or lies under (the longest), or null. The collector keeps such a host as
 * the referrer instead of its registrable site, so that gemini.google.com is not google.com.
 */
export function listedSourceHost(host: string): string | null {
  // Its suffixes, longest first: a.gemini.google.com, gemini.google.com, google.com (one lookup each).
  let h = host.toLowerCase();
  for (;;) {
    if (HOSTS.has(h)) return h;
    const dot = h.indexOf('.');
    if (dot < 0) return null;
    h = h.slice(dot + 1);
  }
}

/** The category of a source (a host or a `utm_source` value), or null when it is on no list. */
export function sourceCategory(source: string): SourceCategory | null {
  const s = source
    .trim()
    .toLowerCase()
    .replace(/^www\./, '');
  if (s === '') return null;
  const host = listedSourceHost(s);
  if (host !== null) return HOSTS.get(host)!;
  const named = NAMES.get(s);
  if (named) return named;
  // A name under a suffix, possibly behind a subdomain: m.facebook.com, www.google.co.uk.
  const labels = s.split('.');
  for (let i = 0; i < labels.length - 1; i++) {
    const category = NAMES.get(labels[i]!);
    if (category && NAME_SUFFIX.test(labels.slice(i + 1).join('.'))) return category;
  }
  return null;
}

const PAID_MEDIUM = /^(.*cp.*|ppc|retargeting|paid.*)$/;
const SHOP_CAMPAIGN = /^(.*(([^a-df-z]|^)shop|shopping).*)$/;
const DISPLAY_MEDIA = new Set(['display', 'banner', 'expandable', 'interstitial', 'cpm']);
const SOCIAL_MEDIA = new Set(['social', 'social-network', 'social-media', 'sm', 'social network', 'social media']);
const EMAIL = new Set(['email', 'e-mail', 'e_mail', 'e mail']);
const REFERRAL_MEDIA = new Set(['referral', 'app', 'link']);

type Derived = { source: string; medium: string; category: SourceCategory | null };

/**
 * The visit's source and medium as GA4 derives them: the campaign's when tagged; else the referring
 * site with `organic` for a search engine, `email` for webmail and `referral` otherwise; else
 * `(direct)`. A paid-click id without a medium is auto-tagging: medium `cpc`.
 */
function derive(input: AcquisitionInput): Derived {
  const utmSource = input.utmSource?.trim().toLowerCase() || null;
  const utmMedium = input.utmMedium?.trim().toLowerCase() || null;
  const referrer = input.referrer?.toLowerCase() || null;
  const source = utmSource ?? referrer ?? '(direct)';
  const category = source === '(direct)' ? null : sourceCategory(source);
  if (utmMedium) return { source, medium: utmMedium, category };
  if (input.paid) return { source, medium: 'cpc', category };
  if (utmSource) return { source, medium: '(not set)', category };
  if (!referrer) return { source, medium: '(none)', category };
  return { source, medium: category === 'search' ? 'organic' : category === 'email' ? 'email' : 'referral', category };
}

export function sourceAndMedium(input: AcquisitionInput): { source: string; medium: string } {
  const { source, medium } = derive(input);
  return { source, medium };
}

/** The channel of a visit, by the rules above. */
export function channelOf(input: AcquisitionInput): Channel {
  const { source, medium, category } = derive(input);
  const campaign = input.utmCampaign?.trim().toLowerCase() ?? '';
  const paid = PAID_MEDIUM.test(medium);
  const shopping = category === 'shopping' || SHOP_CAMPAIGN.test(campaign);
  if (source === '(direct)' && (medium === '(none)' || medium === '(not set)')) return 'Direct';
  if (campaign.includes('cross-network')) return 'Cross-network';
  if (paid) {
    if (shopping) return 'Paid Shopping';
    if (category === 'search') return 'Paid Search';
    if (category === 'social') return 'Paid Social';
    if (category === 'video') return 'Paid Video';
  }
  if (DISPLAY_MEDIA.has(medium)) return 'Display';
  if (paid) return 'Paid Other';
  if (category === 'ai') return 'AI assistants';
  if (shopping) return 'Organic Shopping';
  if (category === 'social' || SOCIAL_MEDIA.has(medium)) return 'Organic Social';
  if (category === 'video' || medium.includes('video')) return 'Organic Video';
  if (category === 'search' || medium === 'organic') return 'Organic Search';
  if (REFERRAL_MEDIA.has(medium)) return 'Referral';
  if (EMAIL.has(source) || EMAIL.has(medium) || category === 'email') return 'Email';
  if (medium === 'affiliate') return 'Affiliates';
  if (medium === 'audio') return 'Audio';
  if (source === 'sms' || medium === 'sms') return 'SMS';
  if (medium.endsWith('push') || medium.includes('mobile') || medium.includes('notification') || source === 'firebase')
    return 'Mobile Push Notifications';
  return 'Unassigned';
}
