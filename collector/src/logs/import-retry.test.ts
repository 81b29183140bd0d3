import { describe, expect, it } from 'vitest';
import { ImportStalledError, persist, type Persistence } from './import-retry.ts';

/** A clock that only moves when the code under test sleeps. */
function virtualTime(over: Partial<Persistence> = {}): Persistence & { slept: number[] } {
  let t = 0;
  const slept: number[] = [];
  return {
    giveUpMs: 60_000,
    now: () => t,
    sleep: async (ms) => {
      slept.push(ms);
      t += ms;
    },
    slept,
    ...over,
  };
}

describe('persist', () => {
  it('retries with growing waits until the work succeeds', async () => {
    let calls = 0;
    const p = virtualTime();
    const value = await persist('kafka', async () => (++calls < 5 ? Promise.reject(new Error('down')) : 'ok'), p);
    expect(value).toBe('ok');
    expect(calls).toBe(5);
    expect(p.slept).toEqual([250, 500, 1000, 2000]);
  });

  it('gives up once failures have lasted giveUpMs, naming what it waited for', async () => {
    const p = virtualTime({ giveUpMs: 20_000 });
    const error = await persist('the ledger', () => Promise.reject(new Error('socket hang up')), p).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ImportStalledError);
    expect((error as ImportStalledError).message).toMatch(/gave up after waiting 20 s for the ledger: socket hang up/);
    expect(p.slept.reduce((a, b) => a + b, 0)).toBe(20_000);
  });

  it('throws a permanent failure at once', async () => {
    const p = virtualTime({ isPermanent: (e) => e instanceof TypeError });
    await expect(persist('x', () => Promise.reject(new TypeError('bad record')), p)).rejects.toThrow(TypeError);
    expect(p.slept).toEqual([]);
  });

  it('stops waiting when interrupted', async () => {
    const abort = new AbortController();
    const p = virtualTime({ signal: abort.signal });
    let calls = 0;
    const error = await persist(
      'kafka',
      () => {
        if (++calls === 2) abort.abort();
        return Promise.reject(new Error('down'));
      },
      p,
    ).catch((e: unknown) => e);
    expect((error as ImportStalledError).interrupted).toBe(true);
    expect(calls).toBe(2);
  });
});
