import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  buildApp,
  createMetrics,
  importLogStream,
  loadCollectorConfig,
  MemorySaltStore,
  PracticeRegistry,
  RareValueGate,
} from '@confidant/collector/components';
import { createLogger, decodeEvent, encodeEvent, practiceSchema, type EventEnvelope } from '@confidant/shared';
import type { FastifyInstance } from 'fastify';
import { CORPUS, CORPUS_PRACTICE } from './corpus.ts';
import {
  CLIENT_SLOT,
  CORPUS_UA,
  PRACTICE_DOMAIN,
  type CorpusItem,
  type FieldExpectation,
  type HitInput,
} from './corpus-item.ts';

/** What became of one input: an envelope, nothing (dropped, answered like an accepted hit), or a refusal. */
export type Outcome = { kind: 'ok'; event: EventEnvelope } | { kind: 'drop' } | { kind: 'invalid'; reason: string };

export const CORPUS_PRACTICE_PARSED = practiceSchema.parse(CORPUS_PRACTICE);

/** k of the rare-value gate, as the collector's defaults have it. */
export const RARE_K = loadCollectorConfig({}).rareValues.minVisitors;

/**
 * Client `n`'s address, each in its own /24, so that the rare-value gate counts every client as a
 * visitor on a network of its own. Hits carry it in `X-Forwarded-For` (from a trusted proxy), log lines
 * in their client field.
 */
export function corpusClient(n: number): string {
  if (n < 0 || n >= 65_536) throw new Error(`no corpus client ${n}`);
  return `10.${n >> 8}.${n & 255}.1`;
}

