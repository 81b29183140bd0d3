import { ENVELOPE_VERSION, type EventEnvelope, type Practice } from '@confidant/shared';
import type { CountryLookup } from '../deid/country.ts';
import { matchPageClass } from '../deid/page-class.ts';
import { hostInDomains, referrerDomain } from '../deid/referrer.ts';
import type { SaltSource } from '../deid/salt-store.ts';
import { scrubUrl, type ScrubbedUrl } from '../deid/url-scrubber.ts';
import { classifyUserAgent } from '../deid/user-agent.ts';
import { visitorKey } from '../deid/visitor-key.ts';
import { BoundedCache } from '../deid/bounded-cache.ts';
import type { Hit } from './log-parser.ts';

export type LogDeidSkip = 'page-class-drop' | 'foreign-host';

export type LogDeidResult = { kind: 'ok'; event: EventEnvelope } | { kind: 'skip'; reason: LogDeidSkip };

const DAY_MS = 86_400_000;
const CACHE_SIZE = 50_000;

/**
 * The collector's edge de-identification (`deid/deidentify.ts`) applied to a logged hit,
 * built from the same functions: the daily visitor key over (practice, IP, user agent) with
 * the salt of the UTC day the hit happened, country, browser/OS/device families, scrubbed
 * path, page classes and referrer domain. `deidentify` itself takes an absolute page URL,
 * request headers and the receive time, and parses the user agent on every call; an
 * import runs it for millions of lines, so here the pure steps are memoised per distinct
 * input (in memory only) and salts are fetched once per day, ahead of the synchronous loop.
 */
export class LogDeidentifier {
  private readonly paths = new BoundedCache<string, ScrubbedUrl | null>(CACHE_SIZE);
  private readonly referrers = new BoundedCache<string, string | null>(CACHE_SIZE);
  private readonly countries = new BoundedCache<string, string>(CACHE_SIZE);
  private readonly visitors = new BoundedCache<string, string>(CACHE_SIZE);
  private readonly daySalts = new Map<number, Buffer>();
  private readonly origin: string;

  constructor(
    private readonly practice: Practice,
    private readonly salts: SaltSource,
    private readonly country: CountryLookup,
  ) {
    this.origin = `https://${practice.domains[0]}`;
  }

  /** Loads the daily salts for the hits' days; must run before `deidentify` sees those hits. */
  async prepare(times: Iterable<number>): Promise<void> {
    for (const t of times) {
      const day = Math.floor(t / DAY_MS);
      if (!this.daySalts.has(day)) this.daySalts.set(day, await this.salts.saltFor('daily', t));
    }
  }

  /** Forgets salts and memoised keys (between imports, so nothing outlives its use). */
  clear(): void {
    this.daySalts.clear();
    this.visitors.clear();
    this.countries.clear();
  }

  deidentify(hit: Hit, type: 'pageview' | 'notfound', id: string): LogDeidResult {
    const practice = this.practice;
    const page = this.paths.through(hit.path, (p) => scrubUrl(p.startsWith('/') ? this.origin + p : p));
    if (!page || !hostInDomains(page.host, practice.domains)) return { kind: 'skip', reason: 'foreign-host' };
    const rule = practice.pageClasses.length ? matchPageClass(page.path, practice.pageClasses) : null;
    if (rule?.mode === 'drop') return { kind: 'skip', reason: 'page-class-drop' };
    const countOnly = rule?.mode === 'count-only';

    const day = Math.floor(hit.time / DAY_MS);
    const salt = this.daySalts.get(day);
    if (!salt) throw new Error('daily salt not prepared for this hit');
    const ua = hit.userAgent ?? '';
    const visitor = this.visitors.through(`${day}\u0000${hit.ip}\u0000${ua}`, () => visitorKey(salt, [practice.id, hit.ip, ua]));
    const agent = classifyUserAgent(ua || undefined);
    const q = page.query;
    const event: EventEnvelope = {
      v: ENVELOPE_VERSION,
      id,
      practiceId: practice.id,
      source: 'logs',
      type: type === 'notfound' && !practice.markNotFound ? 'pageview' : type,
      ts: hit.time,
      visitor,
      page: countOnly ? rule.name : page.path,
      countOnly,
      referrerDomain: countOnly || !hit.referrer ? null : this.referrers.through(hit.referrer, (r) => referrerDomain(r, practice.domains)),
      utmSource: countOnly ? null : (q.utm_source ?? q.source ?? q.ref ?? null),
      utmMedium: countOnly ? null : (q.utm_medium ?? null),
      utmCampaign: countOnly ? null : (q.utm_campaign ?? null),
      target: null,
      name: null,
      engagedMs: null,
      country: this.countries.through(hit.ip, this.country),
      browser: agent.browser,
      os: agent.os,
      device: agent.device,
    };
    return { kind: 'ok', event };
  }
}
