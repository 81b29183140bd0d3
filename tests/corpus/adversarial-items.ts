import {
  encodeTimes,
  logLine,
  oneOf,
  ORIGIN,
  pageview,
  type CorpusItem,
  type FieldExpectation,
} from './corpus-item.ts';
import {
  DATES_OF_BIRTH,
  EMAILS,
  ENCODED_EMAIL,
  FOREIGN_DIGITS,
  IPS,
  NAMES,
  PHONES,
  RECORD_NUMBERS,
  TOKENS,
  type Planted,
} from './planted-values.ts';

/** The declared event the corpus practice allows properties on (see corpus-practice.ts). */
export const DECLARED_EVENT = 'Book appointment';

const placeholders = (p: Planted): string[] => (Array.isArray(p.placeholder) ? p.placeholder : [p.placeholder]);
/** `/prefix/<placeholder>` for each acceptable placeholder. */
const pathWith = (prefix: string, p: Planted, suffix = ''): FieldExpectation => {
  const options = placeholders(p).map((ph) => `${prefix}/${ph}${suffix}`);
  return options.length === 1 ? options[0]! : oneOf(...options);
};
/** A free-text value that carries PII: replaced whole, by its placeholder or by `(other)`. */
const unsafeValue = (p: Planted): FieldExpectation => oneOf('(other)', ...placeholders(p));
const piiOf = (p: Planted): string[] => p.pii ?? [p.value];

/** Query parameters that reach the envelope, and the field each fills. */
const PARAMS = [
  ['utm_campaign', 'utmCampaign'],
  ['utm_source', 'utmSource'],
  ['utm_medium', 'utmMedium'],
  ['ref', 'utmSource'],
  ['source', 'utmSource'],
] as const;
const PATH_PREFIXES = ['/lookup', '/thank-you', '/share', '/search'];

/**
 * Every embedding of one identifying value: alone in a path segment (beacon and log line),
 * inside a slug, in a kept query parameter, an event name, a property value, a download
 * path on the practice's host, an outbound target and a referrer.
 */
function embeddings(category: string, p: Planted, index: number): CorpusItem[] {
  const enc = encodeURIComponent(p.value);
  const pii = piiOf(p);
  const id = (where: string) => `${category}/${p.label}/${where}`;
  const prefix = PATH_PREFIXES[index % PATH_PREFIXES.length]!;
  const [param, field] = PARAMS[index % PARAMS.length]!;
  const items: CorpusItem[] = [];
  items.push(
    {
      id: id('path'),
      category,
      input: pageview(`${ORIGIN}${prefix}/${enc}`),
      expect: { outcome: 'ok', page: pathWith(prefix, p), countOnly: false },
      pii,
    },
    {
      id: id('path-in-slug'),
      category,
      input: pageview(`${ORIGIN}/share/visit-${enc}-summary`),
      expect: {
        outcome: 'ok',
        page: { pattern: `^/share/[a-z-]*(${placeholders(p).join('|')})[a-z-]*$` },
        countOnly: false,
      },
      pii,
    },
    {
      id: id('log-path'),
      category,
      input: logLine(`${prefix}/${enc}`),
      expect: { outcome: 'ok', page: pathWith(prefix, p), countOnly: false },
      pii,
    },
    {
      id: id('download'),
      category,
      input: {
        kind: 'hit',
        via: 'snippet',
        type: 'download',
        url: `${ORIGIN}/patient-resources`,
        target: `${ORIGIN}/files/${enc}/intake.pdf`,
      },
      expect: { outcome: 'ok', target: pathWith('/files', p, '/intake.pdf') },
      pii,
    },
  );
  items.push(
    {
      id: id(`param-${param}`),
      category,
      input: pageview(`${ORIGIN}/newsletter?${param}=${enc}`),
      expect: { outcome: 'ok', page: '/newsletter', [field]: unsafeValue(p) },
      pii,
    },
    {
      id: id('event-name'),
      category,
      input: { kind: 'hit', via: 'snippet', type: 'event', url: `${ORIGIN}/services`, name: `Booked ${p.value}` },
      expect: { outcome: 'ok', name: '(undeclared)' },
      pii,
    },
    {
      id: id('prop-value'),
      category,
      input: {
        kind: 'hit',
        via: 'plausible',
        type: 'event',
        url: `${ORIGIN}/services`,
        name: DECLARED_EVENT,
        props: { plan: p.value },
      },
      expect: { outcome: 'ok', name: DECLARED_EVENT, props: { plan: unsafeValue(p) } },
      pii,
    },
    {
      id: id('outbound'),
      category,
      input: {
        kind: 'hit',
        via: 'snippet',
        type: 'outbound',
        url: `${ORIGIN}/locations`,
        target: `https://maps.example.org/route/${enc}?to=${enc}`,
      },
      expect: { outcome: 'ok', target: 'example.org' },
      pii,
    },
    {
      id: id('referrer'),
      category,
      input: pageview(`${ORIGIN}/`, { referrer: `https://www.search.example.com/results/${enc}?q=${enc}` }),
      expect: { outcome: 'ok', page: '/', referrerDomain: 'example.com' },
      pii,
    },
  );
  return items;
}

