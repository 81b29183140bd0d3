import { createIngestKey } from '@confidant/collector/components';
import { PracticeStore, type CommonConfig, type ControlDb } from '@confidant/shared';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { prng } from '../support/event-stream.ts';
import { freePort } from '../support/processor-harness.ts';
import { namespaceEnv, spawnService, waitForHttp, type ServiceProcess } from '../support/service-process.ts';
import { prepareNamespace } from '../support/stack.ts';
import { isolatedConfig } from '../support/test-env.ts';
import { faults } from './faults.config.ts';
import { BROWSER_UA, removeSpool, REPORTER_ADMIN_KEY, startCollector, type Collector } from './support/pipeline.ts';
import { pipelined, rawRequest, slowBody, type RawTally } from './support/raw-http.ts';
import { recordScenario } from './support/summary.ts';

/**
 * Random and malformed HTTP against the real collector and reporter processes on loopback: bad
 * JSON, huge bodies, wrong content types, slow bodies, invalid UTF-8, path traversal, header
 * floods, broken request lines. Zero 5xx, zero crashes.
 */
let config: CommonConfig;
let control: ControlDb;
let cleanup: () => Promise<void>;
let collector: Collector;
let reporter: ServiceProcess & { port: number };
let ingestKey = '';

beforeAll(async () => {
  config = isolatedConfig('flt-fuzz');
  ({ control, cleanup } = await prepareNamespace(config));
  await new PracticeStore(control).save({
    id: 'fuzz',
    siteKey: 'site-fuzz',
    name: 'Fuzz',
    domains: ['fuzz.example'],
    timezone: 'UTC',
  });
  ingestKey = await createIngestKey(control, 'fuzz');
  // Shedding on event-loop lag would answer 503 to a flood by design; this test is about input, not load.
  collector = await startCollector(config, { SHED_MAX_EVENT_LOOP_DELAY_MS: '60000', LOG_LEVEL: 'warn' });
  const port = await freePort();
  const service = spawnService('reporter', 'reporter/src/server.ts', {
    ...namespaceEnv(config),
    LOG_LEVEL: 'warn',
    REPORTER_PORT: String(port),
    REPORTER_ADMIN_KEY,
    REPORTER_RATE_LIMIT_PER_MINUTE: '100000000',
  });
  reporter = { ...service, port };
  await waitForHttp(`http://127.0.0.1:${port}/readyz`, 60_000, service);
}, 120_000);

afterAll(async () => {
  const codes = await Promise.all([collector?.stop(), reporter?.stop()]);
  await removeSpool(collector?.spoolDir);
  await cleanup?.();
  expect(codes).toEqual([0, 0]);
}, 120_000);

const COLLECTOR_PATHS = [
  '/e',
  '/api/event',
  '/e.gif?site=site-fuzz&u=https%3A%2F%2Ffuzz.example%2F',
  '/out?site=site-fuzz&to=https%3A%2F%2Fevil.example',
  '/privacy',
  '/s.js',
  '/v1/logs',
  '/healthz',
  '/metrics',
];
const REPORTER_PATHS = [
  '/v1/practices/fuzz/reports/monthly?month=2024-03',
  '/v1/practices/fuzz/reports/monthly?month=2024-03&format=html',
  '/v1/practices/fuzz/stats/timeseries?from=2024-03-01&to=2024-03-31',
  '/v1/practices/fuzz/stats/breakdown?from=2024-03-01&to=2024-03-31&dimension=page',
  '/v1/partners/acme/exports?month=2024-03',
  '/v1/admin/practices',
  '/v1/admin/keys',
  '/docs/json',
];
const TRAVERSAL = [
  '/../../etc/passwd',
  '/%2e%2e/%2e%2e/etc/passwd',
  '/..%2f..%2fetc%2fpasswd',
  '/e/../../../../etc/shadow',
  '/%c0%ae%c0%ae/etc/passwd',
  '/static/..\\..\\windows\\win.ini',
  '//etc/passwd',
  '/e%00.gif',
];
const TYPES = [
  'text/plain',
  'application/json',
  'text/html',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  'application/gzip',
  'text/plain; charset=utf-16',
  '*/*',
  '',
  'application/json; charset=latin1',
];
const INVALID_UTF8 = [
  Buffer.from([0xc3, 0x28]),
  Buffer.from([0xa0, 0xa1]),
  Buffer.from([0xe2, 0x28, 0xa1]),
  Buffer.from([0xf0, 0x28, 0x8c, 0xbc]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xff, 0xfe, 0xfd]),
];