const KEPT_FIELDS = ['referrerDomain', 'utmSource', 'utmMedium', 'utmCampaign'] as const;
/** A value an expectation keeps as it is: neither a placeholder, a marker (`(other)`, `(rare)`…) nor `internal`. */
const keptValue = (e: FieldExpectation | undefined): boolean =>
  typeof e === 'string' && !/^[:(]/.test(e) && e !== 'internal';

/**
 * How many visitors send an item. One, as one patient's identifier is sent by that patient, unless
 * the item expects a free-text value to be kept (a private-suffix referrer reduced to `netlify.app`, a
 * campaign kept beside a dropped parameter): then k, so that the value passes the rare-value gate
 * and the reduction itself is what is judged (on the k-th visitor's envelope; every envelope is searched).
 */
export function visitorsOf(item: CorpusItem): number {
  const e = item.expect;
  if (e.outcome !== 'ok') return 1;
  const kept = KEPT_FIELDS.some((f) => keptValue(e[f])) || Object.values(e.props ?? {}).some(keptValue);
  return kept ? RARE_K : 1;
}

const itemIndex = new Map(CORPUS.map((item, i) => [item.id, i]));
/** The `visitor`-th client of a corpus item: each item's clients are its own. */
export function itemClient(item: CorpusItem, visitor: number): string {
  const i = itemIndex.get(item.id);
  if (i === undefined) throw new Error(`${item.id} is not a corpus item`);
  return corpusClient(i * RARE_K + visitor);
}
/** The `visitor`-th of the k clients an ordinary URL is sent from (clients after the items'). */
export const ordinaryClient = (url: number, visitor: number): string =>
  corpusClient((CORPUS.length + url) * RARE_K + visitor);
/** Clients for generated inputs (the property tests): after the items' and the ordinary URLs'. */
const FIRST_FRESH_CLIENT = 20_000;

/** What a corpus collector trusts `X-Forwarded-For` from: the test's own loopback. */
export const CORPUS_TRUSTED_PROXIES = ['127.0.0.1', '::1'];

export type HitRequest = { method: 'GET' | 'POST'; url: string; body?: string; headers: Record<string, string> };

export const HIT_HEADERS = {
  'user-agent': CORPUS_UA,
  'accept-language': 'en-US,en;q=0.9',
};

/**
 * The HTTP request that delivers a hit input, as each entry point receives it: the snippet's beacon,
 * the Plausible tracker's event, the `<noscript>` pixel, or the buffer page (the page left is its Referer).
 */
export function hitRequest(input: HitInput, client: string): HitRequest {
  const site = CORPUS_PRACTICE.siteKey;
  const from = { ...HIT_HEADERS, 'x-forwarded-for': client };
  const post = (url: string, body: unknown): HitRequest => ({
    method: 'POST',
    url,
    body: JSON.stringify(body),
    headers: { ...from, 'content-type': 'text/plain' },
  });
  switch (input.via) {
    case 'snippet':
      return post('/e', {
        site,
        type: input.type,
        url: input.url,
        referrer: input.referrer ?? null,
        target: input.target ?? null,
        name: input.name ?? null,
        width: 1280,
      });
    case 'pixel': {
      const q = new URLSearchParams({ site, u: input.url, ...(input.referrer ? { r: input.referrer } : {}) });
      return { method: 'GET', url: `/e.gif?${q}`, headers: from };
    }
    case 'buffer': {
      const q = new URLSearchParams({ site, to: input.target ?? '' });
      return { method: 'GET', url: `/out?${q}`, headers: { ...from, referer: input.url } };
    }
    case 'plausible': {
      const special: Partial<Record<string, string>> = {
        pageview: 'pageview',
        outbound: 'Outbound Link: Click',
        download: 'File Download',
        notfound: '404',
      };
      const props = input.target ? { ...input.props, url: input.target } : input.props;
      return post('/api/event', {
        n: input.type === 'event' ? input.name : special[input.type],
        u: input.url,
        d: PRACTICE_DOMAIN,
        r: input.referrer ?? null,
        w: 1280,
        ...(props ? { p: props } : {}),
      });
    }
  }
}

/** What the response says: accepted (an envelope may or may not have been made), or refused. */
export function hitAccepted(input: HitInput, status: number, exitHeader: string | undefined): boolean {
  if (input.via === 'buffer') {
    if (status !== 200) return false;
    return exitHeader === 'recorded';
  }
  if (status === 400 || status === 404) return false;
  if (status !== 202) throw new Error(`unexpected ${status} from ${input.via}`);
  return true;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `[dd/Mon/yyyy:HH:MM:SS +0000]`, the combined log format's time. */
export function logTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `[${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${d.toISOString().slice(11, 19)} +0000]`;
}

/** An item's log line at `timeMs` from `client`, unless the line names its own. */
export const logLineFrom = (line: string, timeMs: number, client: string): string =>
  line.replace('{time}', logTime(timeMs)).replace(CLIENT_SLOT, client);

/** The log lines of `items` as one upload, at `timeMs`: each once per visitor of the item (`visitorsOf`), from its clients. */
export function logBody(items: readonly CorpusItem[], timeMs: number): string {
  const lines = items.flatMap((item) => {
    const { input } = item;
    if (input.kind !== 'log') return [];
    return Array.from({ length: visitorsOf(item) }, (_, v) => logLineFrom(input.line, timeMs, itemClient(item, v)));
  });
  return `${lines.join('\n')}\n`;
}

/** An envelope without what differs between two runs of the same input (ids, visitor keys, times, the country of the test address). */
export function comparable(event: EventEnvelope): string {
  const { id: _id, visitor, ts: _ts, country: _country, ...rest } = event as EventEnvelope & { visitor?: string };
  const fields: Record<string, unknown> = { ...rest, hasVisitor: Boolean(visitor) };
  return JSON.stringify(
    Object.fromEntries(
      Object.keys(fields)
        .sort()
        .map((k) => [k, fields[k]]),
    ),
  );
}

/**
 * The collector in memory (its real routes, log import and de-identification pipeline, salts in memory,
 * no Kafka): every hit goes through the same HTTP adapter as in production, every log line through the
 * log import, and the envelope either would produce is captured at the sink, checked as the producer checks it.
 */
export class CorpusCollector {
  private readonly captured: EventEnvelope[] = [];
  private freshClients = FIRST_FRESH_CLIENT;

  private constructor(
    private readonly app: FastifyInstance,
    /** The one rare-value gate of its hits and log lines, as a collector process has. */
    private readonly rareValues: RareValueGate,
  ) {}

  static async start(): Promise<CorpusCollector> {
    const logger = createLogger('corpus', 'silent');
    const registry = new PracticeRegistry(
      { list: async () => [CORPUS_PRACTICE_PARSED], revision: async () => '1' },
      logger,
    );
    await registry.refresh();
    let collector: CorpusCollector | null = null;
    const defaults = loadCollectorConfig({});
    const rareValues = new RareValueGate(defaults.rareValues.minVisitors, defaults.rareValues.gateEntries);
    const app = await buildApp({
      // Nothing is refused for load: a test machine's pauses (GC, a busy core) are not what is measured here.
      config: {
        ...defaults,
        trustedProxies: CORPUS_TRUSTED_PROXIES,
        rateLimitPerMin: 1_000_000_000,
        shed: { maxInFlight: 1_000_000, maxEventLoopDelayMs: 3_600_000, maxHeapUsedBytes: Number.MAX_SAFE_INTEGER },
      },
      logger,
      registry,
      salts: new MemorySaltStore(),
      sink: {
        ready: () => true,
        submit: async (_key, event) => {
          const decoded = decodeEvent(encodeEvent(event));
          if (!decoded.ok) throw new Error(`the collector made an invalid envelope: ${decoded.reason}`);
          collector!.captured.push(decoded.event);
        },
      },
      metrics: createMetrics(),
      country: () => 'US',
      rareValues,
    });
    collector = new CorpusCollector(app, rareValues);
    return collector;
  }

  async close(): Promise<void> {
    await this.app.close();
  }

  /** One hit from `client` (an address, see `corpusClient`; by default one no other hit came from). */
  async send(input: HitInput, client: string = this.freshClient()): Promise<Outcome> {
    const request = hitRequest(input, client);
    const before = this.captured.length;
    const res = await this.app.inject(request);
    const exit = res.headers['x-exit'];
    if (!hitAccepted(input, res.statusCode, typeof exit === 'string' ? exit : undefined))
      return { kind: 'invalid', reason: `${res.statusCode} ${res.body.slice(0, 200)}` };
    const made = this.captured.slice(before);
    if (made.length > 1) throw new Error(`one hit made ${made.length} envelopes`);
    return made.length ? { kind: 'ok', event: made[0]! } : { kind: 'drop' };
  }

  /**
   * One log line as an import of its own (the log import's parse, hit rules and de-identification, with
   * a ledger in memory), so that what it made is known: an envelope, or nothing (skipped, malformed).
   */
  async importLine(item: CorpusItem, timeMs: number, client: string = this.freshClient()): Promise<Outcome> {
    if (item.input.kind !== 'log') throw new Error(`${item.id} is not a log line`);
    const made: EventEnvelope[] = [];
    const summary = await importLogStream(
      Readable.from([`${logLineFrom(item.input.line, timeMs, client)}\n`]),
      {
        practice: CORPUS_PRACTICE_PARSED,
        importId: createHash('sha256').update(item.id).digest('hex'),
        format: { kind: 'combined' },
      },
      {
        sink: { submit: async (_key, events) => void made.push(...events) },
        salts: new MemorySaltStore(),
        country: () => 'US',
        ledger: {
          open: async () => ({ lines: 0, prefixHash: '', bucketSecret: 'corpus' }),
          commit: async () => undefined,
        },
        rareValues: this.rareValues,
      },
    );
    if (summary.malformed.count > 0)
      return { kind: 'invalid', reason: `malformed: ${JSON.stringify(summary.malformed)}` };
    if (made.length > 1) throw new Error(`one log line made ${made.length} envelopes`);
    return made.length ? { kind: 'ok', event: made[0]! } : { kind: 'drop' };
  }

  /** A corpus item from each of its visitors (`visitorsOf`), in order: what each visitor's input became. */
  async run(item: CorpusItem, timeMs = Date.now() - 3_600_000): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    for (let v = 0; v < visitorsOf(item); v++) {
      const client = itemClient(item, v);
      outcomes.push(
        item.input.kind === 'hit' ? await this.send(item.input, client) : await this.importLine(item, timeMs, client),
      );
    }
    return outcomes;
  }

  /**
   * A generated input from k clients no other input came from: common, as far as the rare-value gate
   * can tell, so that what removes a planted value is the pattern, not the gate.
   */
  async fromK(input: HitInput | CorpusItem): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    for (let v = 0; v < RARE_K; v++)
      outcomes.push('kind' in input ? await this.send(input) : await this.importLine(input, Date.now() - 3_600_000));
    return outcomes;
  }

  private freshClient(): string {
    return corpusClient(this.freshClients++);
  }
}
