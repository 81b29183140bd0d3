import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  buildApp,
  createMetrics,
  importLogStream,
  loadCollectorConfig,
  MemorySaltStore,
  PracticeRegistry,
} from '@confidant/collector/components';
import { createLogger, decodeEvent, encodeEvent, practiceSchema, type EventEnvelope } from '@confidant/shared';
import type { FastifyInstance } from 'fastify';
import { CORPUS_PRACTICE } from './corpus.ts';
import { CORPUS_UA, PRACTICE_DOMAIN, type CorpusItem, type HitInput } from './corpus-item.ts';

/** What became of one input: an envelope, nothing (dropped, answered like an accepted hit), or a refusal. */
export type Outcome = { kind: 'ok'; event: EventEnvelope } | { kind: 'drop' } | { kind: 'invalid'; reason: string };

export const CORPUS_PRACTICE_PARSED = practiceSchema.parse(CORPUS_PRACTICE);

export type HitRequest = { method: 'GET' | 'POST'; url: string; body?: string; headers: Record<string, string> };

export const HIT_HEADERS = {
  'user-agent': CORPUS_UA,
  'accept-language': 'en-US,en;q=0.9',
};

/**
 * The HTTP request that delivers a hit input, as each entry point receives it: the snippet's beacon,
 * the Plausible tracker's event, the `<noscript>` pixel, or the buffer page (the page left is its Referer).
 */
export function hitRequest(input: HitInput): HitRequest {
  const site = CORPUS_PRACTICE.siteKey;
  const post = (url: string, body: unknown): HitRequest => ({
    method: 'POST',
    url,
    body: JSON.stringify(body),
    headers: { ...HIT_HEADERS, 'content-type': 'text/plain' },
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
      return { method: 'GET', url: `/e.gif?${q}`, headers: HIT_HEADERS };
    }
    case 'buffer': {
      const q = new URLSearchParams({ site, to: input.target ?? '' });
      return { method: 'GET', url: `/out?${q}`, headers: { ...HIT_HEADERS, referer: input.url } };
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

/** The log lines of `items` as one upload, at `timeMs`. */
export function logBody(items: readonly CorpusItem[], timeMs: number): string {
  const lines = items.flatMap((i) => (i.input.kind === 'log' ? [i.input.line.replace('{time}', logTime(timeMs))] : []));
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

  private constructor(private readonly app: FastifyInstance) {}

  static async start(): Promise<CorpusCollector> {
    const logger = createLogger('corpus', 'silent');
    const registry = new PracticeRegistry(
      { list: async () => [CORPUS_PRACTICE_PARSED], revision: async () => '1' },
      logger,
    );
    await registry.refresh();
    let collector: CorpusCollector | null = null;
    const app = await buildApp({
      // Nothing is refused for load: a test machine's pauses (GC, a busy core) are not what is measured here.
      config: {
        ...loadCollectorConfig({}),
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
    });
    collector = new CorpusCollector(app);
    return collector;
  }

  async close(): Promise<void> {
    await this.app.close();
  }

  async send(input: HitInput): Promise<Outcome> {
    const request = hitRequest(input);
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
  async importLine(item: CorpusItem, timeMs: number): Promise<Outcome> {
    const made: EventEnvelope[] = [];
    const summary = await importLogStream(
      Readable.from([logBody([item], timeMs)]),
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
      },
    );
    if (summary.malformed.count > 0)
      return { kind: 'invalid', reason: `malformed: ${JSON.stringify(summary.malformed)}` };
    if (made.length > 1) throw new Error(`one log line made ${made.length} envelopes`);
    return made.length ? { kind: 'ok', event: made[0]! } : { kind: 'drop' };
  }

  async run(item: CorpusItem, timeMs = Date.now() - 3_600_000): Promise<Outcome> {
    return item.input.kind === 'hit' ? this.send(item.input) : this.importLine(item, timeMs);
  }
}
