import {
  buildApp,
  loadCollectorConfig,
  MemorySaltStore,
  scrubUrl,
  createLineParser,
  type LogFormat,
  createMetrics,
  PracticeRegistry,
  beaconSchema,
  plausibleEventSchema,
} from '@confidant/collector/components';
import {
  createLogger,
  decodeEvent,
  encodeEvent,
  practiceSchema,
  sqlv,
  type Db,
  type EventEnvelope,
} from '@confidant/shared';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareNamespace } from '../support/stack.ts';
import { isolatedConfig } from '../support/test-env.ts';
import { faults } from './faults.config.ts';

/** Property-based tests of every parser and scrubber that sees outside input. */
const runs = { numRuns: faults.propertyRuns };
const UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const practice = practiceSchema.parse({
  id: 'prop',
  siteKey: 'site-prop',
  name: 'Prop',
  domains: ['prop.example'],
  timezone: 'UTC',
  propsAllowlist: ['plan'],
});
const accepted: EventEnvelope[] = [];
let app: FastifyInstance;

beforeAll(async () => {
  const registry = new PracticeRegistry(
    { list: async () => [practice], revision: async () => '1' },
    createLogger('t', 'silent'),
  );
  await registry.refresh();
  const sink = {
    ready: () => true,
    submit: async (_key: string, event: EventEnvelope) => {
      // Whatever came in, what goes out is a valid envelope.
      const decoded = decodeEvent(encodeEvent(event));
      if (!decoded.ok) throw new Error(decoded.reason);
      accepted.push(decoded.event);
    },
  };
  app = await buildApp({
    config: { ...loadCollectorConfig({}), rateLimitPerMin: 1_000_000_000 },
    logger: createLogger('t', 'silent'),
    registry,
    salts: new MemorySaltStore(),
    sink,
    metrics: createMetrics(),
    country: () => 'US',
  });
});
afterAll(() => app?.close());

/** Arbitrary JSON near the beacon's shape: right keys with wrong types, extra keys, deep nesting. */
const nearBeacon = fc.record(
  {
    site: fc.oneof(fc.constant('site-prop'), fc.string(), fc.integer(), fc.constant(null)),
    type: fc.oneof(
      fc.constantFrom('pageview', 'engagement', 'outbound', 'download', 'event', 'notfound'),
      fc.string(),
      fc.anything(),
    ),
    url: fc.oneof(fc.webUrl(), fc.constant('https://prop.example/'), fc.string(), fc.anything()),
    referrer: fc.oneof(fc.webUrl(), fc.string(), fc.anything()),
    engagedMs: fc.oneof(fc.integer(), fc.double(), fc.string()),
    target: fc.oneof(fc.webUrl(), fc.string()),
    name: fc.string({ maxLength: 300 }),
    width: fc.oneof(fc.integer(), fc.double()),
    extra: fc.anything(),
  },
  { requiredKeys: [] },
);

const bodyText = fc.oneof(
  nearBeacon.map((b) => JSON.stringify(b)),
  fc.json(),
  fc.string({ unit: 'binary', maxLength: 5000 }),
  fc.constant('{"site":'),
);

describe('beacon validator and POST /e', () => {
  it('the schema never throws and only admits the documented shape', () => {
    fc.assert(
      fc.property(fc.oneof(nearBeacon, fc.anything()), (value) => {
        const r = beaconSchema.safeParse(value);
        if (r.success)
          expect(typeof r.data.site === 'string' && r.data.site.length <= 64 && r.data.url.length <= 2048).toBe(true);
      }),
      runs,
    );
  });

  it('any body is answered 202 or a 4xx with a machine-readable error, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        bodyText,
        fc.constantFrom('text/plain', 'application/json', 'text/html', 'application/x-www-form-urlencoded', ''),
        async (body, type) => {
          const res = await app.inject({
            method: 'POST',
            url: '/e',
            headers: { 'user-agent': UA, ...(type ? { 'content-type': type } : {}) },
            body,
          });
          expect(res.statusCode).toBeLessThan(500);
          if (res.statusCode >= 400) expect(typeof res.json().error.code).toBe('string');
        },
      ),
      runs,
    );
  });
});