/** One random hostile request; `keepAlive` ones are well-formed HTTP (pipelinable), the rest may break the protocol. */
function hostile(random: () => number, target: 'collector' | 'reporter'): Buffer {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const paths = target === 'collector' ? COLLECTOR_PATHS : REPORTER_PATHS;
  const auth: Record<string, string> =
    target === 'reporter'
      ? random() < 0.5
        ? { authorization: `Bearer ${REPORTER_ADMIN_KEY}` }
        : random() < 0.5
          ? { authorization: `Bearer cf_${'0'.repeat(16)}_${'a'.repeat(64)}` }
          : {}
      : random() < 0.2
        ? { authorization: `Bearer ${ingestKey}` }
        : {};
  const base: Record<string, string> = { 'user-agent': BROWSER_UA, ...auth };
  const beacon = JSON.stringify({ site: 'site-fuzz', type: 'pageview', url: 'https://fuzz.example/a' });
  const roll = random();
  if (roll < 0.15)
    return rawRequest(
      'POST',
      pick(paths),
      { ...base, 'content-type': pick(TYPES) },
      beacon.slice(0, Math.floor(random() * beacon.length)),
    );
  if (roll < 0.3)
    return rawRequest(
      'POST',
      pick(paths),
      { ...base, 'content-type': pick(TYPES) },
      Buffer.concat([
        Buffer.from('{"site":"site-fuzz","url":"https://fuzz.example/'),
        pick(INVALID_UTF8),
        Buffer.from('"}'),
      ]),
    );
  if (roll < 0.4)
    return rawRequest(
      pick(['GET', 'POST', 'DELETE', 'PATCH', 'PUT', 'OPTIONS', 'HEAD']),
      pick(TRAVERSAL) + (random() < 0.5 ? pick(paths) : ''),
      base,
    );
  if (roll < 0.5) {
    const q = Array.from(
      { length: 1 + Math.floor(random() * 5) },
      () =>
        `${pick(['month', 'from', 'to', 'dimension', 'metrics', 'format', 'limit', 'site', 'to', 'u', 'key', 'source', '__proto__', 'constructor'])}=${pick(['2024-02-30', '9999-99', "'; DROP", '%ff%fe', '..', '-1', '1e309', 'javascript:alert(1)', '', 'page', 'x'.repeat(3000)])}`,
    ).join('&');
    return rawRequest('GET', `${pick(paths).split('?')[0]}?${q}`, base);
  }
  if (roll < 0.6)
    return rawRequest(
      'POST',
      pick(paths),
      { ...base, 'content-type': pick(TYPES) },
      JSON.stringify(
        pick([
          { site: ['a'] },
          { __proto__: { admin: true } },
          [beacon],
          { site: 'site-fuzz', type: 'pageview', url: 'x'.repeat(5000) },
          'x',
          null,
          1e308,
          { n: 'pageview', u: 'https://fuzz.example/', d: 'fuzz.example', p: { a: { b: { c: 1 } } } },
        ]),
      ),
    );
  if (roll < 0.7)
    return rawRequest('GET', pick(paths), {
      ...base,
      ...Object.fromEntries(
        Array.from({ length: 50 + Math.floor(random() * 150) }, (_, i) => [
          `x-flood-${i}`,
          'v'.repeat(Math.floor(random() * 80)),
        ]),
      ),
    });
  if (roll < 0.8)
    return rawRequest(
      'POST',
      pick(paths),
      { ...base, 'content-type': pick(TYPES), 'content-encoding': pick(['gzip', 'br', 'deflate', 'identity', 'x']) },
      Buffer.from(Array.from({ length: Math.floor(random() * 400) }, () => Math.floor(random() * 256))),
    );
  if (roll < 0.9)
    return rawRequest(
      'POST',
      pick(paths),
      {
        ...base,
        'content-type': pick(TYPES),
        'x-import-id': pick(['', 'a'.repeat(500), '../x']),
        'x-chunk-start': pick(['-1', 'NaN', '1e99', '0']),
      },
      `1.2.3.4 - - [bad] "GET / HTTP/1.1" 200 1 "-" "-"\n`,
    );
  return rawRequest('POST', pick(paths), { ...base, 'content-type': 'application/json' }, beacon);
}

