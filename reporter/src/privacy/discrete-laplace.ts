import { randomBytes, randomInt } from 'node:crypto';

/**
 * Exact discrete Laplace sampling (Canonne, Kamath, Steinke 2020, Algorithms 1 and 2).
 * Every step is integer or rational arithmetic on uniform integers from node:crypto: no
 * Math.random and no floating-point inversion, whose rounding leaks (Mironov 2012).
 */
export type UniformSource = (n: bigint) => bigint;

const RANDOM_INT_LIMIT = 2n ** 48n;

/** Uniform integer in [0, n) from node:crypto. */
export const cryptoUniform: UniformSource = (n) => {
  if (n <= 0n) throw new RangeError('n must be positive');
  if (n < RANDOM_INT_LIMIT) return BigInt(randomInt(Number(n)));
  const bits = n.toString(2).length;
  const bytes = Math.ceil(bits / 8);
  const mask = (1n << BigInt(bits)) - 1n;
  for (;;) {
    const r = BigInt(`0x${randomBytes(bytes).toString('hex')}`) & mask;
    if (r < n) return r;
  }
};

/** Bernoulli(num/den), 0 ≤ num ≤ den. */
export function bernoulli(num: bigint, den: bigint, uniform: UniformSource = cryptoUniform): boolean {
  return uniform(den) < num;
}

/** Bernoulli(exp(-num/den)) for num/den ≥ 0. */
export function bernoulliExp(num: bigint, den: bigint, uniform: UniformSource = cryptoUniform): boolean {
  if (num < 0n || den <= 0n) throw new RangeError('gamma must be a non-negative rational');
  if (num <= den) {
    let k = 1n;
    while (bernoulli(num, den * k, uniform)) k += 1n;
    return k % 2n === 1n;
  }
  for (let i = 0n; i < num / den; i += 1n) {
    if (!bernoulliExp(1n, 1n, uniform)) return false;
  }
  return bernoulliExp(num % den, den, uniform);
}

/**
 * A draw Y with P(Y = y) ∝ exp(-|y| · s / t), i.e. scale t/s. For ε-DP on a count with L1
 * sensitivity Δ and ε = a/b: scale Δ/ε, so t = Δ·b and s = a.
 */
export function discreteLaplace(s: bigint, t: bigint, uniform: UniformSource = cryptoUniform): bigint {
  if (s <= 0n || t <= 0n) throw new RangeError('s and t must be positive');
  for (;;) {
    const u = uniform(t);
    if (!bernoulliExp(u, t, uniform)) continue;
    let v = 0n;
    while (bernoulliExp(1n, 1n, uniform)) v += 1n;
    const y = (u + t * v) / s;
    const negative = bernoulli(1n, 2n, uniform);
    if (negative && y === 0n) continue;
    return negative ? -y : y;
  }
}

/** Variance of the discrete Laplace with scale b: 2q / (1 - q)^2, q = e^(-1/b). For tests and docs only. */
export function discreteLaplaceVariance(scale: number): number {
  const q = Math.exp(-1 / scale);
  return (2 * q) / (1 - q) ** 2;
}
