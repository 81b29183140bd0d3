import { getDomain, getHostname } from 'tldts';

/** Marker stored instead of a domain when the visitor came from another page of the same practice. */
export const INTERNAL_REFERRER = 'internal';

/** True when `host` is one of the practice's domains or a subdomain of one. */
export function hostInDomains(host: string, domains: readonly string[]): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return domains.some((d) => h === d || h.endsWith(`.${d}`));
}

/**
 * A referrer reduced to its registrable domain (`news.example.co.uk` → `example.co.uk`);
 * nothing of its path or query survives. Self-referrals become `internal`.
 */
export function referrerDomain(referrer: string | null | undefined, practiceDomains: readonly string[]): string | null {
  if (!referrer) return null;
  let host: string | null;
  try {
    const url = new URL(referrer);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
    host = getHostname(url.hostname);
  } catch {
    return null;
  }
  if (!host) return null;
  if (hostInDomains(host, practiceDomains)) return INTERNAL_REFERRER;
  const ownDomains = practiceDomains.map((d) => getDomain(d) ?? d);
  const domain = getDomain(host, { allowPrivateDomains: true });
  if (!domain) return null;
  return ownDomains.includes(domain) ? INTERNAL_REFERRER : domain;
}
