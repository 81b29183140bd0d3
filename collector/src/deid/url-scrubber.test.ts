import fc from 'fast-check';
import { practiceSchema } from '@confidant/shared';
import { describe, expect, it } from 'vitest';
import { decodeToFixedPoint } from './canonical-path.ts';
import { freeTextValue } from './free-text.ts';
import { pageStep, type PageFacts } from './pipeline.ts';
import { scrubPath, scrubUrl } from './url-scrubber.ts';

// No page classes: every page is scrubbed and stored, none is folded into a class name.
const practice = practiceSchema.parse({
  id: 'clinic',
  siteKey: 'site-clinic',
  name: 'Clinic',
  domains: ['clinic.example'],
  timezone: 'UTC',
  pageClasses: [],
});
/** What the page step stores of a URL (path and campaign values), or null when it refuses the URL. */
function scrubbedPage(url: string): PageFacts | null {
  const result = pageStep(url, practice);
  return result.kind === 'ok' ? result.value : null;
}

/** Each URL carries the listed secrets; none may survive, in any case or encoding. */
const CORPUS: Array<[string, string[]]> = [
  ['https://clinic.example/patients/jane.doe@gmail.com', ['jane.doe', 'gmail']],
  ['https://clinic.example/patients/jane.doe%40gmail.com/records', ['jane.doe', 'gmail']],
  ['https://clinic.example/patients/jane.doe%2540gmail.com', ['jane.doe', 'gmail']],
  ['https://clinic.example/patients/jane.doe%252540gmail.com', ['jane.doe', 'gmail']],
  ['https://clinic.example/u/JOHN.SMITH@OUTLOOK.COM', ['JOHN.SMITH', 'john.smith', 'OUTLOOK']],
  ['https://clinic.example/contact?email=jane@x.org', ['jane', 'x.org']],
  ['https://clinic.example/contact?utm_source=jane@x.org', ['jane', 'x.org']],
  ['https://clinic.example/contact?utm_source=jane%40x.org', ['jane', 'x.org']],
  ['https://clinic.example/contact?utm_campaign=jane+doe%40x.org', ['jane', 'x.org']],
  ['https://clinic.example/contact?UTM_SOURCE=bob%2540mail.com', ['bob', 'mail.com']],
  ['https://clinic.example/call/555-123-4567', ['555-123-4567', '4567']],
  ['https://clinic.example/call/(555)%20123-4567', ['4567']],
  ['https://clinic.example/call/+1%20555%20123%204567', ['4567']],
  ['https://clinic.example/call/+15551234567', ['5551234567']],
  ['https://clinic.example/call/555.123.4567', ['4567']],
  ['https://clinic.example/call?utm_term=555-123-4567', ['4567']],
  ['https://clinic.example/call?ref=%2B44%2020%207946%200958', ['0958', '7946']],
  ['https://clinic.example/ssn/123-45-6789', ['6789']],
  ['https://clinic.example/ssn/123%2045%206789', ['6789']],
  ['https://clinic.example/ssn/123.45.6789/view', ['6789']],
  ['https://clinic.example/verify?utm_content=123-45-6789', ['6789']],
  ['https://clinic.example/mrn/12345678', ['12345678']],
  ['https://clinic.example/mrn/MRN-0012345', ['0012345']],
  ['https://clinic.example/patient/p987654321/chart', ['987654321']],
  ['https://clinic.example/records/100234', ['100234']],
  ['https://clinic.example/dob/1980-05-12', ['1980-05-12']],
  ['https://clinic.example/r/550e8400-e29b-41d4-a716-446655440000', ['550e8400', '446655440000']],
  ['https://clinic.example/r/550E8400E29B41D4A716446655440000', ['550E8400', '446655440000']],
  ['https://clinic.example/r?utm_medium=550e8400-e29b-41d4-a716-446655440000', ['550e8400']],
  ['https://clinic.example/reset/9f86d081884c7d659a2feaa0c55ad015', ['9f86d081884c7d65']],
  ['https://clinic.example/reset/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqYW5lIn0.sig', ['eyJhbGci', 'eyJzdWIi']],
  ['https://clinic.example/s/dGVzdHVzZXJAZXhhbXBsZS5jb20', ['dGVzdHVzZXJAZXhhbXBsZS5jb20']],
  ['https://clinic.example/s/aB3dE5fG7hJ9kL1mN2pQ', ['aB3dE5fG7hJ9kL1mN2pQ']],
  ['https://clinic.example/s/AbCdEfGhIjKlMnOpQrStUv', ['AbCdEfGhIjKlMnOpQrStUv']],
  ['https://clinic.example/page#jane@x.org', ['jane', 'x.org']],
  ['https://clinic.example/page#phone=5551234567', ['5551234567']],
  ['https://clinic.example/page?name=Jane+Doe&dob=1980-05-12', ['Jane', 'Doe', '1980']],
  ['https://clinic.example/page?first_name=Jane&last_name=Doe', ['Jane', 'Doe']],
  ['https://clinic.example/page?q=chest+pain+jane', ['chest', 'pain', 'jane']],
  ['https://clinic.example/page?session=abc123def456ghi789', ['abc123def456ghi789']],
  ['https://clinic.example/page?token=s3cr3t&utm_source=newsletter', ['s3cr3t']],
  ['https://clinic.example/page?utm_source=newsletter&patient_id=99887766', ['99887766']],
  ['https://clinic.example/page?utm%5Fsource=x&insurance=AB1234567', ['AB1234567']],
  ['https://clinic.example/page;jsessionid=A1B2C3D4E5F6G7H8', ['A1B2C3D4E5F6G7H8']],
  ['https://clinic.example/a;email=jane@x.org/b', ['jane', 'x.org']],
  ['https://clinic.example/pay/4111111111111111', ['4111111111111111']],
  ['https://clinic.example/pay/4111-1111-1111-1111', ['1111-1111']],
  ['https://clinic.example/fax/555%2D123%2D4567', ['4567']],
  ['https://clinic.example/x/%6a%61%6e%65%40%78%2e%6f%72%67', ['jane', 'x.org']],
  ['https://clinic.example/x/%E2%80%8Bjane@x.org', ['jane']],
  ['https://clinic.example/x/jane＠x.org', ['jane']],
  ['https://clinic.example/x/%25ZZjane@x.org', ['jane']],
  ['https://clinic.example/x/%2Fjane@x.org%2F', ['jane']],
  ['https://clinic.example/lab/results/00042/patient-5551234', ['5551234']],
  [
    'https://clinic.example/appt?utm_source=jane.doe%40gmail.com&utm_medium=email&utm_campaign=recall-555-0199-1234',
    ['jane.doe', '0199'],
  ],
  ['https://clinic.example/a?ref=https%3A%2F%2Fmail.example%2F%3Fu%3Djane%40x.org', ['jane']],
  ['https://clinic.example/member/ZX9876543210', ['9876543210']],
  ['https://clinic.example/user:jane@x.org@clinic', ['jane']],
];

