import { EVENT_SOURCES, type EventSource, type LiveVisitCount } from '@confidant/shared';
import type { Visit } from './sessionizer.ts';

/**
 * Open visits whose last event is at most `windowMs` before `now`, counted per partition, practice
 * and source. Keys are `sessionKey`'s `source|practice|visitor|day`; only the first two parts are
 * read, and only counts leave.
 */
export function countLiveVisits(
  partitions: Iterable<[string, Iterable<[string, Visit]>]>,
  now: number,
  windowMs: number,
): LiveVisitCount[] {
  const counts = new Map<string, LiveVisitCount>();
  for (const [partition, visits] of partitions)
    for (const [key, visit] of visits) {
      if (visit.lastAt < now - windowMs || visit.lastAt > now + windowMs) continue;
      const [source, practiceId] = key.split('|', 2) as [string, string];
      if (!(EVENT_SOURCES as readonly string[]).includes(source)) continue;
      const id = `${partition}|${source}|${practiceId}`;
      const count = counts.get(id) ?? { partition, practiceId, source: source as EventSource, openVisits: 0 };
      count.openVisits += 1;
      counts.set(id, count);
    }
  return [...counts.values()];
}
