import fc from 'fast-check';
import { NAMES } from './planted-values.ts';

/**
 * fast-check generators of identifying values in the spellings people and systems write them,
 * each with what must not survive (`pii`, searched canonically as in pii-search.ts).
 */
export type GeneratedPii = { kind: string; value: string; pii: string[] };

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const pad = (n: number) => String(n).padStart(2, '0');

/** Separators that keep a value inside one path segment (a `/` would make it several). */
export const SEGMENT_SEPARATORS = ['-', '.', '_', ' ', ''] as const;

export const dateOfBirth = (separators: readonly string[] = SEGMENT_SEPARATORS): fc.Arbitrary<GeneratedPii> =>
  fc
    .record({
      year: fc.integer({ min: 1925, max: 2024 }),
      month: fc.integer({ min: 1, max: 12 }),
      day: fc.integer({ min: 1, max: 28 }),
      sep: fc.constantFrom(...separators),
      layout: fc.constantFrom(
        'ymd',
        'mdy',
        'dmy',
        'mdy-short',
        'dmy-short',
        'month-dy',
        'd-month-y',
        'd-mon-y',
        'y-mon-d',
      ),
      padded: fc.boolean(),
      upper: fc.boolean(),
    })
    .map(({ year, month, day, sep, layout, padded, upper }) => {
      const m = padded ? pad(month) : String(month);
      const d = padded ? pad(day) : String(day);
      const yy = pad(year % 100);
      const name = MONTHS[month - 1]!;
      const mon = name.slice(0, 3);
      const cased = (s: string) => (upper ? s.toUpperCase() : s.toLowerCase());
      // Unpadded numeric parts without a separator are ambiguous (1112024): always padded then.
      const num = (a: string, b: string) => (sep === '' ? [a.padStart(2, '0'), b.padStart(2, '0')] : [a, b]);
      let value: string;
      switch (layout) {
        case 'ymd':
          value = [String(year), pad(month), pad(day)].join(sep);
          break;
        case 'mdy':
          value = [...num(m, d), String(year)].join(sep);
          break;
        case 'dmy':
          value = [...num(d, m), String(year)].join(sep);
          break;
        case 'mdy-short':
          value = [...num(m, d), yy].join(sep || '-');
          break;
        case 'dmy-short':
          value = [...num(d, m), yy].join(sep || '.');
          break;
        case 'month-dy':
          value = [cased(name), d, String(year)].join(sep || '-');
          break;
        case 'd-month-y':
          value = [d, cased(name), String(year)].join(sep);
          break;
        case 'd-mon-y':
          value = [d, cased(mon), String(year)].join(sep || '-');
          break;
        default:
          value = [String(year), cased(mon), pad(day)].join(sep || '-');
      }
      return { kind: 'date', value, pii: [value] };
    });

export const phoneNumber: fc.Arbitrary<GeneratedPii> = fc
  .record({
    country: fc.constantFrom('us', 'uk', 'de', 'fr', 'in', 'au'),
    digits: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 12, maxLength: 12 }),
    sep: fc.constantFrom(' ', '-', '.'),
    international: fc.boolean(),
  })
  .map(({ country, digits, sep, international }) => {
    const d = (from: number, n: number) => digits.slice(from, from + n).join('');
    // Area codes never start with 0 or 1 here, so the national and international forms stay numbers of that country.
    const lead = String(2 + (digits[0]! % 7));
    const groups: Record<string, [string, string[]]> = {
      us: ['+1', [`${lead}${d(1, 2)}`, d(3, 3), d(6, 4)]],
      uk: ['+44', [`7${d(1, 3)}`, d(4, 6)]],
      de: ['+49', [`${lead}${d(1, 1)}`, d(2, 8)]],
      fr: ['+33', [lead, d(1, 2), d(3, 2), d(5, 2), d(7, 2)]],
      in: ['+91', [`9${d(1, 4)}`, d(5, 5)]],
      au: ['+61', [lead, d(1, 4), d(5, 4)]],
    };
    const [code, parts] = groups[country]!;
    const national = country === 'us' ? parts : [`0${parts[0]}`, ...parts.slice(1)];
    const value = international ? `${code}${sep}${parts.join(sep)}` : national.join(sep);
    return { kind: 'phone', value, pii: [value] };
  });

export const recordNumber: fc.Arbitrary<GeneratedPii> = fc
  .record({
    prefix: fc.constantFrom('MRN', 'mrn', 'PT', 'pt', 'ID', 'Acct', 'MBR', 'XYZ', 'HP', 'Chart', 'SSN'),
    sep: fc.constantFrom('', '-', ':', '_', '#', ' '),
    digits: fc.stringMatching(/^[0-9]{5,10}$/),
  })
  .map(({ prefix, sep, digits }) => ({ kind: 'record', value: `${prefix}${sep}${digits}`, pii: [digits] }));

