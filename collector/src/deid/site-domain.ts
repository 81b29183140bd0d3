import { listedSourceHost } from '@confidant/shared';
import { parse } from 'tldts';
import { parseWebUrl, urlHost } from './url-scrubber.ts';

/** Marker stored instead of a domain when the visitor came from another page of the same practice. */
export const INTERNAL_REFERRER = 'internal';
/** What an IP-literal host is stored as. */
export const IP_HOST = '(ip)';
/** What a web host without a registrable domain (`localhost`, `intranet`, a bare public suffix) is stored as. */
export const UNKNOWN_HOST = '(unknown)';

/** True when `host` is one of the practice's domains or a subdomain of one. */
export function hostInDomains(host: string, domains: readonly string[]): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return domains.some((d) => h === d || h.endsWith(`.${d}`));
}

/**
 * A host's registrable domain under the ICANN section of the public suffix list only: private suffixes
 * (`netlify.app`, `github.io`, `blogspot.com`) are where anyone registers a name, often their own, so
 * `jane-doe-5551234567.netlify.app` is `netlify.app`. Null for IP literals and hosts without one.
 */
export function registrableDomain(host: string): string | null {
  const parsed = parse(host, { allowPrivateDomains: false });
  return parsed.isIcann && !parsed.isIp ? parsed.domain : null;
}

/**
 * A host as it may be stored: its registrable domain, IP_HOST for an IP literal (as the URL parser
 * writes it: dotted quad or bare IPv6), UNKNOWN_HOST without one.
 */
export function siteOf(host: string): string {
  const parsed = parse(host, { allowPrivateDomains: false });
  if (parsed.isIp) return IP_HOST;
  return (parsed.isIcann ? parsed.domain : null) ?? UNKNOWN_HOST;
}

// The registrable domains of practices' own domains, looked up once each (a handful per practice).
const ownSites = new Map<string, string>();
const ownSite = (domain: string): string => {
  let site = ownSites.get(domain);
  if (site === undefined) {
    site = registrableDomain(domain) ?? domain;
    ownSites.set(domain, site);
  }
  return site;
};

/**
 * A referrer reduced to its registrable domain (`news.example.co.uk` → `example.co.uk`, IP literals
 * `(ip)`); nothing of its path or query survives. Self-referrals become `internal`; no referrer, or
 * one that is not a web URL, is null.
 */
export function referrerDomain(referrer: string | null | undefined, practiceDomains: readonly string[]): string | null {
  if (!referrer) return null;
  const url = parseWebUrl(referrer);
  if (!url) return null;
  const host = urlHost(url);
  if (!host) return null;
  if (hostInDomains(host, practiceDomains)) return INTERNAL_REFERRER;
  const site = siteOf(host);
  if (practiceDomains.some((d) => ownSite(d) === site)) return INTERNAL_REFERRER;
  // A listed host under a site (gemini.google.com under google.com) is another traffic source: kept whole.
  const listed = listedSourceHost(host);
  return listed !== null && listed.length > site.length ? listed : site;
}