const each = (category: string, values: Planted[]) => values.flatMap((p, i) => embeddings(category, p, i));

/** The `@` of an address percent-encoded 1 to 10 times, in a path, a log line and a campaign value. */
function encodedEmails(): CorpusItem[] {
  const items: CorpusItem[] = [];
  const pii = [ENCODED_EMAIL, 'nguyen.van.an'];
  for (let times = 1; times <= 10; times++) {
    const encoded = encodeTimes(ENCODED_EMAIL, times);
    items.push(
      {
        id: `emails/encoded-${times}x/path`,
        category: 'emails',
        input: pageview(`${ORIGIN}/lookup/${encoded}`),
        expect: { outcome: 'ok', page: '/lookup/:email', countOnly: false },
        pii,
      },
      {
        id: `emails/encoded-${times}x/log-path`,
        category: 'emails',
        input: logLine(`/thank-you/${encoded}`),
        expect: { outcome: 'ok', page: '/thank-you/:email', countOnly: false },
        pii,
      },
      {
        id: `emails/encoded-${times}x/param-utm_source`,
        category: 'emails',
        input: pageview(`${ORIGIN}/newsletter?utm_source=${encoded}`),
        expect: { outcome: 'ok', page: '/newsletter', utmSource: oneOf('(other)', ':email') },
        pii,
      },
    );
  }
  return items;
}

/** What a name slug in a free-text value becomes: `(other)` when a word of it is a common given name, else `(rare)`. */
const SLUG_VALUE = oneOf('(other)', '(rare)');

/**
 * Names cannot be recognised by their shape in a path, so they are planted where a mechanism
 * removes them: kept query values (safe shape only), event names (declared only), property values
 * (declared or safe shape), path templates (`/providers/*`), count-only sections and private-suffix hosts.
 */
function names(): CorpusItem[] {
  return NAMES.flatMap((n, i): CorpusItem[] => {
    const id = (where: string) => `names/${n.label}/${where}`;
    const category = 'names';
    const enc = encodeURIComponent;
    const [param, field] = PARAMS[i % PARAMS.length]!;
    return [
      {
        id: id('ref-dotted'),
        category,
        input: pageview(`${ORIGIN}/?ref=${n.dotted}`),
        expect: { outcome: 'ok', page: '/', utmSource: '(other)' },
        pii: n.pii.concat(n.dotted),
      },
      {
        id: id('utm_campaign-slug'),
        category,
        input: pageview(`${ORIGIN}/newsletter?utm_campaign=${n.slug}`),
        // A slug with a common given name is not of a safe shape; any other is free text one visitor sent: rare.
        expect: { outcome: 'ok', page: '/newsletter', utmCampaign: SLUG_VALUE },
        pii: n.pii.concat(n.slug),
      },
      {
        id: id('prop-value-slug'),
        category,
        input: {
          kind: 'hit',
          via: 'plausible',
          type: 'event',
          url: `${ORIGIN}/services`,
          name: DECLARED_EVENT,
          props: { plan: n.slug },
        },
        expect: { outcome: 'ok', name: DECLARED_EVENT, props: { plan: SLUG_VALUE } },
        pii: n.pii.concat(n.slug),
      },
      {
        id: id(`${param}-written`),
        category,
        input: pageview(`${ORIGIN}/newsletter?${param}=${enc(n.name)}`),
        expect: { outcome: 'ok', page: '/newsletter', [field]: '(other)' },
        pii: n.pii,
      },
      {
        id: id('utm_campaign-plus'),
        category,
        input: pageview(`${ORIGIN}/newsletter?utm_campaign=${n.name.replace(/ /g, '+')}`),
        expect: { outcome: 'ok', page: '/newsletter', utmCampaign: '(other)' },
        pii: n.pii,
      },
      {
        id: id('event-name'),
        category,
        input: { kind: 'hit', via: 'snippet', type: 'event', url: `${ORIGIN}/`, name: `Booked ${n.name}` },
        expect: { outcome: 'ok', name: '(undeclared)' },
        pii: n.pii,
      },
      {
        id: id('event-name-plausible'),
        category,
        input: { kind: 'hit', via: 'plausible', type: 'event', url: `${ORIGIN}/`, name: `Booked ${n.name}` },
        expect: { outcome: 'ok', name: '(undeclared)', props: null },
        pii: n.pii,
      },
      {
        id: id('prop-value'),
        category,
        input: {
          kind: 'hit',
          via: 'plausible',
          type: 'event',
          url: `${ORIGIN}/services`,
          name: DECLARED_EVENT,
          props: { plan: n.name, patient: n.name },
        },
        // `patient` is not a declared property of the event: dropped.
        expect: { outcome: 'ok', name: DECLARED_EVENT, props: { plan: '(other)' } },
        pii: n.pii,
      },
      {
        id: id('provider-template'),
        category,
        input: pageview(`${ORIGIN}/providers/${n.slug}`),
        expect: { outcome: 'ok', page: '/providers/:slug', countOnly: false },
        pii: n.pii.concat(n.slug),
      },
      {
        id: id('provider-template-written'),
        category,
        input: pageview(`${ORIGIN}/providers/${enc(n.name)}`),
        expect: { outcome: 'ok', page: '/providers/:slug', countOnly: false },
        pii: n.pii,
      },
      {
        id: id('portal-records'),
        category,
        input: pageview(`${ORIGIN}/portal/records/${n.slug}`, { referrer: `https://mail.example.net/${n.slug}` }),
        expect: {
          outcome: 'ok',
          page: 'patient-portal',
          countOnly: true,
          referrerDomain: null,
          utmSource: null,
          utmCampaign: null,
        },
        pii: n.pii.concat(n.slug),
      },
      {
        id: id('private-suffix-referrer'),
        category,
        input: pageview(`${ORIGIN}/`, { referrer: `https://${n.slug}-5551234567.netlify.app/about` }),
        expect: { outcome: 'ok', page: '/', referrerDomain: 'netlify.app' },
        pii: n.pii.concat(n.slug, '5551234567'),
      },
      {
        id: id('private-suffix-outbound'),
        category,
        input: {
          kind: 'hit',
          via: 'snippet',
          type: 'outbound',
          url: `${ORIGIN}/`,
          target: `https://${n.slug}.github.io/contact`,
        },
        expect: { outcome: 'ok', target: 'github.io' },
        pii: n.pii.concat(n.slug),
      },
      {
        id: id('log-provider-ref'),
        category,
        input: logLine(`/providers/${n.slug}?ref=${n.dotted}`, `https://${n.slug}.herokuapp.com/`, n.dotted),
        expect: { outcome: 'ok', page: '/providers/:slug', utmSource: '(other)', referrerDomain: 'herokuapp.com' },
        pii: n.pii.concat(n.slug, n.dotted),
      },
    ];
  });
}