describe('scrubUrl corpus', () => {
  it('has at least 50 PII-laden URLs', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(50);
  });

  it.each(CORPUS)('leaks nothing from %s', (url, secrets) => {
    const scrubbed = scrubbedPage(url);
    expect(scrubbed).not.toBeNull();
    const text = JSON.stringify(scrubbed).toLowerCase();
    for (const secret of secrets) expect(text).not.toContain(secret.toLowerCase());
    expect(text).not.toContain('@');
    expect(text).not.toContain('＠');
  });
});

describe('scrubUrl rules', () => {
  it('keeps ordinary paths and allowlisted campaign values', () => {
    expect(
      scrubbedPage(
        'https://Clinic.Example/services/cardiology/?utm_source=Google&utm_medium=cpc&utm_term=Knee&x=1#top',
      ),
    ).toEqual({
      page: '/services/cardiology/',
      countOnly: false,
      utmSource: 'google',
      utmMedium: 'cpc',
      utmCampaign: null,
      utmTerm: 'knee',
      utmContent: null,
      paid: false,
    });
    expect(scrubUrl('https://Clinic.Example./a')).toEqual({ host: 'clinic.example', path: '/a' });
  });

  it('replaces identifying segments with typed placeholders', () => {
    expect(
      scrubPath(
        '/a/jane@x.org/b/555-123-4567/c/123-45-6789/d/1234567/e/550e8400-e29b-41d4-a716-446655440000/f/deadbeefcafebabe1f2e',
      ),
    ).toBe('/a/:email/b/:phone/c/:id/d/:id/e/:id/f/:token');
  });

  it('keeps readable slugs, short numbers and years', () => {
    expect(scrubPath('/blog/2024/05/managing-seasonal-allergies-in-children')).toBe(
      '/blog/2024/05/managing-seasonal-allergies-in-children',
    );
    expect(scrubPath('/doctors/dr-maria-lopez')).toBe('/doctors/dr-maria-lopez');
  });

  it('drops values that decode to nothing and refuses non-web URLs', () => {
    expect(freeTextValue('%20+')).toBeNull();
    expect(scrubUrl('javascript:alert(1)')).toBeNull();
    expect(scrubUrl('not a url')).toBeNull();
  });

  it('decodes repeatedly, tolerating malformed escapes', () => {
    expect(decodeToFixedPoint('a%252540b')).toBe('a@b');
    expect(decodeToFixedPoint('100%+sure%40x')).toBe('100% sure@x');
  });

  it('bounds path length', () => {
    const path = scrubPath('/' + 'abc/'.repeat(100));
    expect(path.length).toBeLessThanOrEqual(220);
    expect(path.endsWith('/:truncated')).toBe(true);
  });
});

