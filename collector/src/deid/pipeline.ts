import { randomBytes, randomUUID } from 'node:crypto';
import {
  ENVELOPE_VERSION,
  type ActionKind,
  hasPaidClickId,
  drop,
  invalid,
  ok,
  type EdgeResult,
  type EventEnvelope,
  type EventSource,
  type EventType,
  type Practice,
} from '@confidant/shared';
import { isBot } from './bot-filter.ts';
import { canonicalPath } from './canonical-path.ts';
import type { CountryLookup } from './country.ts';
import { customEventStep } from './event-declarations.ts';
import { freeTextValue } from './free-text.ts';
import { matchPageClass, matchPathTemplate } from './page-class.ts';
import { holdBackRareValues, type RareValueGate } from './rare-value-gate.ts';
import type { SaltKind } from './salt-store.ts';
import { formName, isDirectionsLink, screenClass, scrollBucket } from './signals.ts';
import { hostInDomains, referrerDomain, siteOf } from './site-domain.ts';
import { allowedQueryValues, parseWebUrl, scrubPath, scrubSegments, urlHost } from './url-scrubber.ts';
import { classifyUserAgent, type UaClass } from './user-agent.ts';
import { visitorKey } from './visitor-key.ts';

/**
 * The edge de-identification: the one path from a received hit to an envelope, for every entry point
 * (the snippet beacon, the Plausible endpoint, the pixel, the buffer page, the log CLI and `/v1/logs`).
 * Each entry point is a thin adapter to `RawHit`; the pipeline is small named steps, each with an
 * explicit result (`ok | drop(reason) | invalid(reason)`). The IP, user agent and cookie id are used
 * only to derive the visitor key, country and device families, and go no further.
 */

/** What the request (or log line) says about the client. Held only while its hit is de-identified. */
export type ClientFacts = {
  ip: string;
  userAgent: string | undefined;
  acceptLanguage: string | undefined;
  /** Sec-GPC: 1 or DNT: 1. */
  optedOut: boolean;
  /** The first-party cookie id, read only for practices in cookie mode. */
  cookieId: string | null;
};

/** One hit as any entry point received it, before de-identification. */
export type RawHit = {
  source: EventSource;
  type: EventType;
  /** The page: an absolute http(s) URL. */
  url: string;
  referrer?: string | null;
  /** Outbound and download events: the destination URL. */
  target?: string | null;
  /** Custom events: the name and properties as sent. */
  name?: string | null;
  props?: Record<string, unknown> | null;
  engagedMs?: number | null;
  /** A built-in signal (a call, email or directions link, a form submitted); an outbound link may also turn out to be one. */
  action?: ActionKind | null;
  /** Form submissions: the form's declared name as sent. */
  form?: string | null;
  /** Engagement: the page view's deepest scroll, in percent of the page's height. */
  scrollPercent?: number | null;
  /** The viewport width in CSS pixels (only its screen class is kept). */
  width?: number | null;
  client: ClientFacts;
  /** Epoch ms: when the collector received the hit (snippet), or when it happened (logs). */
  time: number;
};

export type DropReason = 'opted-out' | 'bot' | 'page-class-drop';
export type InvalidReason = 'invalid-url' | 'url-outside-site' | 'invalid-target' | 'invalid-name';
type Step<T> = EdgeResult<T, DropReason, InvalidReason>;

/** The page as it may be stored: a scrubbed canonical path, or the class name of a count-only page. */
export type PageFacts = {
  page: string;
  countOnly: boolean;
  utmSource: string | null;
  utmMedium: string | null;
  utmCampaign: string | null;
  utmTerm: string | null;
  utmContent: string | null;
  /** The URL named a paid-click parameter (its value is not read). */
  paid: boolean;
};
export type VisitorFacts = { visitor: string; period: 'day' | 'month' };
export type PlaceFacts = { country: string; agent: UaClass };

/**
 * The steps that depend only on their input and the practice, so that a caller may memoise them (the
 * log import does, per distinct input, since it runs them for millions of lines).
 */
export interface DeidSteps {
  page(url: string): Step<PageFacts>;
  referrer(referrer: string): string | null;
  place(client: ClientFacts): PlaceFacts;
  visitor(client: ClientFacts, time: number): VisitorFacts;
}

/** A salt already in memory (the adapter loads it first: `visitorSaltKind` says which). */
export type SaltLookup = (kind: SaltKind, time: number) => Buffer;

export type Deidentified = {
  event: EventEnvelope;
  /** Cookie mode: a new cookie id to set, when the browser sent none. */
  issueCookieId: string | null;
};
export type DeidResult = Step<Deidentified>;

