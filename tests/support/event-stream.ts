import { randomBytes } from 'node:crypto';
import type { EventEnvelope } from '@confidant/shared';
import { testEnvelope } from '@confidant/shared/testing';

/** A small seeded PRNG so a failing stream can be reproduced from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PAGES = ['/', '/services', '/team', '/contact', '/insurance', '/blog/flu-season'];

/**
 * A realistic mixed stream: visitors with a few page views each, engagement, outbound clicks,
 * downloads, custom events, 404s and count-only pages, spread over several days and practices.
 * Each visitor's events are in time order.
 */
export function generateStream(
  random: () => number,
  practiceIds: string[],
  total: number,
  startMs: number,
  spanMs: number,
): EventEnvelope[] {
  const events: EventEnvelope[] = [];
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  while (events.length < total) {
    const visitor = randomBytes(16).toString('hex');
    const practiceId = pick(practiceIds);
    const source = random() < 0.85 ? 'snippet' : 'logs';
    let ts = startMs + Math.floor(random() * spanMs);
    const n = 1 + Math.floor(random() * 8);
    for (let i = 0; i < n && events.length < total; i++) {
      ts += Math.floor(random() * 20 * 60_000);
      const roll = random();
      const type =
        source === 'logs'
          ? roll < 0.9
            ? 'pageview'
            : 'notfound'
          : roll < 0.55
            ? 'pageview'
            : roll < 0.7
              ? 'engagement'
              : roll < 0.78
                ? 'outbound'
                : roll < 0.85
                  ? 'download'
                  : roll < 0.92
                    ? 'event'
                    : 'notfound';
      const countOnly = type === 'pageview' && random() < 0.08;
      events.push(
        testEnvelope({
          id: randomBytes(16).toString('hex'),
          practiceId,
          source,
          type,
          ts,
          visitor,
          page: countOnly ? 'patient-portal' : pick(PAGES),
          countOnly,
          referrerDomain: i === 0 && random() < 0.5 ? pick(['google.com', 'bing.com', 'healthgrades.com']) : null,
          utmSource: i === 0 && random() < 0.2 ? 'newsletter' : null,
          target:
            type === 'outbound'
              ? pick(['maps.example.org', 'insurer.example'])
              : type === 'download'
                ? '/files/intake.pdf'
                : null,
          name: type === 'event' ? pick(['book-click', 'call-click']) : null,
          engagedMs: type === 'engagement' ? Math.floor(random() * 30_000) : null,
          country: pick(['US', 'CA', 'DE']),
          browser: pick(['Firefox', 'Chrome', 'Safari']),
          os: pick(['Linux', 'Windows', 'iOS']),
          device: pick(['desktop', 'mobile', 'tablet'] as const),
        }),
      );
    }
  }
  return events;
}

// One formatter per zone: each Intl.DateTimeFormat holds native memory the GC does not see (≈14 KB),
// so one per call grows a million-event stream's expectations to many GB.
const formatters = new Map<string, Intl.DateTimeFormat>();

/** `YYYY-MM-DD` of an instant in a time zone, computed independently of the processor's code. */
export function localDate(ts: number, timeZone: string): string {
  let format = formatters.get(timeZone);
  if (!format)
    formatters.set(
      timeZone,
      (format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })),
    );
  return format.format(ts);
}

export type DayTotals = { pageviews: number; events: number; engaged_ms: number };

/** What the rollups must say per practice and local day for a stream without duplicates. */
export function expectedTotals(events: EventEnvelope[], timeZones: Record<string, string>): Record<string, DayTotals> {
  const out: Record<string, DayTotals> = {};
  for (const e of events) {
    const key = `${e.practiceId} ${localDate(e.ts, timeZones[e.practiceId]!)}`;
    const t = (out[key] ??= { pageviews: 0, events: 0, engaged_ms: 0 });
    if (e.type === 'pageview' || e.type === 'notfound') t.pageviews++;
    else if (e.type === 'engagement') t.engaged_ms += e.engagedMs ?? 0;
    else t.events++;
  }
  return out;
}