const local = fc.stringMatching(/^[a-z][a-z0-9._]{2,12}$/);
const email = fc
  .tuple(local, fc.stringMatching(/^[a-z]{3,10}$/), fc.constantFrom('com', 'org', 'net'))
  .map(([u, d, t]) => `${u}@${d}.${t}`);
const phone = fc
  .tuple(
    fc.integer({ min: 200, max: 999 }),
    fc.integer({ min: 200, max: 999 }),
    fc.integer({ min: 1000, max: 9999 }),
    fc.constantFrom('-', '.', ' ', ''),
  )
  .map(([a, b, c, sep]) => `${a}${sep}${b}${sep}${c}`);
const ssn = fc
  .tuple(fc.integer({ min: 100, max: 899 }), fc.integer({ min: 10, max: 99 }), fc.integer({ min: 1000, max: 9999 }))
  .map(([a, b, c]) => `${a}-${b}-${c}`);
const secret = fc.oneof(email, phone, ssn);
const encode = fc.constantFrom(
  (s: string) => s,
  (s: string) => encodeURIComponent(s),
  (s: string) => encodeURIComponent(encodeURIComponent(s)),
  (s: string) => s.replace(/@/g, '%40').replace(/ /g, '+'),
);
const where = fc.constantFrom(
  (s: string) => `https://clinic.example/p/${s}`,
  (s: string) => `https://clinic.example/p/x-${s}-y/z`,
  (s: string) => `https://clinic.example/p?utm_source=${s}`,
  (s: string) => `https://clinic.example/p?utm_campaign=a${s}b`,
  (s: string) => `https://clinic.example/p?other=${s}`,
  (s: string) => `https://clinic.example/p#${s}`,
  (s: string) => `https://clinic.example/p;s=${s}/q`,
);