const ascii = NAMES.map((n) => n.slug.split('-'));
export const emailAddress: fc.Arbitrary<GeneratedPii> = fc
  .record({
    name: fc.constantFrom(...ascii),
    number: fc.integer({ min: 10, max: 9999 }),
    domain: fc.constantFrom('gmail.com', 'yahoo.co.uk', 'outlook.de', 'mail.ru', 'qq.com', 'hotmail.fr'),
    at: fc.constantFrom('@', '(at)', '[at]', ' at ', ' {at} ', '＠', '%40', ' @ '),
    dot: fc.constantFrom('.', '.', ' dot ', '[dot]'),
  })
  .map(({ name, number, domain, at, dot }) => {
    const local = `${name[0]}.${name[name.length - 1]}${number}`;
    const host = dot === '.' ? domain : domain.replaceAll('.', dot);
    return { kind: 'email', value: `${local}${at}${host}`, pii: [local] };
  });

const octet = fc.integer({ min: 0, max: 255 });
export const ipAddress: fc.Arbitrary<GeneratedPii> = fc.oneof(
  fc.tuple(fc.integer({ min: 11, max: 223 }), octet, octet, fc.integer({ min: 11, max: 254 })).map((o) => {
    const value = o.join('.');
    return { kind: 'ipv4', value, pii: [value] };
  }),
  fc.array(fc.integer({ min: 0x1000, max: 0xffff }), { minLength: 4, maxLength: 4 }).map((g) => {
    const hex = g.map((n) => n.toString(16));
    const value = `2001:db8:${hex[0]}:${hex[1]}::${hex[2]}:${hex[3]}`;
    return { kind: 'ipv6', value, pii: [`${hex[0]}:${hex[1]}`, `${hex[2]}:${hex[3]}`] };
  }),
);

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('');
const base64url = (min: number, max: number) =>
  fc
    .array(fc.constantFrom(...B64URL), { minLength: min, maxLength: max })
    .map((c) => c.join(''))
    // A real token mixes cases and digits (an all-letter run is a word).
    .filter((s) => /[a-z]/.test(s) && /[A-Z]/.test(s) && /[0-9]/.test(s));
export const secretToken: fc.Arbitrary<GeneratedPii> = fc
  .oneof(
    fc.stringMatching(/^[0-9a-f]{32,64}$/).filter((s) => /[0-9]/.test(s) && /[a-f]/.test(s)),
    base64url(24, 48),
    fc.tuple(base64url(20, 30), base64url(20, 40), base64url(30, 43)).map(([h, p, s]) => `eyJ${h}.eyJ${p}.${s}`),
  )
  .map((value) => ({ kind: 'token', value, pii: [value.length > 40 ? value.slice(-30) : value] }));

/** Generators by kind; `separators` are those a date may use (a path segment takes no `/`). */
export const PII_KINDS = {
  'date of birth': (separators: readonly string[]) => dateOfBirth(separators),
  'phone number': () => phoneNumber,
  'record number': () => recordNumber,
  email: () => emailAddress,
  'IP address': () => ipAddress,
  token: () => secretToken,
} satisfies Record<string, (separators: readonly string[]) => fc.Arbitrary<GeneratedPii>>;

/** Zeros of decimal digit scripts other than ASCII (Arabic-Indic, Persian, Devanagari, Bengali, Thai, full-width). */
const DIGIT_ZEROS = [0x660, 0x6f0, 0x966, 0x9e6, 0xe50, 0xff10];

/** A spelling of a value: its digits in another script, zero-width characters inserted, percent-encoded 0 to 3 times. */
export type Disguise = { script: number | null; zeroWidth: Array<[number, string]>; encodings: number };

export const disguise: fc.Arbitrary<Disguise> = fc.record({
  script: fc.option(fc.constantFrom(...DIGIT_ZEROS), { freq: 3 }),
  zeroWidth: fc.array(fc.tuple(fc.nat(), fc.constantFrom('\u200b', '\u200c', '\u200d', '\ufeff', '\u00ad', '\u2060')), {
    maxLength: 3,
  }),
  encodings: fc.integer({ min: 0, max: 3 }),
});

/** Kinds whose digits people write in their own script; addresses and tokens are ASCII (or full-width) by nature. */
const LOCAL_DIGITS = new Set(['date', 'phone', 'record', 'email']);

/** The disguised text before percent-encoding (encoding is applied where the value is put in a URL). */
export function disguised(pii: GeneratedPii, d: Disguise): string {
  const script = d.script !== null && (LOCAL_DIGITS.has(pii.kind) || d.script === 0xff10) ? d.script : null;
  // Digits of a percent-escape stay ASCII: they encode a character, they are not the value's digits.
  let out =
    script === null
      ? pii.value
      : pii.value.replace(/%[0-9a-f]{2}|[0-9]/gi, (c) => (c.length > 1 ? c : String.fromCodePoint(script + Number(c))));
  for (const [at, mark] of d.zeroWidth) {
    const i = at % (out.length + 1);
    out = out.slice(0, i) + mark + out.slice(i);
  }
  return out;
}
