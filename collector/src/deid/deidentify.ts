import { randomBytes, randomUUID } from 'node:crypto';
import {
  ENVELOPE_VERSION,
  DomainError,
  ErrorCode,
  type EventEnvelope,
  type EventType,
  type Practice,
} from '@confidant/shared';
import { isBot } from './bot-filter.ts';
import type { CountryLookup } from './country.ts';
import { matchPageClass } from './page-class.ts';
import { hostInDomains, referrerDomain } from './referrer.ts';
import type { SaltSource } from './salt-store.ts';
import { classifyText, scrubUrl, scrubValue } from './url-scrubber.ts';
import { classifyUserAgent } from './user-agent.ts';
import { visitorKey } from './visitor-key.ts';

/** One hit as any endpoint received it, before de-identification. */
export type BeaconHit = {
  type: EventType;
  url: string;
  referrer?: string | null;
  engagedMs?: number | null;
  target?: string | null;
  name?: string | null;
  props?: Record<string, unknown> | null;
};

/** What the request itself says about the visitor. Held only for the duration of the request. */
export type RequestFacts = {
  ip: string;
  userAgent: string | undefined;
  acceptLanguage: string | undefined;
  /** Sec-GPC: 1 or DNT: 1. */
  optedOut: boolean;
  /** The first-party cookie id, read only for practices in cookie mode. */
  cookieId: string | null;
  receivedAt: number;
};

export type DeidDeps = { salts: SaltSource; country: CountryLookup };

export type DropReason = 'opted-out' | 'bot' | 'page-class-drop';

export type DeidResult =
  | { kind: 'ok'; event: EventEnvelope; key: string; issueCookieId: string | null }
  | { kind: 'drop'; reason: DropReason }
  | { kind: 'reject'; error: DomainError };

export const COOKIE_ID_RE = /^[0-9a-f]{32}$/;
const EVENT_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9 _.:/-]{0,63}$/;

const invalid = (message: string): DeidResult => ({
  kind: 'reject',
  error: new DomainError('invalid-input', message, ErrorCode.invalidBody),
});

/**
 * Turns a hit into a de-identified envelope, or says why it is dropped or rejected. The IP,
 * user agent and cookie id are used here to derive the visitor key, country and device
 * families, and go no further.
 */
export async function deidentify(
  hit: BeaconHit,
  facts: RequestFacts,
  practice: Practice,
  deps: DeidDeps,
): Promise<DeidResult> {
  if (facts.optedOut) return { kind: 'drop', reason: 'opted-out' };
  if (isBot(facts.userAgent, facts.acceptLanguage)) return { kind: 'drop', reason: 'bot' };

  const page = scrubUrl(hit.url);
  if (!page) return invalid('url: must be an absolute http(s) URL');
  if (!hostInDomains(page.host, practice.domains))
    return {
      kind: 'reject',
      error: new DomainError('not-found', 'url is not on a domain registered for this site', ErrorCode.urlOutsideSite),
    };

  let target: string | null = null;
  if (hit.type === 'outbound' || hit.type === 'download') {
    const dest = hit.target ? scrubUrl(hit.target) : null;
    if (!dest) return invalid('target: must be an absolute http(s) URL for outbound and download events');
    target = hit.type === 'outbound' || !hostInDomains(dest.host, practice.domains) ? dest.host : dest.path;
  }
  let name: string | null = null;
  if (hit.type === 'event') {
    if (!hit.name || !EVENT_NAME_RE.test(hit.name) || classifyText(hit.name)) {
      return invalid('name: 1-64 letters, digits, space and _ . : / - without identifying values');
    }
    name = hit.name;
  }

  const rule = matchPageClass(page.path, practice.pageClasses);
  if (rule?.mode === 'drop') return { kind: 'drop', reason: 'page-class-drop' };
  const countOnly = rule?.mode === 'count-only';

  let visitor: string;
  let monthlyVisitor = false;
  let issueCookieId: string | null = null;
  if (practice.cookieMode && facts.cookieId && COOKIE_ID_RE.test(facts.cookieId)) {
    visitor = visitorKey(await deps.salts.saltFor('monthly', facts.receivedAt), [practice.id, facts.cookieId]);
    monthlyVisitor = true;
  } else {
    // No usable cookie (cookieless practice, first visit, or cookies disabled): the daily key still counts the visit.
    visitor = visitorKey(await deps.salts.saltFor('daily', facts.receivedAt), [
      practice.id,
      facts.ip,
      facts.userAgent ?? '',
    ]);
    if (practice.cookieMode) issueCookieId = randomBytes(16).toString('hex');
  }
  const ua = classifyUserAgent(facts.userAgent);
  const q = page.query;

  const event: EventEnvelope = {
    v: ENVELOPE_VERSION,
    // randomUUID draws from a pooled entropy buffer; randomBytes per event showed in the collector's profile.
    id: randomUUID().replaceAll('-', ''),
    practiceId: practice.id,
    source: 'snippet',
    type: hit.type === 'notfound' && !practice.markNotFound ? 'pageview' : hit.type,
    ts: facts.receivedAt,
    visitor,
    ...(monthlyVisitor ? { visitorPeriod: 'month' as const } : {}),
    page: countOnly ? rule!.name : page.path,
    countOnly,
    referrerDomain: countOnly ? null : referrerDomain(hit.referrer, practice.domains),
    utmSource: countOnly ? null : (q.utm_source ?? q.source ?? q.ref ?? null),
    utmMedium: countOnly ? null : (q.utm_medium ?? null),
    utmCampaign: countOnly ? null : (q.utm_campaign ?? null),
    target,
    name,
    engagedMs: hit.type === 'engagement' ? (hit.engagedMs ?? 0) : null,
    country: deps.country(facts.ip),
    browser: ua.browser,
    os: ua.os,
    device: ua.device,
  };
  const props = allowedProps(hit.props, practice.propsAllowlist);
  if (props && !countOnly) event.props = props;
  return { kind: 'ok', event, key: `${practice.id}:${visitor}`, issueCookieId };
}

/** Free-form properties survive only under keys the practice allowlisted, with values scrubbed like URLs. */
function allowedProps(
  props: Record<string, unknown> | null | undefined,
  allowlist: readonly string[],
): Record<string, string> | null {
  if (!props || allowlist.length === 0) return null;
  const out: Record<string, string> = {};
  for (const key of allowlist) {
    const value = props[key];
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') continue;
    const scrubbed = scrubValue(String(value));
    if (scrubbed) out[key] = scrubbed;
  }
  return Object.keys(out).length > 0 ? out : null;
}