const COOKIE_ID_RE = /^[0-9a-f]{32}$/;
const NO_CAMPAIGN = {
  utmSource: null,
  utmMedium: null,
  utmCampaign: null,
  utmTerm: null,
  utmContent: null,
  paid: false,
} as const;
// Shared results of the steps with nothing to say (a log import runs them for millions of lines).
const PASS = Object.freeze(ok(null));
const NOT_CUSTOM = Object.freeze(ok(Object.freeze({ name: null, props: null, freeTextProps: [] })));

/** The visitor's choice comes first: an opted-out hit is not looked at further. */
export function consentStep(client: ClientFacts): Step<null> {
  return client.optedOut ? drop('opted-out') : PASS;
}

/** Snippet hits from crawlers and automation. (Log lines are bot-filtered by `logs/hit-rules.ts`, by rules that fit logs.) */
export function botStep(hit: RawHit): Step<null> {
  return hit.source === 'snippet' && isBot(hit.client.userAgent, hit.client.acceptLanguage) ? drop('bot') : PASS;
}

/**
 * The page: on the practice's domains, canonicalised first (`canonical-path.ts`), then the page classes
 * (a drop class drops the hit; a count-only class stores only its name), the practice's path templates,
 * and scrubbing; the campaign values only when they have a safe shape (`freeTextValue`), and common
 * (the rare-value gate, last in `deidentifyHit`).
 */
export function pageStep(url: string, practice: Practice): Step<PageFacts> {
  const parsed = parseWebUrl(url);
  if (!parsed) return invalid('invalid-url');
  if (!hostInDomains(urlHost(parsed), practice.domains)) return invalid('url-outside-site');
  const canonical = canonicalPath(parsed.pathname);
  // Fail closed: a path that never settles cannot be judged against the page classes, so it is not taken.
  if (!canonical) return invalid('invalid-url');
  const rule = matchPageClass(canonical.segments, practice.pageClasses);
  if (rule?.mode === 'drop') return drop('page-class-drop');
  if (rule) return ok({ page: rule.name, countOnly: true, ...NO_CAMPAIGN });
  const template = matchPathTemplate(canonical.segments, practice.pathTemplates);
  const q = allowedQueryValues(parsed.search);
  return ok({
    page: template ? template.path : scrubSegments(canonical),
    countOnly: false,
    utmSource: firstValue(q.utm_source, q.source, q.ref),
    utmMedium: firstValue(q.utm_medium),
    utmCampaign: firstValue(q.utm_campaign),
    utmTerm: firstValue(q.utm_term),
    utmContent: firstValue(q.utm_content),
    paid: hasPaidClickId(parsed.searchParams),
  });
}

function firstValue(...raws: Array<string | undefined>): string | null {
  for (const raw of raws) {
    const value = raw === undefined ? null : freeTextValue(raw);
    if (value !== null) return value;
  }
  return null;
}

/** Outbound: the destination's site (registrable domain, `(ip)`); download: the scrubbed path on the practice's own host. */
export function targetStep(hit: RawHit, practice: Practice): Step<string | null> {
  if (hit.type !== 'outbound' && hit.type !== 'download') return PASS;
  const dest = hit.target ? parseWebUrl(hit.target) : null;
  if (!dest) return invalid('invalid-target');
  const host = urlHost(dest);
  return ok(hit.type === 'download' && hostInDomains(host, practice.domains) ? scrubPath(dest.pathname) : siteOf(host));
}

/**
 * A built-in signal's kind: as the entry point said, or directions for an outbound link to a map
 * (whose destination, an address, then goes no further).
 */
export function actionStep(hit: RawHit): ActionKind | null {
  if (hit.action) return hit.action;
  return hit.type === 'outbound' && hit.target && isDirectionsLink(hit.target) ? 'directions' : null;
}

/** Which salt keys this client's visitor: the month's for a cookie-mode visitor with a cookie, else the day's. */
export function visitorSaltKind(client: ClientFacts, practice: Practice): SaltKind {
  return practice.cookieMode && client.cookieId && COOKIE_ID_RE.test(client.cookieId) ? 'monthly' : 'daily';
}

/** The keyed visitor hash: cookie id with the month's salt, else (practice, IP, user agent) with the day's. */
export function visitorStep(client: ClientFacts, time: number, practice: Practice, salt: SaltLookup): VisitorFacts {
  if (visitorSaltKind(client, practice) === 'monthly')
    return { visitor: visitorKey(salt('monthly', time), [practice.id, client.cookieId!]), period: 'month' };
  // No usable cookie (cookieless practice, first visit, or cookies disabled): the daily key still counts the visit.
  return { visitor: visitorKey(salt('daily', time), [practice.id, client.ip, client.userAgent ?? '']), period: 'day' };
}

