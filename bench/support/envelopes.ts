import { encodeEvent, type EventEnvelope } from '@confidant/shared';
import { testEnvelope } from '@confidant/shared/testing';

/** Seeded PRNG: every run produces and measures the same stream. */
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

const PAGES = [
  '/',
  '/services',
  '/services/cardiology',
  '/team',
  '/team/dr-smith',
  '/contact',
  '/insurance',
  '/blog/flu-season',
  '/blog/heart-health',
];
const hex = (random: () => number, bytes: number) =>
  Array.from({ length: bytes }, () =>
    Math.floor(random() * 256)
      .toString(16)
      .padStart(2, '0'),
  ).join('');

/**
 * A realistic snippet stream for one practice over the last `spanMs` before `endMs`: visitors
 * with a few page views each, engagement, outbound clicks, downloads, custom events and 404s,
 * each visitor's events in time order.
 */
export function generateEnvelopes(
  practiceId: string,
  total: number,
  endMs: number,
  spanMs: number,
  seed = 7,
): EventEnvelope[] {
  const random = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const events: EventEnvelope[] = [];
  while (events.length < total) {
    const visitor = hex(random, 16);
    let ts = endMs - spanMs + Math.floor(random() * (spanMs - 3_600_000));
    const n = 1 + Math.floor(random() * 6);
    for (let i = 0; i < n && events.length < total; i++) {
      ts += Math.floor(random() * 5 * 60_000);
      const roll = random();
      const type =
        roll < 0.6
          ? 'pageview'
          : roll < 0.75
            ? 'engagement'
            : roll < 0.82
              ? 'outbound'
              : roll < 0.88
                ? 'download'
                : roll < 0.95
                  ? 'event'
                  : 'notfound';
      events.push(
        testEnvelope({
          id: hex(random, 16),
          practiceId,
          type,
          ts: Math.min(ts, endMs - 1),
          visitor,
          page: pick(PAGES),
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
          country: pick(['US', 'CA', 'DE', 'FR']),
          browser: pick(['Firefox', 'Chrome', 'Safari', 'Edge']),
          os: pick(['Linux', 'Windows', 'iOS', 'Android', 'macOS']),
          device: pick(['desktop', 'mobile', 'tablet'] as const),
        }),
      );
    }
  }
  return events;
}

/** Kafka messages as the collector produces them: keyed by visitor, value the encoded envelope. */
export const toMessages = (events: readonly EventEnvelope[]) =>
  events.map((e) => ({ key: e.visitor, value: encodeEvent(e) }));