describe('Plausible endpoint POST /api/event', () => {
  const nearPlausible = fc.record(
    {
      n: fc.oneof(fc.constantFrom('pageview', 'Outbound Link: Click', 'File Download', 'Book'), fc.string()),
      u: fc.oneof(fc.webUrl(), fc.constant('https://prop.example/x'), fc.string()),
      d: fc.oneof(fc.constant('prop.example'), fc.domain(), fc.string()),
      r: fc.oneof(fc.webUrl(), fc.string(), fc.constant(null)),
      p: fc.oneof(fc.dictionary(fc.string(), fc.anything()), fc.json(), fc.constant('{"plan":"gold"}')),
      w: fc.anything(),
    },
    { requiredKeys: [] },
  );
  it('the schema never throws', () => {
    fc.assert(
      fc.property(fc.oneof(nearPlausible, fc.anything()), (v) => void plausibleEventSchema.safeParse(v)),
      runs,
    );
  });
  it('any body is answered 202 or a 4xx, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          nearPlausible.map((b) => JSON.stringify(b)),
          fc.string({ unit: 'binary', maxLength: 5000 }),
        ),
        async (body) => {
          const res = await app.inject({
            method: 'POST',
            url: '/api/event',
            headers: { 'user-agent': UA, 'content-type': 'application/json' },
            body,
          });
          expect(res.statusCode).toBeLessThan(500);
        },
      ),
      runs,
    );
  });
});

describe('log parser', () => {
  const formats: LogFormat[] = [
    { kind: 'combined' },
    { kind: 'common' },
    { kind: 'json' },
    { kind: 'auto' },
    {
      kind: 'nginx',
      format:
        '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time',
    },
  ];
  const ip = fc.oneof(fc.ipV4(), fc.ipV6(), fc.string());
  const plausibleLine = fc
    .tuple(
      ip,
      fc.string(),
      fc.constantFrom('GET', 'POST', 'G\u0000T', ''),
      fc.oneof(fc.webPath(), fc.string({ unit: 'binary' })),
      fc.integer({ min: -1, max: 1000 }),
      fc.string({ unit: 'binary' }),
      fc.string({ unit: 'binary' }),
    )
    .map(([a, t, m, p, s, r, u]) => `${a} - - [${t}] "${m} ${p} HTTP/1.1" ${s} 12 "${r}" "${u}"`);
  const line = fc.oneof(
    plausibleLine,
    fc.string({ unit: 'binary', maxLength: 3000 }),
    fc.json(),
    fc.anything().map((v) => JSON.stringify(v) ?? ''),
  );
  for (const format of formats) {
    it(`${format.kind}: any line parses to a hit or a named reason, never throws`, () => {
      const parse = createLineParser(format);
      fc.assert(
        fc.property(line, (text) => {
          const r = parse(text);
          if (r.ok) expect(r.hit).toBeTypeOf('object');
          else expect(['empty', 'layout', 'ip', 'time', 'request', 'status', 'json']).toContain(r.reason);
        }),
        runs,
      );
    });
  }
});

