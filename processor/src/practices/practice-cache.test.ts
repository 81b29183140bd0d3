import type { Practice } from '@confidant/shared';
import { describe, expect, it } from 'vitest';
import { PracticeCache } from './practice-cache.ts';

const practice = (id: string) =>
  ({ id, timezone: 'UTC', domains: [`${id}.example`], events: [] }) as unknown as Practice;

/** A cache over a control plane that can be switched off; the clock is moved by hand. */
function cacheOver(list: Practice[]) {
  let now = 0;
  let down = false;
  const stale: unknown[] = [];
  const cache = new PracticeCache(
    async () => {
      if (down) throw new Error('control plane unavailable');
      return list;
    },
    { now: () => now, onStale: (error) => stale.push(error) },
  );
  return {
    cache,
    stale,
    advance: (ms: number) => void (now += ms),
    setDown: (value: boolean) => void (down = value),
  };
}

describe('PracticeCache while the control plane is away', () => {
  it('serves the last known list past its age instead of stopping every batch', async () => {
    const c = cacheOver([practice('a')]);
    await c.cache.refresh();
    c.setDown(true);
    c.advance(10 * 60_000);
    await expect(c.cache.prepare(['a'])).resolves.toBeUndefined();
    expect(c.cache.get('a')?.timeZone).toBe('UTC');
    expect(c.stale).toHaveLength(1);
  });

  it('makes a batch naming a practice it does not hold wait, rather than dead-lettering its events', async () => {
    const c = cacheOver([practice('a')]);
    await c.cache.refresh();
    c.setDown(true);
    c.advance(6_000);
    await expect(c.cache.prepare(['a', 'new-practice'])).rejects.toThrow(/unavailable/);
  });

  it('makes the first batch wait when no list was ever loaded', async () => {
    const c = cacheOver([practice('a')]);
    c.setDown(true);
    await expect(c.cache.prepare(['a'])).rejects.toThrow(/unavailable/);
  });
});

describe('PracticeCache declared property values', () => {
  it("holds each key's declared values across the practice's events", async () => {
    const declared = {
      ...practice('p'),
      events: [
        { name: 'Signup', props: { plan: ['basic', 'gold'], topic: [] } },
        { name: 'Booked', props: { plan: ['silver'] } },
      ],
    } as Practice;
    const { cache } = cacheOver([declared]);
    await cache.prepare(['p']);
    expect(cache.get('p')?.declaredPropValues).toEqual(
      new Map([
        ['plan', new Set(['basic', 'gold', 'silver'])],
        ['topic', new Set()],
      ]),
    );
  });
});
