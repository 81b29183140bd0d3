import { ENVELOPE_VERSION, type EventEnvelope, type PageClassRule, type Practice } from '@confidant/shared';
import { canonicalIp } from '../deid/client-ip.ts';
import type { CountryLookup } from '../deid/country.ts';
import { matchPageClass } from '../deid/page-class.ts';
import { hostInDomains, referrerDomain } from '../deid/referrer.ts';
import type { SaltSource } from '../deid/salt-store.ts';
import { scrubUrl, type ScrubbedUrl } from '../deid/url-scrubber.ts';
import { classifyUserAgent, type UaClass } from '../deid/user-agent.ts';
import { visitorKey } from '../deid/visitor-key.ts';
import { BoundedCache } from '../deid/bounded-cache.ts';
import { clientBucket } from './import-ledger.ts';
import type { LogHit } from './log-parser.ts';

export type LogDeidSkip = 'page-class-drop' | 'foreign-host';

/** `bucket`: the client's batch bucket in this import (`clientBucket`). */
export type LogDeidResult =
  { kind: 'ok'; event: EventEnvelope; bucket: number } | { kind: 'skip'; reason: LogDeidSkip };

const DAY_MS = 86_400_000;
/**
 * Entries per memo generation (two generations are kept). `npm run confidant` caps V8's old space at
 * 96 MB; two generations of 50,000 clients (~40 MB) kept the heap near that cap on a 1 M-line log and V8
 * collecting almost without pause (the import's CPU per line grew by a third). The hits of one visitor
 * come minutes apart, well within 10,000 other clients on a practice's site.
 */
const CACHE_SIZE = 10_000;

/** What a request target becomes: skipped, or the scrubbed page with its page class. */
type PageVerdict =
  { kind: 'skip'; reason: LogDeidSkip } | { kind: 'page'; page: ScrubbedUrl; rule: PageClassRule | null };

/** What one client (address and user agent) becomes on one UTC day. */
type ClientFacts = { day: number; visitor: string; bucket: number; country: string; agent: UaClass };

/**
 * The collector's edge de-identification (`deid/deidentify.ts`) applied to a logged hit,
 * built from the same functions: the daily visitor key over (practice, IP, user agent) with
 * the salt of the UTC day the hit happened, country, browser/OS/device families, scrubbed
 * path, page classes and referrer domain. `deidentify` itself takes an absolute page URL,
 * request headers and the receive time, and parses the user agent on every call; an
 * import runs it for millions of lines, so here the pure steps are memoised per distinct
 * input (in memory only, for one import): a request target once, a client (address, agent)
 * once a day, and the last client again without a lookup, since a visitor's hits come in runs.
 * Salts are fetched once per day (`prepare`), ahead of the synchronous `deidentify`.
 */
export class LogDeidentifier {
  private readonly pages = new BoundedCache<string, PageVerdict>(CACHE_SIZE);
  private readonly referrers = new BoundedCache<string, string | null>(CACHE_SIZE);
  private readonly clients = new BoundedCache<string, ClientFacts>(CACHE_SIZE);
  private last: { ip: string; userAgent: string; facts: ClientFacts } | null = null;
  private readonly daySalts = new Map<number, Buffer>();
  private readonly origin: string;

  constructor(
    private readonly practice: Practice,
    private readonly salts: SaltSource,
    private readonly country: CountryLookup,
    private readonly bucketSecret: string,
  ) {
    this.origin = `https://${practice.domains[0]}`;
  }

  /** True when `deidentify` needs `prepare(time)` first: the salt of the hit's day is not loaded. */
  needsSalt(time: number): boolean {
    return !this.daySalts.has(Math.floor(time / DAY_MS));
  }

  /** Loads the daily salt of the hit's day. */
  async prepare(time: number): Promise<void> {
    const day = Math.floor(time / DAY_MS);
    if (!this.daySalts.has(day)) this.daySalts.set(day, await this.salts.saltFor('daily', time));
  }

  /** Forgets salts and everything memoised about clients (between imports, so nothing outlives its use). */
  clear(): void {
    this.daySalts.clear();
    this.clients.clear();
    this.last = null;
  }

  deidentify(hit: LogHit, type: 'pageview' | 'notfound', id: string): LogDeidResult {
    const practice = this.practice;
    const verdict = this.pages.through(hit.path, (p) => this.pageVerdict(p));
    if (verdict.kind === 'skip') return verdict;
    const { page, rule } = verdict;
    const countOnly = rule?.mode === 'count-only';
    const client = this.client(hit);
    const q = page.query;
    const event: EventEnvelope = {
      v: ENVELOPE_VERSION,
      id,
      practiceId: practice.id,
      source: 'logs',
      type: type === 'notfound' && !practice.markNotFound ? 'pageview' : type,
      ts: hit.time,
      visitor: client.visitor,
      page: countOnly ? rule.name : page.path,
      countOnly,
      referrerDomain:
        countOnly || !hit.referrer
          ? null
          : this.referrers.through(hit.referrer, (r) => referrerDomain(r, practice.domains)),
      utmSource: countOnly ? null : (q.utm_source ?? q.source ?? q.ref ?? null),
      utmMedium: countOnly ? null : (q.utm_medium ?? null),
      utmCampaign: countOnly ? null : (q.utm_campaign ?? null),
      target: null,
      name: null,
      engagedMs: null,
      country: client.country,
      browser: client.agent.browser,
      os: client.agent.os,
      device: client.agent.device,
    };
    return { kind: 'ok', event, bucket: client.bucket };
  }

  private pageVerdict(target: string): PageVerdict {
    const page = scrubUrl(target.startsWith('/') ? this.origin + target : target);
    if (!page || !hostInDomains(page.host, this.practice.domains)) return { kind: 'skip', reason: 'foreign-host' };
    const rule = this.practice.pageClasses.length ? matchPageClass(page.path, this.practice.pageClasses) : null;
    if (rule?.mode === 'drop') return { kind: 'skip', reason: 'page-class-drop' };
    return { kind: 'page', page, rule };
  }

  /** The visitor key (daily salt of the hit's UTC day), country and agent families of the hit's client. */
  private client(hit: LogHit): ClientFacts {
    const day = Math.floor(hit.time / DAY_MS);
    const userAgent = hit.userAgent ?? '';
    const last = this.last;
    if (last !== null && last.facts.day === day && last.ip === hit.ip && last.userAgent === userAgent)
      return last.facts;
    const key = `${hit.ip}\u0000${userAgent}`;
    let facts = this.clients.get(key);
    if (facts === undefined || facts.day !== day) {
      const salt = this.daySalts.get(day);
      if (!salt) throw new Error('daily salt not prepared for this hit');
      // As the collector writes it, so `::ffff:192.0.2.1` or a spelled-out IPv6 address is keyed and located like the snippet's.
      const ip = canonicalIp(hit.ip) ?? hit.ip;
      facts = {
        day,
        visitor: visitorKey(salt, [this.practice.id, ip, userAgent]),
        bucket: facts?.bucket ?? clientBucket(this.bucketSecret, ip, userAgent),
        country: facts?.country ?? this.country(ip),
        agent: facts?.agent ?? classifyUserAgent(userAgent || undefined),
      };
      this.clients.set(key, facts);
    }
    this.last = { ip: hit.ip, userAgent, facts };
    return facts;
  }
}
