import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../platform/logger.ts';
import { stopOnSignals, type ShutdownStep } from './graceful-shutdown.ts';

const logger = createLogger('shutdown-test', 'silent');

function setup(steps: ShutdownStep[], graceMs = 1000) {
  const exits: number[] = [];
  const shutdown = stopOnSignals({ logger, steps, graceMs, signals: [], exit: (code) => exits.push(code) });
  return { exits, shutdown };
}

afterEach(() => vi.useRealTimers());

describe('stopOnSignals', () => {
  it('runs the steps in order, once, then exits 0', async () => {
    const order: string[] = [];
    const step = (name: string): ShutdownStep => ({
      name,
      stop: async () => {
        await new Promise((r) => setTimeout(r, 5));
        order.push(name);
      },
    });
    const { exits, shutdown } = setup([step('http'), step('producer'), step('db')]);
    await Promise.all([shutdown('SIGTERM'), shutdown('SIGINT')]);
    expect(order).toEqual(['http', 'producer', 'db']);
    expect(exits).toEqual([0]);
  });

  it('still closes the later steps when one fails, and exits 1', async () => {
    const closed: string[] = [];
    const { exits, shutdown } = setup([
      { name: 'http', stop: () => closed.push('http') },
      { name: 'consumer', stop: () => Promise.reject(new Error('broker gone')) },
      { name: 'db', stop: () => closed.push('db') },
    ]);
    await shutdown('SIGTERM');
    expect(closed).toEqual(['http', 'db']);
    expect(exits).toEqual([1]);
  });

  it('exits 1 when the steps outlast the grace period', async () => {
    vi.useFakeTimers();
    const { exits, shutdown } = setup([{ name: 'http', stop: () => new Promise(() => undefined) }], 10_000);
    void shutdown('SIGHUP');
    await vi.advanceTimersByTimeAsync(9_999);
    expect(exits).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(exits).toEqual([1]);
  });

  it('listens to SIGINT, SIGTERM and SIGHUP by default', () => {
    const before = Object.fromEntries(
      (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, process.listenerCount(s)]),
    );
    const exit = vi.fn();
    stopOnSignals({ logger, steps: [], graceMs: 1000, exit });
    for (const [signal, count] of Object.entries(before)) {
      expect(process.listenerCount(signal)).toBe(count + 1);
      process.removeListener(signal, process.listeners(signal as NodeJS.Signals).at(-1)!);
    }
  });
});
