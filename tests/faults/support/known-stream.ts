import type { EventEnvelope } from '@confidant/shared';
import { expectedTotals } from '../../support/event-stream.ts';
import { flatten } from './summary.ts';

/** Per "practice day metric" what the reporter must show for a stream without duplicates. */
export const expectedFor = (events: EventEnvelope[], timeZones: Record<string, string>): Record<string, number> =>
  flatten(expectedTotals(events, timeZones));

/** The stream with its first page view left out: the counts of the real run then show one duplicate. */
export function withoutOne(events: EventEnvelope[]): EventEnvelope[] {
  const i = events.findIndex((e) => e.type === 'pageview');
  return [...events.slice(0, i), ...events.slice(i + 1)];
}

/** The stream with its first page view in twice, as a distinct event: the counts of the real run then show one loss. */
export function withOneMore(events: EventEnvelope[]): EventEnvelope[] {
  const first = events.find((e) => e.type === 'pageview')!;
  return [...events, { ...first, id: `${first.id.slice(0, -1)}${first.id.endsWith('0') ? '1' : '0'}` }];
}

/**
 * Chunks of the stream as a retrying producer would send them: each chunk repeats a few
 * envelopes of the previous one (same id), which must not count twice.
 */
export function chunksWithRetries(
  events: EventEnvelope[],
  size: number,
  random: () => number,
): { chunks: EventEnvelope[][]; duplicates: number } {
  const chunks: EventEnvelope[][] = [];
  for (let i = 0; i < events.length; i += size) {
    const chunk = events.slice(i, i + size);
    const previous = chunks.at(-1) ?? [];
    const repeats = previous.length ? Math.max(1, Math.floor(size / 50)) : 0;
    chunks.push([
      ...chunk,
      ...Array.from({ length: repeats }, () => previous[Math.floor(random() * previous.length)]!),
    ]);
  }
  return { chunks, duplicates: chunks.reduce((n, c) => n + c.length, 0) - events.length };
}

/** The UTC days a stream's events fall on, widened by one on each side (practice time zones). */
export function dayRange(startMs: number, spanMs: number): { from: string; to: string } {
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  return { from: day(startMs - 86_400_000), to: day(startMs + spanMs + 2 * 86_400_000) };
}
