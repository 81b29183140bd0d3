import ipaddr from 'ipaddr.js';
import { canonicalPath, decodeToFixedPoint, pathText, type CanonicalPath } from './canonical-path.ts';

/**
 * URL de-identification. Everything a visitor could have typed or a site could have put into a URL
 * (emails, phone numbers, dates, record numbers, IP addresses, tokens) is replaced by a typed
 * placeholder before the URL goes anywhere. Checks run on canonical text (`canonical-path.ts`), so
 * encodings, full-width letters, invisible characters and non-ASCII digits do not hide a value.
 */
export const ALLOWED_QUERY_KEYS = [
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_content',
  'utm_term',
  'ref',
  'source',
] as const;
export type AllowedQueryKey = (typeof ALLOWED_QUERY_KEYS)[number];

export const PLACEHOLDERS = {
  email: ':email',
  phone: ':phone',
  id: ':id',
  token: ':token',
  date: ':date',
  ip: ':ip',
} as const;

const MAX_PATH_CHARS = 200;

/** Every decimal digit (`\p{Nd}`: Arabic-Indic, Devanagari, Thai, full-width…) as its ASCII digit. */
function asciiDigits(text: string): string {
  // eslint-disable-next-line no-control-regex
  if (!/[^\x00-\x7f]/.test(text)) return text;
  return text.replace(/\p{Nd}/gu, (d) => String(digitValue(d.codePointAt(0)!)));
}

const digitValues = new Map<number, number>();
/** Unicode lays out each script's digits as runs of ten from 0: a digit's value is its offset in its run. */
function digitValue(code: number): number {
  let value = digitValues.get(code);
  if (value === undefined) {
    let start = code;
    while (/\p{Nd}/u.test(String.fromCodePoint(start - 1))) start--;
    value = (code - start) % 10;
    digitValues.set(code, value);
  }
  return value;
}

// Obfuscated emails (`jane(at)x(dot)org`, `jane at x dot org`, `jane[at]x.org`): the spelled-out `@` and `.`
// are replaced first, then one plain pattern without nested quantifiers looks for an address, so no
// input makes the check backtrack.
const SPELLED_AT = /\s*(?:\(at\)|\[at\]|\{at\}|<at>)\s*|\s+at\s+|[_-]at[_-]/gi;
const SPELLED_DOT = /\s*(?:\(dot\)|\[dot\]|\{dot\}|<dot>)\s*|\s+dot\s+|[_-]dot[_-]/gi;
const ADDRESS = /[a-z0-9]@[a-z0-9-]+\.[a-z]{2,}/i;