describe('scrubUrl properties', () => {
  it('never lets an email, phone number or SSN through, however encoded or placed', () => {
    fc.assert(
      fc.property(secret, encode, where, (value, enc, place) => {
        const scrubbed = scrubbedPage(place(enc(value)));
        // Only what came from the input: the fixed host and the :placeholders could contain a short local part by chance.
        const out = scrubbed
          ? [scrubbed.page, scrubbed.utmSource, scrubbed.utmMedium, scrubbed.utmCampaign]
              .join(' ')
              .replace(/:[a-z]+/g, ' ')
          : '';
        const digits = value.replace(/\D/g, '');
        if (value.includes('@')) expect(out).not.toContain(value.split('@')[0]);
        if (digits) expect(out.replace(/\D/g, '')).not.toContain(digits.slice(-7));
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws and always yields a bounded path for arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (tail) => {
        const out = scrubUrl(`https://clinic.example/${tail}`);
        if (out) expect(out.path.length).toBeLessThanOrEqual(220);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('patterns (issue 16)', () => {
  const path = (p: string) => scrubPath(p);

  it.each([
    ['/dob/3-12-84', '/dob/:date'],
    ['/dob/12.3.84', '/dob/:date'],
    ['/dob/March-12-1984', '/dob/:date'],
    ['/dob/12-mar-1984', '/dob/:date'],
    ['/dob/Dec 3rd, 1984', '/dob/:date'],
    ['/dob/1984-Sept-03', '/dob/:date'],
    ['/dob/1984_03_12', '/dob/:date'],
    ['/dob/19840312', '/dob/:date'],
    ['/dob/03121984', '/dob/:date'],
    ['/dob/1980-05-12', '/dob/:date'],
    ['/dob/03/12/1984/chart', '/dob/:date/chart'],
    ['/r/MRN12345', '/r/:id'],
    ['/r/MRN:12345', '/r/:id'],
    ['/r/pt12345', '/r/:id'],
    ['/r/ID-12345', '/r/:id'],
    ['/r/XYZ123456789', '/r/:id'],
    ['/r/case%20%2312345', '/r/:id'],
    ['/r/1EG4-TE5-MK73', '/r/:id'],
    ['/h/10.0.0.1', '/h/:ip'],
    ['/h/2001:db8::1', '/h/:ip'],
    ['/h/::ffff:192.0.2.1', '/h/:ip'],
    ['/d/\u0661\u0662\u0663\u0664\u0665\u0666\u0667', '/d/:id'],
    ['/d/\u0e51\u0e52\u0e53-\u0e51\u0e52\u0e53-\u0e51\u0e52\u0e53\u0e54', '/d/:phone'],
    ['/d/\u0966\u0967\u0968\u0969\u096a\u096b\u096c', '/d/:id'],
    ['/e/john.doe(at)gmail.com', '/e/:email'],
    ['/e/john.doe%20(at)%20gmail%20(dot)%20com', '/e/:email'],
    ['/e/jane%20at%20x%20dot%20org', '/e/:email'],
    ['/e/jane[at]x[dot]org', '/e/:email'],
    ['/e/jane%40x.org', '/e/:email'],
    ['/e/jane%25252525252540x.org', '/e/:email'],
    ['/call/+44%2020%207946%200958', '/call/:phone'],
    ['/call/+49%2030%2012345678', '/call/:phone'],
    ['/call/+4915112345678', '/call/:phone'],
    ['/call/+33%201%2023%2045%2067%2089', '/call/:phone'],
    ['/call/+91%2098765%2043210', '/call/:phone'],
    ['/call/+61%202%209876%205432', '/call/:phone'],
    ['/call/(02)%209876%205432', '/call/:phone'],
    ['/records/12345', '/records/:id'],
    ['/zip/02115', '/zip/:id'],
    ['/zip/02115-1234', '/zip/:phone'],
  ])('%s → %s', (raw, expected) => {
    expect(path(raw)).toBe(expected);
  });

  it.each([
    '/blog/2024/05/managing-seasonal-allergies',
    '/blog/flu-season-2024',
    '/blog/covid-19-vaccine-faq',
    '/blog/top-10-tips-for-healthy-hearts',
    '/services/cardiology',
    '/doctors/dr-maria-lopez',
    '/locations/springfield',
    '/careers/medical-assistant',
    '/blog/march-madness-and-knee-injuries',
    '/insurance/accepted-plans',
  ])('keeps the ordinary path %s', (ordinary) => {
    expect(path(ordinary)).toBe(ordinary);
  });

  it('replaces a path that does not canonicalise', () => {
    expect(path('/' + 'a%'.repeat(5000))).toBe('/:invalid');
  });
});

describe('scrubbing cost', () => {
  // Inputs that made a nested-quantifier email pattern backtrack exponentially (25 repeats: 46 s); each
  // must finish far inside the test's timeout however long it is.
  it.each([
    ['spelled separators', 'x at y' + '-dot-y'.repeat(300) + '-dot-1'],
    ['dotted digits', 'x at y' + '.1'.repeat(900)],
    ['letters and digits', 'ab1-'.repeat(450)],
    ['month names', '12-mar-'.repeat(250)],
    ['colons', '1:'.repeat(900)],
  ])('stays fast on %s', (_, text) => {
    expect(() => scrubPath(`/${text}`)).not.toThrow();
  });
});

const MONTHS = ['Jan', 'February', 'mar', 'April', 'May', 'JUNE', 'Jul', 'August', 'Sept', 'oct', 'Nov', 'December'];
const dateOfBirth = fc
  .tuple(
    fc.integer({ min: 1930, max: 2024 }),
    fc.integer({ min: 1, max: 12 }),
    fc.integer({ min: 1, max: 28 }),
    fc.constantFrom('-', '.', '/', '_', ' ', ''),
    fc.integer({ min: 0, max: 6 }),
    fc.boolean(),
  )
  .map(([y, m, d, sep, shape, pad]) => {
    const p = (n: number) => (pad ? String(n).padStart(2, '0') : String(n));
    const yy = String(y % 100).padStart(2, '0');
    const s = sep === '' ? '-' : sep;
    return [
      `${y}${sep}${String(m).padStart(2, '0')}${sep}${String(d).padStart(2, '0')}`,
      `${p(m)}${s}${p(d)}${s}${yy}`,
      `${p(d)}${s}${p(m)}${s}${y}`,
      `${MONTHS[m - 1]}${s}${d}${s}${y}`,
      `${d}${s}${MONTHS[m - 1]}${s}${yy}`,
      `${MONTHS[m - 1]} ${d}, ${y}`,
      `${y}${s}${MONTHS[m - 1]}${s}${p(d)}`,
    ][shape]!;
  });
const ipLiteral = fc.oneof(
  fc.ipV4(),
  fc.ipV6().filter((ip) => /[0-9a-f]/i.test(ip) && ip.length > 2),
);
const prefixedId = fc
  .tuple(
    fc.stringMatching(/^[A-Za-z]{1,6}$/),
    fc.constantFrom('', ':', '-', '#', '_'),
    fc.integer({ min: 10000, max: 999999999 }),
  )
  .map(([letters, sep, n]) => `${letters}${sep}${n}`);
const nonAsciiDigits = (zero: number) => (s: string) => s.replace(/\d/g, (d) => String.fromCodePoint(zero + Number(d)));

describe('pattern properties', () => {
  it('removes every generated date of birth, IP literal and record number, in a path or a campaign value', () => {
    fc.assert(
      fc.property(
        fc.oneof(dateOfBirth, ipLiteral, prefixedId),
        fc.constantFrom(0x30, 0x660, 0x966, 0xe50),
        fc.boolean(),
        (secret, zero, inQuery) => {
          const written = secret.includes(':') ? secret : nonAsciiDigits(zero)(secret);
          const url = inQuery
            ? `https://clinic.example/p?utm_campaign=${encodeURIComponent(written)}`
            : `https://clinic.example/p/${encodeURIComponent(written)}/x`;
          const page = scrubbedPage(url);
          expect(page).not.toBeNull();
          const out = [page!.page, page!.utmCampaign].join(' ');
          expect(out).toMatch(/:(date|ip|id|phone|token)|\(other\)/);
          expect(out.replace(/:[a-z]+/g, '')).not.toMatch(/\p{Nd}{2}/u);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