/** Rules matched on the raw path used to be escaped by spelling the path differently. */
function pageClassEvasion(): CorpusItem[] {
  const category = 'page-class-evasion';
  const portal = { outcome: 'ok', page: 'patient-portal', countOnly: true, referrerDomain: null } as const;
  const pii = ['smith-john', 'smithjohn'];
  const portalPaths: Array<[string, string]> = [
    ['double-slash', '//portal/records/smith-john'],
    ['triple-slash', '///portal///records/smith-john'],
    ['encoded-slash', '/portal%2Frecords%2Fsmith-john'],
    ['double-encoded-slash', '/portal%252Frecords%252Fsmith-john'],
    ['matrix-param', '/portal;x/records/smith-john'],
    ['matrix-session', '/portal;jsessionid=0AF3/records/smith-john'],
    ['trailing-dot', '/portal./records/smith-john'],
    ['encoded-trailing-dot', '/portal%2E/records/smith-john'],
    ['trailing-space', '/portal%20/records/smith-john'],
    ['trailing-dots-spaces', '/portal.%20.%20/records/smith-john'],
    ['zero-width-space', '/port%E2%80%8Bal/records/smith-john'],
    ['zero-width-joiner', '/portal%E2%80%8D/records/smith-john'],
    ['soft-hyphen', '/por%C2%ADtal/records/smith-john'],
    ['bom', '/%EF%BB%BFportal/records/smith-john'],
    ['fullwidth', '/%EF%BD%90%EF%BD%8F%EF%BD%92%EF%BD%94%EF%BD%81%EF%BD%8C/records/smith-john'],
    ['uppercase', '/PORTAL/records/smith-john'],
    ['encoded-letters', '/p%6Fr%74al/records/smith-john'],
    ['backslash', '/portal\\records\\smith-john'],
    ['dot-segment', '/./portal/records/smith-john'],
    ['dot-dot-segment', '/x/../portal/records/smith-john'],
    ['encoded-dot-dot', '/x/%2e%2e/portal/records/smith-john'],
    ['tab', '/por\ttal/records/smith-john'],
    ['encoded-7x', `/${encodeTimes('portal/records/smith-john', 7)}`],
    ['encoded-10x', `/${encodeTimes('portal/records/smith-john', 10)}`],
    ['fullwidth-solidus', '/portal%EF%BC%8Frecords%EF%BC%8Fsmith-john'],
  ];
  const items: CorpusItem[] = portalPaths.flatMap(([label, path]): CorpusItem[] => [
    {
      id: `${category}/portal-${label}`,
      category,
      input: pageview(`${ORIGIN}${path}?utm_source=newsletter`, { referrer: 'https://www.google.com/' }),
      expect: { ...portal, utmSource: null },
      pii,
    },
    {
      id: `${category}/portal-${label}/log`,
      category,
      input: logLine(path.replace(/\t/g, '%09').replace(/\\/g, '%5C'), 'https://www.google.com/'),
      expect: portal,
      pii,
    },
  ]);
  const login: Array<[string, string, string[]]> = [
    ['double-slash', '//login/olena.kovalenko', ['olena.kovalenko']],
    ['matrix', '/login;jsessionid=ABC123/jane.doe', ['jane.doe']],
    ['trailing-dot', '/login./reset/wang.xiaoming', ['wang.xiaoming']],
    ['zero-width', '/log%E2%80%8Bin/ngozi-okonkwo', ['ngozi-okonkwo']],
    ['uppercase', '/LOGIN/aoife.nibhriain', ['aoife.nibhriain']],
    ['encoded', '/%6C%6F%67%69%6E/jose.garcia', ['jose.garcia']],
    ['fullwidth', '/%EF%BD%8C%EF%BD%8F%EF%BD%87%EF%BD%89%EF%BD%8E/kenji.watanabe', ['kenji.watanabe']],
    ['account-encoded-slash', '/account%2Fsettings%2Fjane.doe%40gmail.com', ['jane.doe']],
  ];
  for (const [label, path, pii] of login)
    items.push(
      {
        id: `${category}/drop-${label}`,
        category,
        input: pageview(`${ORIGIN}${path}`),
        expect: { outcome: 'drop' },
        pii,
      },
      {
        id: `${category}/drop-${label}/log`,
        category,
        input: logLine(path),
        expect: { outcome: 'drop' },
        pii,
      },
    );
  const appointments: Array<[string, string, string[]]> = [
    ['double-slash', '//appointments/confirm/jane-doe-1984-03-12', ['jane-doe', '1984-03-12']],
    ['matrix', '/booking;step=2/slot/MRN12345', ['MRN12345']],
    ['trailing-space', '/appointments%20/new/olena.kovalenko', ['olena.kovalenko']],
  ];
  for (const [label, path, pii] of appointments)
    items.push({
      id: `${category}/appointments-${label}`,
      category,
      input: pageview(`${ORIGIN}${path}`),
      expect: { outcome: 'ok', page: 'appointments', countOnly: true },
      pii,
    });
  return items;
}