function hasObfuscatedEmail(text: string): boolean {
  if (!/at/i.test(text)) return false;
  const spelled = text.replace(SPELLED_AT, '@');
  return spelled !== text && ADDRESS.test(spelled.replace(SPELLED_DOT, '.'));
}
const UUID = /[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}/i;
const SSN = /(^|\D)\d{3}[\s.-]\d{2}[\s.-]\d{4}(\D|$)/;
// Digits with the separators people write phone numbers with (a bare digit run is an id).
const PHONE = /[+(]?\d[\d\s().+-]{5,}\d/;
// An international number written without separators: +44…, 0044…
const PHONE_INTERNATIONAL = /(?:^|[^\d])(?:\+|00)[1-9]\d{7,14}(?!\d)/;
const DIGIT_RUN = /\d{6,}/;
const BARE_NUMBER = /^\s*#?\d{5,}\s*$/;
const LONG_HEX = /[0-9a-f]{16,}/i;
// Letters then at least 4 digits, optionally with separators: MRN12345, MRN:12345, pt12345, ID-12345, XYZ123456789.
const PREFIXED_ID = /(?:^|[^a-z0-9])[a-z]+[\s:#_.-]{0,3}(\d{4,})(?!\d)/gi;
// The Medicare Beneficiary Identifier: 1EG4-TE5-MK73.
const MBI = /(?:^|[^a-z0-9])\d[a-z][a-z0-9]\d-?[a-z][a-z0-9]\d-?[a-z]{2}\d{2}(?![a-z0-9])/i;
const IPV4_CANDIDATE = /(?:^|[^\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.]*\d)/g;
const IPV6_CANDIDATE = /[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?:\d{1,3}(?:\.\d{1,3}){3})?/gi;

const MONTH =
  '(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)';
const SEP = String.raw`[\s./_,-]*`;
const DAY = String.raw`(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?`;
const YEAR = String.raw`(?:\d{4}|\d{2})`;
const NAMED_DATE = new RegExp(
  String.raw`(?:^|[^a-z0-9])(?:${DAY}${SEP}${MONTH}${SEP}${YEAR}|${MONTH}${SEP}${DAY}${SEP}${YEAR}|\d{4}${SEP}${MONTH}${SEP}${DAY})(?![a-z0-9])`,
  'i',
);
const NUMERIC_DATE = /(?:^|\D)(\d{1,4})[\s./_-](\d{1,2})[\s./_-](\d{1,4})(?!\d)/g;
const COMPACT_DATE = /(?:^|\D)(\d{8})(?!\d)/g;

const isMonth = (m: number) => m >= 1 && m <= 12;
const isDay = (d: number) => d >= 1 && d <= 31;

/** Whether three numbers, as written, can be a calendar date: Y-M-D, D-M-Y or M-D-Y, years of 2 or 4 digits. */
function isDateTriple(a: string, b: string, c: string): boolean {
  const [x, y, z] = [Number(a), Number(b), Number(c)];
  if (a.length === 4) return isMonth(y) && isDay(z);
  if (a.length > 2 || b.length > 2 || (c.length !== 2 && c.length !== 4)) return false;
  return (isDay(x) && isMonth(y)) || (isMonth(x) && isDay(y));
}

function hasDate(text: string): boolean {
  if (NAMED_DATE.test(text)) return true;
  for (const m of text.matchAll(NUMERIC_DATE)) if (isDateTriple(m[1]!, m[2]!, m[3]!)) return true;
  for (const m of text.matchAll(COMPACT_DATE)) {
    const s = m[1]!;
    const yearFirst = /^(19|20)\d\d/.test(s) && isMonth(Number(s.slice(4, 6))) && isDay(Number(s.slice(6)));
    const yearLast = /(19|20)\d\d$/.test(s) && isDateTriple(s.slice(0, 2), s.slice(2, 4), s.slice(4));
    if (yearFirst || yearLast) return true;
  }
  return false;
}

function hasIp(text: string): boolean {
  for (const m of text.matchAll(IPV4_CANDIDATE)) if (ipaddr.IPv4.isValidFourPartDecimal(m[1]!)) return true;
  if (text.includes(':'))
    for (const m of text.matchAll(IPV6_CANDIDATE))
      if (m[0].length > 2 && /[0-9a-f]/i.test(m[0]) && ipaddr.IPv6.isValid(m[0])) return true;
  return false;
}

function hasPrefixedId(text: string): boolean {
  for (const m of text.matchAll(PREFIXED_ID)) {
    const digits = m[1]!;
    // `flu-season-2024`, `covid2019`: a year after a word is not a record number.
    if (digits.length === 4 && /^(19|20)\d\d$/.test(digits)) continue;
    return true;
  }
  return MBI.test(text);
}

/** The placeholder for a piece of text that looks identifying, or null if it looks harmless. */
export function classifyText(raw: string): string | null {
  const text = asciiDigits(raw.normalize('NFKC'));
  if (text.includes('@') || hasObfuscatedEmail(text)) return PLACEHOLDERS.email;
  if (UUID.test(text)) return PLACEHOLDERS.id;
  const hasDigit = /\d/.test(text);
  if (hasDigit || text.includes(':')) {
    if (hasIp(text)) return PLACEHOLDERS.ip;
  }
  if (hasDigit) {
    if (SSN.test(text)) return PLACEHOLDERS.id;
    // A number with separators and more digits than any date has is a phone number, wherever its digits group.
    const phone = PHONE.exec(text)?.[0];
    const phoneDigits = phone && /[\s().+-]/.test(phone) ? phone.replace(/\D/g, '').length : 0;
    if (phoneDigits >= 9 || PHONE_INTERNATIONAL.test(text)) return PLACEHOLDERS.phone;
    if (hasDate(text)) return PLACEHOLDERS.date;
    if (phoneDigits >= 7) return PLACEHOLDERS.phone;
    if (hasPrefixedId(text)) return PLACEHOLDERS.id;
    const digits = text.replace(/\D/g, '').length;
    // A bare number of 5 digits or more is a record, account or ZIP code (4 digits may be a year).
    if (DIGIT_RUN.test(text) || digits >= 9 || BARE_NUMBER.test(text)) return PLACEHOLDERS.id;
    if (LONG_HEX.test(text)) return PLACEHOLDERS.token;
  }
  if (/^eyJ/.test(text)) return PLACEHOLDERS.token;
  // A base64url token stays one even when its `_` and `-` cut it into short runs: a long run mixing
  // digits and both cases with a capital inside a word, which a slug or a title never has.
  for (const run of text.match(/[A-Za-z0-9_-]{16,}/g) ?? []) {
    if (!/\d/.test(run) || !/[a-z]/.test(run) || !/[A-Z]/.test(run)) continue;
    if (run.split(/[_-]/).some((part) => /[a-z0-9][A-Z]/.test(part))) return PLACEHOLDERS.token;
  }
  // A long run without word separators that mixes letters and digits (or case) is a token, not a slug.
  for (const part of text.split(/[\s._~-]+/)) {
    if (part.length >= 16 && /\d/.test(part) && /[a-z]/i.test(part)) return PLACEHOLDERS.token;
    if (part.length >= 20 && /[a-z]/.test(part) && /[A-Z]/.test(part) && /[a-z][A-Z]|[A-Z]{2}[a-z]/.test(part.slice(1)))
      return PLACEHOLDERS.token;
  }
  return null;
}

/**
 * Scrubs canonical segments: each identifying segment becomes its placeholder, and a date written across
 * segments (`/dob/03/12/1984`) becomes one `:date`. Length bounded.
 */
export function scrubSegments(path: CanonicalPath): string {
  const out: string[] = [];
  const { segments } = path;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const span = dateSpan(segments, i);
    if (span > 0) {
      out.push(PLACEHOLDERS.date);
      i += span - 1;
      continue;
    }
    out.push(classifyText(segment) ?? segment);
  }
  let text = pathText({ segments: out, trailingSlash: path.trailingSlash });
  if (text.length > MAX_PATH_CHARS) {
    const cut = text.slice(0, MAX_PATH_CHARS);
    text = cut.slice(0, Math.max(1, cut.lastIndexOf('/'))) + '/:truncated';
  }
  return text;
}

// A segment that can be part of a date: a number, a month name, `3rd,`, `12-mar`.
const DATE_PART = /^[\p{L}\p{Nd},-]{1,12}$/u;

/** How many segments from `i` (3 or 2, 0 for none) spell a date together: `/03/12/1984`, `/Jan/1/1930`, `/12-mar/84`. */
function dateSpan(segments: readonly string[], i: number): number {
  for (const span of [3, 2]) {
    if (i + span > segments.length) continue;
    const parts = segments.slice(i, i + span);
    // Every date has digits: most spans are ruled out here.
    if (!/\p{Nd}/u.test(parts[0]!) && !/\p{Nd}/u.test(parts[1]!)) return 0;
    if (!parts.every((p) => DATE_PART.test(p))) continue;
    const date = (list: string[]) => hasDate(asciiDigits(list.join('/')));
    // Only when the date needs every segment of the span: `/dob/3-12-84` is a date in one segment.
    if (date(parts) && !date(parts.slice(1)) && !date(parts.slice(0, -1))) return span;
  }
  return 0;
}

/** Canonicalises and scrubs a raw URL path; `/:invalid` when it does not canonicalise. */
export function scrubPath(rawPath: string): string {
  const canonical = canonicalPath(rawPath);
  return canonical ? scrubSegments(canonical) : INVALID_PATH;
}

/** What a path that does not decode to a fixed point is stored as. */
export const INVALID_PATH = '/:invalid';

/** An absolute http(s) URL (or one relative to `base`), or null. */
export function parseWebUrl(raw: string, base?: string): URL | null {
  let url: URL;
  try {
    url = new URL(raw.trim(), base);
  } catch {
    return null;
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? url : null;
}

/** The raw (still encoded) values of the allowlisted query keys, first occurrence of each. */
export function allowedQueryValues(search: string): Partial<Record<AllowedQueryKey, string>> {
  const query: Partial<Record<AllowedQueryKey, string>> = {};
  if (search.length < 2) return query;
  for (const pair of search.slice(1).split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    const key = (decodeToFixedPoint(pair.slice(0, eq)) ?? '').trim().toLowerCase() as AllowedQueryKey;
    if (!ALLOWED_QUERY_KEYS.includes(key) || query[key] !== undefined) continue;
    query[key] = pair.slice(eq + 1);
  }
  return query;
}

export type ScrubbedUrl = { host: string; path: string };

/** An absolute http(s) URL reduced to its host and scrubbed canonical path; null when not a web URL. */
export function scrubUrl(raw: string, base?: string): ScrubbedUrl | null {
  const url = parseWebUrl(raw, base);
  if (!url) return null;
  return { host: urlHost(url), path: scrubPath(url.pathname) };
}

/** The URL's host name, lower case, without a trailing dot or IPv6 brackets. */
export function urlHost(url: URL): string {
  return url.hostname
    .toLowerCase()
    .replace(/\.$/, '')
    .replace(/^\[(.*)\]$/, '$1');
}