/** Protocol-level breakage: one request per connection, since the server closes after refusing it. */
const BROKEN: Array<() => Buffer> = [
  () => Buffer.from('GARBAGE\r\n\r\n'),
  () => Buffer.from('GET /e HTTP/9.9\r\nhost: x\r\n\r\n'),
  () => Buffer.from('POST /e HTTP/1.1\r\nhost: x\r\ncontent-length: -5\r\n\r\n'),
  () => Buffer.from('POST /e HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\ncontent-length: 20\r\n\r\n0123456789'),
  () => Buffer.from('POST /e HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n\r\n'),
  () => Buffer.from(`GET /${'a'.repeat(70_000)} HTTP/1.1\r\nhost: x\r\n\r\n`),
  () =>
    Buffer.from(
      `GET /e HTTP/1.1\r\nhost: x\r\n${Array.from({ length: 3000 }, (_, i) => `h${i}: v`).join('\r\n')}\r\n\r\n`,
    ),
  () => Buffer.from(`GET /e HTTP/1.1\r\nhost: x\r\nx-big: ${'b'.repeat(40_000)}\r\n\r\n`),
  () =>
    Buffer.concat([
      Buffer.from('POST /e HTTP/1.1\r\nhost: x\r\ncontent-type: text/plain\r\ncontent-length: 5000000\r\n\r\n'),
      Buffer.alloc(200_000, 0x61),
    ]),
  () => Buffer.from('GET /e\u0000 HTTP/1.1\r\nhost: x\r\n\r\n', 'latin1'),
];

function add(into: RawTally, from: RawTally): void {
  into.requests += from.requests;
  into.responses += from.responses;
  into.closedEarly += from.closedEarly;
  for (const [s, n] of Object.entries(from.byStatus)) into.byStatus[s] = (into.byStatus[s] ?? 0) + n;
}

it(`answers ${faults.fuzzRequests} random and malformed requests without a single 5xx or crash`, async () => {
  const seed = Date.now() % 2 ** 31;
  const random = prng(seed);
  const total: RawTally = { requests: 0, responses: 0, byStatus: {}, closedEarly: 0 };
  const ports = { collector: collector.port, reporter: reporter.port };
  const perBatch = 100;
  const concurrency = 8;
  const brokenShare = Math.floor(faults.fuzzRequests / 50);
  let sent = 0;
  // Pipelined well-formed-but-hostile requests.
  const workers = Array.from({ length: concurrency }, async (_, w) => {
    const target = w % 2 === 0 ? 'collector' : 'reporter';
    while (sent < faults.fuzzRequests - brokenShare) {
      const batch = Array.from({ length: perBatch }, () => hostile(random, target));
      sent += batch.length;
      add(total, await pipelined(ports[target], batch));
    }
  });
  await Promise.all(workers);
  // Protocol breakage, one connection each.
  for (let i = 0; i < brokenShare; i += 20) {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, j) =>
        pipelined(j % 2 ? ports.reporter : ports.collector, [BROKEN[(i + j) % BROKEN.length]!()], 5000),
      ),
    );
    for (const r of results) add(total, r);
  }
  // Slow bodies: the servers answer or time the request out; they do not wait forever or fall over.
  const slow = await Promise.all(
    [collector.port, reporter.port, collector.port].map((port, i) =>
      slowBody(
        port,
        `POST ${i === 1 ? '/v1/admin/partners' : '/e'} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 60\r\n\r\n`,
        Buffer.alloc(60, 0x20),
        100,
        8000,
      ),
    ),
  );

  const fiveHundreds = Object.entries(total.byStatus).filter(([s]) => Number(s) >= 500);
  console.info(`fuzz: seed ${seed}, ${JSON.stringify(total)}, slow bodies ${JSON.stringify(slow)}`);
  expect(total.requests).toBeGreaterThanOrEqual(faults.fuzzRequests);
  expect(fiveHundreds).toEqual([]);
  // Every request got an answer, except where the server refused at the protocol level and hung up.
  expect(total.responses + total.closedEarly).toBe(total.requests);
  expect(total.closedEarly).toBeLessThan(brokenShare);
  expect(slow.every((s) => /^\d{3}$/.test(s) && Number(s) < 500)).toBe(true);
  expect(collector.child.exitCode).toBeNull();
  expect(reporter.child.exitCode).toBeNull();
  expect((await fetch(`${collector.url}/healthz`)).status).toBe(200);
  expect((await fetch(`http://127.0.0.1:${reporter.port}/healthz`)).status).toBe(200);
  const errorLines = `${collector.output()}\n${reporter.output()}`.split('\n').filter((l) => /"level":(50|60)/.test(l));
  expect(errorLines).toEqual([]);

  recordScenario({
    scenario: 'hostile HTTP',
    sent: total.requests,
    accepted: total.responses,
    counted: total.byStatus['202'] ?? 0,
    lost: 0,
    duplicated: 0,
    notes: `0 × 5xx; statuses ${Object.entries(total.byStatus)
      .map(([s, n]) => `${s}:${n}`)
      .join(' ')}; ${total.closedEarly} hung up on after a protocol error; slow bodies ${slow.join('/')}`,
  });
}, 600_000);