/** Children's sections are count-only by default (the under-13 promise), however the path is spelled. */
export const CHILDREN_SECTIONS: Array<[string, string]> = [
  ['pediatrics', '/pediatrics/well-child-visit/ava-martinez'],
  ['pediatrics-uppercase', '/Pediatrics/ava-martinez'],
  ['pediatrics-double-slash', '//pediatrics/ava-martinez'],
  ['kids', '/kids/ava-martinez/vaccines'],
  ['kids-encoded-slash', '/kids%2Fava-martinez'],
  ['children', '/children/ava-martinez'],
  ['children-zero-width', '/child%E2%80%8Bren/ava-martinez'],
  ['teens', '/teens/ava-martinez'],
  ['teen-health', '/teen-health/ava-martinez/acne'],
  ['teenagers-matrix', '/teenagers;x/ava-martinez'],
];

function childrenSections(): CorpusItem[] {
  return CHILDREN_SECTIONS.flatMap(([label, path]): CorpusItem[] => [
    {
      id: `children/${label}`,
      category: 'children',
      input: pageview(`${ORIGIN}${path}?utm_campaign=back-to-school`, { referrer: 'https://www.facebook.com/' }),
      expect: { outcome: 'ok', page: 'children', countOnly: true, referrerDomain: null, utmCampaign: null },
      pii: ['ava-martinez', 'martinez'],
    },
    {
      id: `children/${label}/log`,
      category: 'children',
      input: logLine(path, 'https://www.facebook.com/'),
      expect: { outcome: 'ok', page: 'children', countOnly: true, referrerDomain: null },
      pii: ['ava-martinez', 'martinez'],
    },
  ]);
}