/** Country (ISO code only) and browser, OS and device families. */
export function placeStep(client: ClientFacts, country: CountryLookup): PlaceFacts {
  return { country: country(client.ip), agent: classifyUserAgent(client.userAgent) };
}

/** The steps as they are, unmemoised (the snippet's, one hit per request). */
export function directSteps(practice: Practice, deps: { country: CountryLookup; salt: SaltLookup }): DeidSteps {
  return {
    page: (url) => pageStep(url, practice),
    referrer: (referrer) => referrerDomain(referrer, practice.domains),
    place: (client) => placeStep(client, deps.country),
    visitor: (client, time) => visitorStep(client, time, practice, deps.salt),
  };
}

/** A random event id (the processor drops a message Kafka holds twice by it). */
export function randomEventId(): string {
  // randomUUID draws from a pooled entropy buffer; randomBytes per event showed in the collector's profile.
  return randomUUID().replaceAll('-', '');
}

/**
 * Runs the steps in order; the first that drops or refuses the hit ends it. Last, the free-text values
 * go through the rare-value gate (`rare-value-gate.ts`), which counts this hit's client: it is the one
 * step with state, shared by every entry point of the process.
 */
export function deidentifyHit(
  hit: RawHit,
  practice: Practice,
  steps: DeidSteps,
  rareValues: RareValueGate,
  id: string = randomEventId(),
): DeidResult {
  const consent = consentStep(hit.client);
  if (consent.kind !== 'ok') return consent;
  const bot = botStep(hit);
  if (bot.kind !== 'ok') return bot;
  const pageResult = steps.page(hit.url);
  if (pageResult.kind !== 'ok') return pageResult;
  const action = actionStep(hit);
  const target = action ? PASS : targetStep(hit, practice);
  if (target.kind !== 'ok') return target;
  const custom = action ? NOT_CUSTOM : customEventStep(hit.type, hit.name, hit.props, practice);
  if (custom.kind !== 'ok') return custom;

  const page = pageResult.value;
  const { countOnly } = page;
  const place = steps.place(hit.client);
  const event: EventEnvelope = {
    v: ENVELOPE_VERSION,
    id,
    practiceId: practice.id,
    source: hit.source,
    type: action ? 'event' : hit.type === 'notfound' && !practice.markNotFound ? 'pageview' : hit.type,
    ts: hit.time,
    page: page.page,
    countOnly,
    referrerDomain: countOnly || !hit.referrer ? null : steps.referrer(hit.referrer),
    utmSource: page.utmSource,
    utmMedium: page.utmMedium,
    utmCampaign: page.utmCampaign,
    target: target.value,
    name: custom.value.name,
    engagedMs: hit.type === 'engagement' ? (hit.engagedMs ?? 0) : null,
    country: place.country,
    browser: place.agent.browser,
    os: place.agent.os,
    device: place.agent.device,
  };
  addSignals(event, hit, action, page);
  if (page.paid) event.paid = true;
  // A count-only event carries no visitor value at all, and sets no cookie.
  if (countOnly) return ok({ event, issueCookieId: null });
  const visitor = steps.visitor(hit.client, hit.time);
  event.visitor = visitor.visitor;
  if (visitor.period === 'month') event.visitorPeriod = 'month';
  if (custom.value.props) event.props = custom.value.props;
  holdBackRareValues(event, custom.value.freeTextProps, hit.client.ip, rareValues);
  const issueCookieId =
    practice.cookieMode && hit.source === 'snippet' && visitor.period === 'day'
      ? randomBytes(16).toString('hex')
      : null;
  return ok({ event, issueCookieId });
}

/** The optional fields of the built-in signals and the campaign's term and content, set only when there is a value. */
function addSignals(event: EventEnvelope, hit: RawHit, action: ActionKind | null, page: PageFacts): void {
  if (page.utmTerm) event.utmTerm = page.utmTerm;
  if (page.utmContent) event.utmContent = page.utmContent;
  if (action) event.action = action;
  // A count-only page's form is its class: a name sent with it could not be held for the rare-value rule.
  if (action === 'form') event.form = page.countOnly ? page.page : formName(hit.form, page.page);
  const scroll = hit.type === 'engagement' ? scrollBucket(hit.scrollPercent) : null;
  if (scroll !== null) event.scroll = scroll;
  const screen = screenClass(hit.width);
  if (screen) event.screen = screen;
}

/** An event's Kafka key: its visitor's, so a visitor's events stay in order; a count-only event's own id. */
export function eventKey(event: EventEnvelope): string {
  return `${event.practiceId}:${event.visitor ?? event.id}`;
}
