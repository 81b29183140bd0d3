import { describe, expect, it } from 'vitest';
import { oldestKeptMonth } from './partition-retention.ts';

describe('oldestKeptMonth', () => {
  it('keeps the current month and the months before it, across year boundaries', () => {
    expect(oldestKeptMonth(25, new Date(Date.UTC(2026, 0, 15)))).toBe(202401);
    expect(oldestKeptMonth(1, new Date(Date.UTC(2026, 10, 30)))).toBe(202611);
    expect(oldestKeptMonth(12, new Date(Date.UTC(2026, 11, 1)))).toBe(202601);
  });
});