/** Referrers and outbound targets are reduced to the registrable domain, ignoring private suffixes. */
function hosts(): CorpusItem[] {
  const category = 'hosts';
  // [label, URL, stored domain, PII, the referrer's stored domain when it differs: a listed source host]
  const referrers: Array<[string, string, string | null, string[], string?]> = [
    ['netlify', 'https://jane-doe-5551234567.netlify.app/', 'netlify.app', ['jane-doe', '5551234567']],
    ['github-io', 'https://jose-garcia.github.io/blog/', 'github.io', ['jose-garcia']],
    ['herokuapp', 'https://ngozi-okonkwo-mrn4455.herokuapp.com/x', 'herokuapp.com', ['okonkwo', 'mrn4455']],
    ['blogspot', 'https://aoife-ni-bhriain.blogspot.com/2024/03/', 'blogspot.com', ['bhriain']],
    ['vercel', 'https://olena-kovalenko.vercel.app/', 'vercel.app', ['kovalenko']],
    ['firebase', 'https://john-smith-1984-03-12.web.app/', 'web.app', ['john-smith', '19840312']],
    ['pages-dev', 'https://priya-raghunathan.pages.dev/', 'pages.dev', ['raghunathan']],
    ['azure', 'https://kenji-watanabe-clinic.azurewebsites.net/', 'azurewebsites.net', ['watanabe']],
    ['gitlab', 'https://lukasz-wisniewski.gitlab.io/', 'gitlab.io', ['wisniewski']],
    ['s3', 'https://bjorn-lindqvist-records.s3.amazonaws.com/scan.pdf', 'amazonaws.com', ['lindqvist']],
    ['ngrok', 'https://oluwaseun-adeyemi.ngrok-free.app/', 'ngrok-free.app', ['adeyemi']],
    ['idn', 'https://josé-garcía.blogspot.com/', 'blogspot.com', ['garcia', 'xn--jos-garca']],
    ['userinfo', 'https://jane.doe:hunter2@mail.example.net/inbox', 'example.net', ['jane.doe', 'hunter2']],
    ['search-query', 'https://www.google.com/search?q=jane+doe+dob+3-12-84+mrn12345', 'google.com', ['mrn12345']],
    // A listed source host under its site is kept whole as a referrer (the Email channel), never its path.
    [
      'webmail-path',
      'https://mail.yahoo.com/d/folders/1/messages/jane.doe@yahoo.com',
      'yahoo.com',
      ['jane.doe'],
      'mail.yahoo.com',
    ],
    ['fragment', 'https://l.facebook.com/l.php#jane.doe@gmail.com', 'facebook.com', ['jane.doe']],
    ['ipv4', 'http://10.0.0.1/portal', '(ip)', ['10.0.0.1']],
    ['ipv4-port', 'http://192.168.1.20:8080/', '(ip)', ['192.168.1.20']],
    ['ipv6', 'http://[2001:db8::1]/', '(ip)', ['2001:db8::1']],
    ['ipv6-mapped', 'http://[::ffff:198.51.100.4]/', '(ip)', ['198.51.100.4', 'c633:6404']],
    ['ipv4-decimal', 'http://3232235796/', '(ip)', ['3232235796', '192.168.1.20']],
    ['ipv4-hex', 'http://0xC0A80114/', '(ip)', ['c0a80114', '192.168.1.20']],
  ];
  const items: CorpusItem[] = referrers.flatMap(([label, referrer, domain, pii, asReferrer = domain]): CorpusItem[] => [
    {
      id: `${category}/referrer-${label}`,
      category,
      input: pageview(`${ORIGIN}/services`, { referrer }),
      expect: { outcome: 'ok', page: '/services', referrerDomain: asReferrer },
      pii,
    },
    {
      id: `${category}/outbound-${label}`,
      category,
      input: { kind: 'hit', via: 'snippet', type: 'outbound', url: `${ORIGIN}/services`, target: referrer },
      expect: { outcome: 'ok', target: domain },
      pii,
    },
    {
      id: `${category}/log-referrer-${label}`,
      category,
      input: logLine('/services', referrer),
      expect: { outcome: 'ok', page: '/services', referrerDomain: asReferrer },
      pii,
    },
  ]);
  items.push(
    {
      id: `${category}/referrer-app-scheme`,
      category,
      input: pageview(`${ORIGIN}/services`, { referrer: 'android-app://com.google.android.gm/jane.doe@gmail.com' }),
      // Whatever a non-web referrer becomes, nothing of its path may remain.
      expect: { outcome: 'ok', page: '/services' },
      pii: ['jane.doe'],
    },
    {
      id: `${category}/outbound-mailto`,
      category,
      input: { kind: 'hit', via: 'snippet', type: 'outbound', url: `${ORIGIN}/`, target: 'mailto:jane.doe@gmail.com' },
      expect: { outcome: 'invalid' },
      pii: ['jane.doe'],
    },
    {
      id: `${category}/notfound-page`,
      category,
      input: { kind: 'hit', via: 'snippet', type: 'notfound', url: `${ORIGIN}/patients/MRN12345/jane.doe@gmail.com` },
      expect: { outcome: 'ok', page: '/patients/:id/:email' },
      pii: ['MRN12345', 'jane.doe'],
    },
    {
      id: `${category}/engagement-page`,
      category,
      input: { kind: 'hit', via: 'snippet', type: 'engagement', url: `${ORIGIN}/results/555-301-7788?ref=jane.doe` },
      expect: { outcome: 'ok', page: '/results/:phone', utmSource: '(other)' },
      pii: ['555-301-7788', 'jane.doe'],
    },
    {
      id: `${category}/download-foreign-host`,
      category,
      input: {
        kind: 'hit',
        via: 'snippet',
        type: 'download',
        url: `${ORIGIN}/`,
        target: 'https://jane-doe-5551234567.netlify.app/files/results.pdf',
      },
      expect: { outcome: 'ok', target: 'netlify.app' },
      pii: ['jane-doe', '5551234567'],
    },
    {
      id: `${category}/download-ip-host`,
      category,
      input: {
        kind: 'hit',
        via: 'snippet',
        type: 'download',
        url: `${ORIGIN}/`,
        target: 'http://203.0.113.7/scans/jane-doe.pdf',
      },
      expect: { outcome: 'ok', target: '(ip)' },
      pii: ['203.0.113.7', 'jane-doe'],
    },
  );
  return items;
}