describe('URL scrubber', () => {
  const letters = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz'), minLength: 3, maxLength: 10 });
  const digits = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: n, maxLength: n });
  const email = fc
    .tuple(letters, letters, letters)
    .map(([u, d, t]) => ({ raw: `${u}.x@${d}.${t}`, needles: [`${u}.x@`, `@${d}.${t}`] }));
  const phone = fc
    .tuple(digits(3), digits(3), digits(4), fc.constantFrom('-', ' ', '.', ''))
    .map(([a, b, c, sep]) => ({ raw: `(${a})${sep}${b}${sep}${c}`, needles: [`${b}${sep}${c}`, `${b}${c}`] }));
  const ssn = fc.tuple(digits(3), digits(2), digits(4), fc.constantFrom('-', ' ', '.')).map(([a, b, c, sep]) => ({
    raw: `${a}${sep}${b}${sep}${c}`,
    needles: [`${a}${sep}${b}${sep}${c}`, `${a}${b}${c}`],
  }));
  const digitRun = digits(9).map((d) => ({ raw: `mrn${d}`, needles: [d] }));
  const secret = fc.oneof(email, phone, ssn, digitRun);

  /** The ways a value hides in a URL: percent-encoding (once, twice, every byte), plus signs, case and full-width Unicode. */
  const encode = fc.constantFrom<(s: string) => string>(
    (s) => s,
    (s) => encodeURIComponent(s),
    (s) => encodeURIComponent(encodeURIComponent(s)),
    (s) => [...Buffer.from(s)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''),
    (s) => [...Buffer.from(s)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
    (s) => s.replace(/[ ]/g, '+').replace(/@/g, '%40'),
    (s) => s.toUpperCase(),
    (s) => s.replace(/[0-9@.]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)),
  );
  const place = fc.constantFrom<(v: string) => string>(
    (v) => `/contact/${v}`,
    (v) => `/a/${v}/b`,
    (v) => `/form;jsessionid=${v}/x`,
    (v) => `/?utm_source=${v}`,
    (v) => `/?utm_campaign=spring&utm_term=${v}`,
    (v) => `/?email=${v}&ref=${v}`,
    (v) => `/p?UTM_SOURCE=${v}`,
    (v) => `/x#${v}`,
  );

  it('no email, phone number, SSN or long digit run survives, whatever the encoding', () => {
    fc.assert(
      fc.property(secret, encode, place, ({ raw, needles }, enc, where) => {
        const url = `https://prop.example${where(enc(raw))}`;
        const out = scrubUrl(url);
        if (!out) return;
        const text = decodeURIComponent(JSON.stringify(out)).normalize('NFKC').toLowerCase();
        for (const needle of needles) expect(text, url).not.toContain(needle.toLowerCase());
        expect(text, url).not.toMatch(/\d{6,}/);
      }),
      { ...runs, numRuns: runs.numRuns * 4 },
    );
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.string({ unit: 'binary' })),
        (u) => void scrubUrl(u),
      ),
      runs,
    );
  });
});

/** sqlv.float flushes subnormals to 0 by design: ClickHouse 18.16 refuses them as literals. */
const MIN_NORMAL = 2.2250738585072014e-308;

describe('SQL value helper: exact round trip through the real server', () => {
  let db: Db;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ db, cleanup } = await prepareNamespace(isolatedConfig('flt-sqlv')));
  });
  afterAll(() => cleanup?.());

  it('strings, integers across the 64-bit ranges and floats come back exactly', async () => {
    const value = fc.record({
      s: fc.oneof(
        fc.string({ unit: 'binary', maxLength: 60 }),
        fc.constantFrom("\\'; DROP TABLE x; --", 'a\\', "'", '\\N', '\0'),
      ),
      i: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
      u: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      f: fc.double({ noNaN: true, noDefaultInfinity: true }),
    });
    // Batched: one query per 50 values keeps a few hundred properties within seconds.
    await fc.assert(
      fc.asyncProperty(fc.array(value, { minLength: 1, maxLength: 50 }), async (values) => {
        const selects = values.map(
          (v, n) =>
            `SELECT ${n} AS n, ${sqlv.str(v.s)} AS s, toString(toInt64(${sqlv.int(v.i)})) AS i, toString(toUInt64(${sqlv.int(v.u)})) AS u, toFloat64(${sqlv.float(v.f)}) AS f`,
        );
        const rows = await db.rows<{ n: number; s: string; i: string; u: string; f: number }>(
          `SELECT * FROM (${selects.join(' UNION ALL ')}) ORDER BY n`,
        );
        expect(rows.map((r) => ({ s: r.s, i: BigInt(r.i), u: BigInt(r.u), f: Number(r.f) }))).toEqual(
          values.map((v) => ({ s: v.s, i: v.i, u: v.u, f: Math.abs(v.f) < MIN_NORMAL ? 0 : v.f })),
        );
      }),
      { numRuns: Math.max(20, Math.floor(faults.propertyRuns / 10)) },
    );
  });
});
