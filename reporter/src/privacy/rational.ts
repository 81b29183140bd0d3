/** Exact non-negative rationals for privacy parameters: epsilon never passes through a float. */
export type Rational = { num: bigint; den: bigint };

const DECIMAL_RE = /^(\d{1,12})(?:\.(\d{1,6}))?$/;

export function parseDecimal(text: string): Rational {
  const m = DECIMAL_RE.exec(text);
  if (!m) throw new Error(`not a decimal with at most 6 decimals: ${text}`);
  const frac = m[2] ?? '';
  return { num: BigInt(m[1]! + frac), den: 10n ** BigInt(frac.length) };
}

/** Millionths, exact because parseDecimal allows at most 6 decimals. */
export const toMicro = (r: Rational): bigint => (r.num * 1_000_000n) / r.den;

export const microToString = (micro: bigint): string => {
  const sign = micro < 0n ? '-' : '';
  const abs = micro < 0n ? -micro : micro;
  const frac = (abs % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '');
  return `${sign}${abs / 1_000_000n}${frac ? `.${frac}` : ''}`;
};

export const rationalToString = (r: Rational): string => microToString(toMicro(r));