/** Log lines: the client address and the user field never reach the envelope; paths and referrers as for beacons. */
function logLines(): CorpusItem[] {
  const category = 'log-lines';
  const items: CorpusItem[] = [];
  for (const [i, ip] of ['198.51.100.23', '2001:db8:85a3::8a2e:370:7334', '::ffff:192.0.2.44', '81.2.69.160'].entries())
    items.push({
      id: `${category}/client-ip-${i}`,
      category,
      input: logLine('/services', '-', 'olena.kovalenko', ip),
      expect: { outcome: 'ok', page: '/services', referrerDomain: null },
      pii: [ip, 'olena.kovalenko'],
    });
  items.push(
    {
      id: `${category}/asset-with-email`,
      category,
      input: logLine('/img/jane.doe@gmail.com.png'),
      expect: { outcome: 'drop' },
      pii: ['jane.doe'],
    },
    {
      id: `${category}/login-drop`,
      category,
      input: logLine('/login?user=jane.doe%40gmail.com'),
      expect: { outcome: 'drop' },
      pii: ['jane.doe'],
    },
    {
      id: `${category}/query-not-kept`,
      category,
      input: logLine('/results?patient=Jane+Doe&dob=1984-03-12&mrn=MRN12345&utm_source=newsletter'),
      expect: { outcome: 'ok', page: '/results', utmSource: 'newsletter' },
      pii: ['Jane Doe', '1984-03-12', 'MRN12345'],
    },
    {
      id: `${category}/ref-email`,
      category,
      input: logLine('/?ref=jane.doe%40gmail.com'),
      expect: { outcome: 'ok', page: '/', utmSource: oneOf('(other)', ':email') },
      pii: ['jane.doe'],
    },
    {
      id: `${category}/full-url-target`,
      category,
      input: logLine('https://clinic.example/lookup/MRN:12345'),
      expect: { outcome: 'ok', page: '/lookup/:id' },
      pii: ['MRN:12345'],
    },
  );
  return items;
}

/**
 * Addresses below state level: only the country of the client address is kept, query parameters
 * other than the campaign ones are dropped, and a street address is not a safe value shape.
 */
function geographic(): CorpusItem[] {
  const category = 'geographic';
  const address = '742 Evergreen Terrace, Springfield';
  const pii = ['742 Evergreen Terrace', 'Evergreen'];
  return [
    {
      id: `${category}/directions-query`,
      category,
      input: pageview(`${ORIGIN}/directions?from=${encodeURIComponent(address)}&zip=62704`),
      expect: { outcome: 'ok', page: '/directions', utmSource: null },
      pii,
    },
    {
      id: `${category}/ref-address`,
      category,
      input: pageview(`${ORIGIN}/?ref=${encodeURIComponent(address)}`),
      expect: { outcome: 'ok', page: '/', utmSource: '(other)' },
      pii,
    },
    {
      id: `${category}/campaign-address`,
      category,
      input: pageview(`${ORIGIN}/?utm_campaign=${address.replace(/ /g, '+')}`),
      expect: { outcome: 'ok', page: '/', utmCampaign: '(other)' },
      pii,
    },
    {
      id: `${category}/zip-plus-4-path`,
      category,
      input: pageview(`${ORIGIN}/service-area/62704-1234`),
      expect: { outcome: 'ok', page: oneOf('/service-area/:id', '/service-area/:phone') },
      pii: ['62704-1234'],
    },
    {
      id: `${category}/zip-plus-4-campaign`,
      category,
      input: pageview(`${ORIGIN}/?utm_campaign=62704-1234`),
      expect: { outcome: 'ok', page: '/', utmCampaign: oneOf('(other)', ':id', ':phone') },
      pii: ['62704-1234'],
    },
    {
      id: `${category}/prop-address`,
      category,
      input: {
        kind: 'hit',
        via: 'plausible',
        type: 'event',
        url: `${ORIGIN}/`,
        name: DECLARED_EVENT,
        props: { plan: address },
      },
      expect: { outcome: 'ok', props: { plan: '(other)' } },
      pii,
    },
    {
      id: `${category}/log-client-address`,
      category,
      input: logLine('/directions?from=742+Evergreen+Terrace', '-', '-', '81.2.69.142'),
      expect: { outcome: 'ok', page: '/directions', utmSource: null },
      pii: [...pii, '81.2.69.142'],
    },
  ];
}

