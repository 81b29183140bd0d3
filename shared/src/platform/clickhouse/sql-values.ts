/**
 * The one audited way to put values into ClickHouse SQL.
 *
 * ClickHouse 18.16 has no server-side query parameters, so every value that reaches a
 * statement goes through these functions. Each one validates strictly and throws
 * `SqlValueError` rather than guess; callers validate user input earlier and turn
 * failures into 400s, so a throw here means a programming error.
 */
export class SqlValueError extends Error {
  override name = 'SqlValueError';
}

const STRING_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\0': '\\0',
  '\b': '\\b',
  '\f': '\\f',
};

/** A quoted string literal; every byte round-trips through SELECT and INSERT … VALUES. */
export function str(value: string): string {
  if (typeof value !== 'string') throw new SqlValueError(`expected a string, got ${typeof value}`);
  if (!value.isWellFormed()) throw new SqlValueError('string has lone surrogates');
  return `'${value.replace(/[\\'\n\r\t\0\b\f]/g, (c) => STRING_ESCAPES[c]!)}'`;
}

const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

/** An integer literal within Int64/UInt64 range; negatives are parenthesised so `a - (-1)` stays valid. */
export function int(value: number | bigint | string): string {
  let big: bigint;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new SqlValueError(`not a safe integer: ${value}`);
    big = BigInt(value);
  } else if (typeof value === 'bigint') {
    big = value;
  } else if (typeof value === 'string' && /^-?[0-9]{1,20}$/.test(value)) {
    big = BigInt(value);
  } else {
    throw new SqlValueError(`not an integer: ${String(value).slice(0, 40)}`);
  }
  if (big < INT64_MIN || big > UINT64_MAX) throw new SqlValueError(`integer out of 64-bit range: ${big}`);
  return big < 0n ? `(${big})` : big.toString();
}

/** A float literal; non-finite values are refused, subnormals (rejected by 18.16) flushed to 0. */
export function float(value: number): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new SqlValueError(`not a finite number: ${value}`);
  const v = Math.abs(value) < 2.2250738585072014e-308 ? 0 : value;
  const text = String(v);
  return v < 0 ? `(${text})` : text;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True when `value` is a real calendar date written YYYY-MM-DD (18.16 would silently roll 02-30 over). */
export function isIsoDate(value: string): boolean {
  const m = DATE_RE.exec(value);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (y < 1970 || y > 2105) return false;
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

/** A Date literal from a strict YYYY-MM-DD string. */
export function date(value: string): string {
  if (!isIsoDate(value)) throw new SqlValueError(`not a valid YYYY-MM-DD date: ${String(value).slice(0, 20)}`);
  return `toDate('${value}')`;
}

/** A UTC DateTime from epoch seconds (or a JS Date), never a zone-dependent string. */
export function dateTime(value: number | Date): string {
  const seconds = value instanceof Date ? Math.floor(value.getTime() / 1000) : value;
  if (!Number.isSafeInteger(seconds) || seconds < 0 || seconds > 4294967295) {
    throw new SqlValueError(`not a DateTime epoch: ${String(value)}`);
  }
  return `toDateTime(${seconds}, 'UTC')`;
}

const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A backquoted identifier; only plain names are accepted (callers take them from whitelists). */
export function ident(name: string): string {
  if (typeof name !== 'string' || !IDENT_RE.test(name))
    throw new SqlValueError(`not a plain identifier: ${String(name).slice(0, 40)}`);
  return `\`${name}\``;
}

/**
 * `column IN (…)` for a list of literals. An empty list becomes a false condition,
 * because 18.16 rejects `IN ()`.
 */
export function inList<T>(column: string, values: readonly T[], literal: (v: T) => string): string {
  if (values.length === 0) return '0';
  return `${column} IN (${values.map(literal).join(', ')})`;
}

/** A string literal for `LIKE 'prefix%'`, with `\`, `%` and `_` in the prefix escaped. */
export function likePrefix(prefix: string): string {
  return str(`${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
}

/** Tagged template that formats interpolations with the helpers above: numbers → int/float, strings → str. */
export function sql(strings: TemplateStringsArray, ...values: Array<string | number | bigint | SqlFragment>): string {
  let out = strings[0]!;
  values.forEach((value, i) => {
    out += literal(value) + strings[i + 1]!;
  });
  return out;
}

/** Already-built SQL (an identifier or sub-expression from these helpers) passed through `sql` unchanged. */
export class SqlFragment {
  constructor(readonly text: string) {}
}

export const raw = (text: string): SqlFragment => new SqlFragment(text);

function literal(value: string | number | bigint | SqlFragment): string {
  if (value instanceof SqlFragment) return value.text;
  if (typeof value === 'string') return str(value);
  if (typeof value === 'bigint') return int(value);
  if (typeof value === 'number') return Number.isInteger(value) ? int(value) : float(value);
  throw new SqlValueError(`unsupported SQL value type: ${typeof value}`);
}
