import type { EventEnvelope, Practice } from '@confidant/shared';
import { BoundedCache } from '../deid/bounded-cache.ts';
import { canonicalIp } from '../deid/client-ip.ts';
import type { CountryLookup } from '../deid/country.ts';
import {
  deidentifyHit,
  pageStep,
  placeStep,
  visitorStep,
  type ClientFacts,
  type DeidSteps,
  type PlaceFacts,
  type VisitorFacts,
} from '../deid/pipeline.ts';
import type { RareValueGate } from '../deid/rare-value-gate.ts';
import type { SaltSource } from '../deid/salt-store.ts';
import { referrerDomain } from '../deid/site-domain.ts';
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

/** What one client (address and user agent) becomes on one UTC day. */
type ClientEntry = { day: number; client: ClientFacts; visitor: VisitorFacts; bucket: number; place: PlaceFacts };

/**
 * The collector's de-identification pipeline (`deid/pipeline.ts`) for logged hits, with its pure steps
 * memoised per distinct input (in memory only, for one import), since an import runs them for millions
 * of lines: the page step once per request target, the referrer step once per referrer, and the visitor
 * and place steps once per client (address, agent) and UTC day, with the last client again without a
 * lookup, since a visitor's hits come in runs. The visitor key uses the daily salt of the UTC day the hit
 * happened; salts are fetched once per day (`prepare`), ahead of the synchronous `deidentify`.
 */
export class LogHitPipeline {
  private readonly pages = new BoundedCache<string, ReturnType<DeidSteps['page']>>(CACHE_SIZE);
  private readonly referrers = new BoundedCache<string, string | null>(CACHE_SIZE);
  private readonly clients = new BoundedCache<string, ClientEntry>(CACHE_SIZE);
  private last: { ip: string; userAgent: string; entry: ClientEntry } | null = null;
  private readonly daySalts = new Map<number, Buffer>();
  private readonly origin: string;
  private readonly steps: DeidSteps;
  /** The client of the hit being de-identified (found before the pipeline runs, for its bucket). */
  private current: ClientEntry | null = null;

  constructor(
    private readonly practice: Practice,
    private readonly salts: SaltSource,
    private readonly country: CountryLookup,
    private readonly bucketSecret: string,
    private readonly rareValues: RareValueGate,
  ) {
    this.origin = `https://${practice.domains[0]}`;
    this.steps = {
      // A request target is origin-form (`/path?query`): the page is that path on the practice's first domain.
      page: (target) =>
        this.pages.through(target, (t) => pageStep(t.startsWith('/') ? this.origin + t : t, this.practice)),
      referrer: (referrer) => this.referrers.through(referrer, (r) => referrerDomain(r, this.practice.domains)),
      place: () => this.current!.place,
      visitor: () => this.current!.visitor,
    };
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
    this.current = null;
  }

  deidentify(hit: LogHit, type: 'pageview' | 'notfound', id: string): LogDeidResult {
    const entry = this.client(hit);
    this.current = entry;
    const result = deidentifyHit(
      { source: 'logs', type, url: hit.path, referrer: hit.referrer, client: entry.client, time: hit.time },
      this.practice,
      this.steps,
      this.rareValues,
      id,
    );
    if (result.kind === 'ok') return { kind: 'ok', event: result.value.event, bucket: entry.bucket };
    // Log lines are never opted out and are bot-filtered before (hit-rules): what remains is the page.
    return { kind: 'skip', reason: result.kind === 'drop' ? 'page-class-drop' : 'foreign-host' };
  }

  /** The client's facts, visitor key (daily salt of the hit's UTC day), place and bucket, memoised. */
  private client(hit: LogHit): ClientEntry {
    const day = Math.floor(hit.time / DAY_MS);
    const userAgent = hit.userAgent ?? '';
    const last = this.last;
    if (last !== null && last.entry.day === day && last.ip === hit.ip && last.userAgent === userAgent)
      return last.entry;
    const key = `${hit.ip}\u0000${userAgent}`;
    let entry = this.clients.get(key);
    if (entry === undefined || entry.day !== day) {
      const salt = this.daySalts.get(day);
      if (!salt) throw new Error('daily salt not prepared for this hit');
      // As the collector writes it, so `::ffff:192.0.2.1` or a spelled-out IPv6 address is keyed and located like the snippet's.
      const client: ClientFacts = entry?.client ?? {
        ip: canonicalIp(hit.ip) ?? hit.ip,
        userAgent: userAgent || undefined,
        acceptLanguage: undefined,
        optedOut: false,
        cookieId: null,
      };
      entry = {
        day,
        client,
        visitor: visitorStep(client, hit.time, this.practice, () => salt),
        bucket: entry?.bucket ?? clientBucket(this.bucketSecret, client.ip, userAgent),
        place: entry?.place ?? placeStep(client, this.country),
      };
      this.clients.set(key, entry);
    }
    this.last = { ip: hit.ip, userAgent, entry };
    return entry;
  }
}
