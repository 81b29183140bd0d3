import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF, nextAttempt, restartDelay } from '../../infra/stack/supervisor.ts';

describe('restart backoff policy', () => {
  it('starts at 1 s, doubles per consecutive failure and caps at 60 s', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8].map((attempt) => restartDelay(attempt, DEFAULT_BACKOFF));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000]);
  });

  it('stays at the cap for a child that has failed for a very long time', () => {
    expect(restartDelay(10_000, DEFAULT_BACKOFF)).toBe(60_000);
  });

  it('counts quick exits as consecutive failures and resets after a run of stableMs', () => {
    expect(nextAttempt(0, 50, DEFAULT_BACKOFF)).toBe(1);
    expect(nextAttempt(4, DEFAULT_BACKOFF.stableMs - 1, DEFAULT_BACKOFF)).toBe(5);
    expect(nextAttempt(4, DEFAULT_BACKOFF.stableMs, DEFAULT_BACKOFF)).toBe(1);
  });
});
