import { describe, expect, it } from 'vitest';
import { LoadShedder } from './load-shedder.ts';

const limits = { maxInFlight: 2, maxEventLoopDelayMs: 1000, maxHeapUsedBytes: 100, sampleMs: 1000 };

describe('LoadShedder', () => {
  it('refuses once the in-flight bound is reached and admits again after a release', () => {
    const shedder = new LoadShedder(limits, () => 0);
    const a = shedder.enter();
    expect(shedder.check()).toBeNull();
    const b = shedder.enter();
    expect(shedder.check()).toBe('in-flight');
    a();
    a();
    expect(shedder.current).toBe(1);
    expect(shedder.check()).toBeNull();
    b();
    expect(shedder.current).toBe(0);
  });

  it('refuses while the sampled heap is above its ceiling', () => {
    let heap = 50;
    const shedder = new LoadShedder(limits, () => heap);
    shedder.sample();
    expect(shedder.check()).toBeNull();
    heap = 150;
    shedder.sample();
    expect(shedder.check()).toBe('heap');
    heap = 99;
    shedder.sample();
    expect(shedder.check()).toBeNull();
  });

  it('refuses after a window in which the event loop was blocked', async () => {
    const shedder = new LoadShedder({ ...limits, maxEventLoopDelayMs: 50 }, () => 0);
    shedder.start();
    await new Promise((r) => setTimeout(r, 50));
    const until = Date.now() + 200;
    while (Date.now() < until) {
      // block the loop
    }
    await new Promise((r) => setTimeout(r, 20));
    shedder.sample();
    expect(shedder.check()).toBe('event-loop-delay');
    shedder.stop();
  });

  // Recovery is judged on a scripted histogram: a real quiet window can still lag on a loaded CI machine.
  it('admits again once a window passes without lag, each window judged on its own', () => {
    const windows = [[200], [3, 4], [], [60]];
    let current: number[] = [];
    const histogram = {
      get count() {
        return current.length;
      },
      percentile: () => Math.max(...current) * 1e6,
      reset: () => {
        current = windows.shift() ?? [];
      },
      enable: () => true,
      disable: () => true,
    };
    histogram.reset();
    const shedder = new LoadShedder({ ...limits, maxEventLoopDelayMs: 50 }, () => 0, histogram);
    const verdicts = Array.from({ length: 4 }, () => (shedder.sample(), shedder.check()));
    expect(verdicts).toEqual(['event-loop-delay', null, null, 'event-loop-delay']);
  });
});
