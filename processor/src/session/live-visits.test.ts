import { describe, expect, it } from 'vitest';
import { countLiveVisits } from './live-visits.ts';
import type { Visit } from './sessionizer.ts';

const NOW = Date.parse('2026-12-03T12:00:00Z');
const visit = (lastAt: number): Visit => ({
  slot: { day: 20_790, hour: 12 },
  lastAt,
  entry: '/',
  exit: '/',
  pages: 1,
  engagedMs: 0,
  bounceCounted: true,
  acquisition: { referrer: '(direct)', campaign: null, channel: 'Direct' },
  goals: [],
});

describe('countLiveVisits', () => {
  it('counts visits active in the window, per partition, practice and source', () => {
    const counts = countLiveVisits(
      [
        [
          'events:0',
          [
            ['snippet|alpha|v1|2026-12-03', visit(NOW - 60_000)],
            ['snippet|alpha|v2|2026-12-03', visit(NOW - 299_000)],
            ['snippet|alpha|v3|2026-12-03', visit(NOW - 301_000)],
            ['snippet|beta|v9|2026-12-03', visit(NOW - 1_000)],
            // An event stamped far ahead (a skewed clock) is not "now".
            ['snippet|beta|v8|2026-12-03', visit(NOW + 3_600_000)],
          ],
        ],
        [
          'events:1',
          [
            ['snippet|alpha|v4|2026-12-03', visit(NOW - 2_000)],
            ['logs|alpha|v1|2026-12-03', visit(NOW)],
          ],
        ],
      ],
      NOW,
      300_000,
    );
    expect(counts).toEqual([
      { partition: 'events:0', practiceId: 'alpha', source: 'snippet', openVisits: 2 },
      { partition: 'events:0', practiceId: 'beta', source: 'snippet', openVisits: 1 },
      { partition: 'events:1', practiceId: 'alpha', source: 'snippet', openVisits: 1 },
      { partition: 'events:1', practiceId: 'alpha', source: 'logs', openVisits: 1 },
    ]);
  });

  it('has nothing to say about an idle site', () => {
    expect(
      countLiveVisits([['events:0', [['snippet|alpha|v1|2026-12-02', visit(NOW - 3_600_000)]]]], NOW, 300_000),
    ).toEqual([]);
  });
});
