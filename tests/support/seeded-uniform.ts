import type { UniformSource } from '@confidant/reporter';

/**
 * A reproducible uniform source for tests (production draws from node:crypto): mulberry32 words,
 * two per draw (53 bits), rejection-sampled so every integer in [0, n) is equally likely.
 */
export function seededUniform(seed: number): UniformSource {
  let state = seed >>> 0;
  const word = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const RANGE = 2n ** 53n;
  return (n) => {
    if (n <= 0n || n > RANGE) throw new RangeError(`seeded uniform supports 0 < n ≤ 2^53, not ${n}`);
    const limit = RANGE - (RANGE % n);
    for (;;) {
      const r = BigInt(word() >>> 11) * 2n ** 32n + BigInt(word());
      if (r < limit) return r % n;
    }
  };
}