/** Custom events: only declared names, declared property keys, and declared or safe values survive. */
function customEvents(): CorpusItem[] {
  const category = 'events';
  const event = (
    label: string,
    name: string,
    props: Record<string, unknown> | undefined,
    expect: CorpusItem['expect'],
    pii: string[],
  ): CorpusItem => ({
    id: `${category}/${label}`,
    category,
    input: {
      kind: 'hit',
      via: 'plausible',
      type: 'event',
      url: `${ORIGIN}/services`,
      name,
      ...(props ? { props } : {}),
    },
    expect,
    pii,
  });
  return [
    event(
      'declared-name-with-email',
      `${DECLARED_EVENT} jane.doe@gmail.com`,
      undefined,
      { outcome: 'ok', name: '(undeclared)', props: null },
      ['jane.doe'],
    ),
    event(
      'declared-name-with-phone',
      `${DECLARED_EVENT} 555-301-7788`,
      { plan: 'basic' },
      { outcome: 'ok', name: '(undeclared)', props: null },
      ['555-301-7788'],
    ),
    event(
      'undeclared-with-props',
      'Patient Olena Kovalenko',
      { plan: 'basic', note: 'Olena Kovalenko' },
      { outcome: 'ok', name: '(undeclared)', props: null },
      ['Kovalenko'],
    ),
    event(
      'number-value',
      DECLARED_EVENT,
      { plan: 5553017788 },
      { outcome: 'ok', name: DECLARED_EVENT, props: { plan: oneOf('(other)', ':id', ':phone') } },
      ['5553017788'],
    ),
    event(
      'object-value',
      DECLARED_EVENT,
      { plan: { name: 'Jane Doe', dob: '1984-03-12' } },
      { outcome: 'ok', name: DECLARED_EVENT },
      ['Jane Doe', '1984-03-12'],
    ),
    event('array-value', DECLARED_EVENT, { plan: ['Jane Doe', 'MRN12345'] }, { outcome: 'ok', name: DECLARED_EVENT }, [
      'Jane Doe',
      'MRN12345',
    ]),
    event(
      'uppercase-key',
      DECLARED_EVENT,
      { Plan: 'Jane Doe', PLAN: 'MRN12345' },
      { outcome: 'ok', name: DECLARED_EVENT, props: null },
      ['Jane Doe', 'MRN12345'],
    ),
    event(
      'key-with-pii',
      DECLARED_EVENT,
      { 'jane.doe@gmail.com': 'basic', mrn12345: 'premium' },
      { outcome: 'ok', name: DECLARED_EVENT, props: null },
      ['jane.doe', 'mrn12345'],
    ),
    event(
      'many-props',
      DECLARED_EVENT,
      Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, `MRN${10000 + i}`])),
      { outcome: 'ok', name: DECLARED_EVENT, props: null },
      ['MRN10000', 'MRN10039'],
    ),
  ];
}

/** The inputs issue 16 names, as written there. */
function issueExamples(): CorpusItem[] {
  const category = 'issue-16';
  const page = (label: string, path: string, expected: FieldExpectation, pii: string[]): CorpusItem => ({
    id: `${category}/${label}`,
    category,
    input: pageview(`${ORIGIN}${path}`),
    expect: { outcome: 'ok', page: expected },
    pii,
  });
  return [
    {
      id: `${category}/ref-name`,
      category,
      input: pageview(`${ORIGIN}/?ref=jane.doe`),
      expect: { outcome: 'ok', utmSource: '(other)' },
      pii: ['jane.doe'],
    },
    {
      id: `${category}/campaign-mrn`,
      category,
      input: pageview(`${ORIGIN}/?utm_campaign=mrn%20MRN-00123`),
      expect: { outcome: 'ok', utmCampaign: oneOf('(other)', ':id') },
      pii: ['MRN-00123'],
    },
    {
      id: `${category}/event-name`,
      category,
      input: { kind: 'hit', via: 'snippet', type: 'event', url: `${ORIGIN}/`, name: 'Booked Jane Doe' },
      expect: { outcome: 'ok', name: '(undeclared)' },
      pii: ['Jane Doe'],
    },
    {
      id: `${category}/prop-plan`,
      category,
      input: {
        kind: 'hit',
        via: 'plausible',
        type: 'event',
        url: `${ORIGIN}/`,
        name: DECLARED_EVENT,
        props: { plan: 'Jane Doe' },
      },
      expect: { outcome: 'ok', props: { plan: '(other)' } },
      pii: ['Jane Doe'],
    },
    page('dob-us-short', '/dob/3-12-84', '/dob/:date', ['3-12-84']),
    page('dob-eu-dot', '/dob/12.3.84', '/dob/:date', ['12.3.84']),
    page('dob-month', '/dob/March-12-1984', '/dob/:date', ['March-12-1984']),
    page('dob-day-mon', '/dob/12-mar-1984', '/dob/:date', ['12-mar-1984']),
    page('dob-underscore', '/dob/1984_03_12', '/dob/:date', ['1984_03_12']),
    page('mrn-plain', '/chart/MRN12345', '/chart/:id', ['MRN12345']),
    page('mrn-colon', '/chart/MRN:12345', '/chart/:id', ['MRN:12345']),
    page('patient-id', '/chart/pt12345', '/chart/:id', ['pt12345']),
    page('ipv4', '/debug/10.0.0.1', '/debug/:ip', ['10.0.0.1']),
    page('ipv6', '/debug/2001:db8::1', '/debug/:ip', ['2001:db8::1']),
    page('arabic-indic', '/chart/%D9%A1%D9%A2%D9%A3%D9%A4%D9%A5%D9%A6%D9%A7', '/chart/:id', ['١٢٣٤٥٦٧']),
    page('thai', '/chart/%E0%B9%91%E0%B9%92%E0%B9%93%E0%B9%94%E0%B9%95%E0%B9%96%E0%B9%97', '/chart/:id', ['๑๒๓๔๕๖๗']),
    page('obfuscated-email', '/contact-us/john.doe(at)gmail.com', '/contact-us/:email', ['john.doe']),
    page('encoded-7x', `/lookup/${encodeTimes('jane.roe@gmail.com', 7)}`, '/lookup/:email', ['jane.roe']),
    {
      id: `${category}/private-suffix-referrer`,
      category,
      input: pageview(`${ORIGIN}/`, { referrer: 'https://jane-doe-5551234567.netlify.app/' }),
      expect: { outcome: 'ok', referrerDomain: 'netlify.app' },
      pii: ['jane-doe', '5551234567'],
    },
    {
      id: `${category}/outbound-full-host`,
      category,
      input: {
        kind: 'hit',
        via: 'snippet',
        type: 'outbound',
        url: `${ORIGIN}/`,
        target: 'https://jane-doe-5551234567.netlify.app/',
      },
      expect: { outcome: 'ok', target: 'netlify.app' },
      pii: ['jane-doe', '5551234567'],
    },
    {
      id: `${category}/outbound-ip`,
      category,
      input: { kind: 'hit', via: 'snippet', type: 'outbound', url: `${ORIGIN}/`, target: 'http://10.0.0.1/' },
      expect: { outcome: 'ok', target: '(ip)' },
      pii: ['10.0.0.1'],
    },
    ...['//portal/records/smith-john', '/portal%2Frecords%2Fsmith-john', '/portal;x/records/smith-john'].map(
      (path, i): CorpusItem => ({
        id: `${category}/count-only-${i}`,
        category,
        input: pageview(`${ORIGIN}${path}`),
        expect: { outcome: 'ok', page: 'patient-portal', countOnly: true },
        pii: ['smith-john'],
      }),
    ),
  ];
}

/**
 * The other entry points, on the same inputs: each snippet page view again through the pixel, each
 * snippet outbound click again through the buffer page (which refuses a destination with credentials).
 */
function otherEntryPoints(items: CorpusItem[]): CorpusItem[] {
  return items.flatMap((item): CorpusItem[] => {
    const { input } = item;
    if (input.kind !== 'hit' || input.via !== 'snippet') return [];
    if (input.type === 'pageview') return [{ ...item, id: `${item.id}/pixel`, input: { ...input, via: 'pixel' } }];
    if (input.type !== 'outbound') return [];
    const withCredentials = /^https?:\/\/[^/]*@/.test(input.target ?? '');
    return [
      {
        ...item,
        id: `${item.id}/buffer`,
        input: { ...input, via: 'buffer' },
        expect: withCredentials ? { outcome: 'invalid' } : item.expect,
      },
    ];
  });
}

const SNIPPET_ITEMS: CorpusItem[] = [
  ...issueExamples(),
  ...names(),
  ...each('dates', DATES_OF_BIRTH),
  ...each('record-numbers', RECORD_NUMBERS),
  ...each('phones', PHONES),
  ...each('emails', EMAILS),
  ...encodedEmails(),
  ...each('ips', IPS),
  ...each('tokens', TOKENS),
  ...each('foreign-digits', FOREIGN_DIGITS),
  ...pageClassEvasion(),
  ...childrenSections(),
  ...hosts(),
  ...logLines(),
  ...geographic(),
  ...customEvents(),
];

export const ADVERSARIAL_ITEMS: CorpusItem[] = [...SNIPPET_ITEMS, ...otherEntryPoints(SNIPPET_ITEMS)];
