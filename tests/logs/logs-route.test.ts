import { gzipSync } from 'node:zlib';
import {
  createIngestKey,
  revokeIngestKey,
  logRoutes,
  ClickHouseSaltStore,
  createMetrics,
  RareValueGate,
} from '@confidant/collector/components';
import { createLogger, PracticeStore, type Db, type EventEnvelope, type ControlDb } from '@confidant/shared';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { prepareNamespace } from '../support/stack.ts';
import { isolatedConfig } from '../support/test-env.ts';

const UA =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15';
const line = (n: number, path = '/services', status = 200) =>
  `203.0.113.${n % 250} - - [11/Oct/2026:08:${String(Math.floor(n / 60) % 60).padStart(2, '0')}:${String(n % 60).padStart(2, '0')} +0200] "GET ${path} HTTP/1.1" ${status} 512 "https://www.bing.com/" "${UA}"`;
const body = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => line(from + i)).join('\n') + '\n';

let db: Db;
let saltDb: Db;

let control: ControlDb;
let cleanup: () => Promise<void>;
let app: FastifyInstance;
let key: string;
let otherKey: string;
const events: EventEnvelope[] = [];
const metrics = createMetrics();

beforeAll(async () => {
  const config = isolatedConfig('logsroute');
  ({ db, salts: saltDb, control, cleanup } = await prepareNamespace(config));
  const practices = new PracticeStore(control);
  await practices.save({
    id: 'north-clinic',
    siteKey: 'site-north',
    name: 'North',
    domains: ['north.example'],
    timezone: 'Europe/Berlin',
  });
  await practices.save({
    id: 'south-clinic',
    siteKey: 'site-south',
    name: 'South',
    domains: ['south.example'],
    timezone: 'America/Chicago',
  });
  key = await createIngestKey(control, 'north-clinic');
  otherKey = await createIngestKey(control, 'south-clinic');
  app = Fastify({ loggerInstance: createLogger('logs-route', 'silent') as FastifyBaseLogger });
  await app.register(logRoutes, {
    db,
    control,
    practices,
    sink: { submit: async (_k, batch) => void events.push(...batch) },
    salts: new ClickHouseSaltStore(saltDb),
    country: () => 'DE',
    // k = 1: these lines all come from one /24; the gate's rule for log lines is tested in collector/src/logs/log-import.test.ts.
    rareValues: new RareValueGate(1, 1000),
    metrics,
    bodyLimit: 64 * 1024,
  });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await cleanup?.();
});

beforeEach(() => {
  events.length = 0;
});

const post = (payload: string | Buffer, headers: Record<string, string> = {}, secret: string | null = key) =>
  app.inject({
    method: 'POST',
    url: '/v1/logs',
    payload,
    headers: { 'content-type': 'text/plain', ...(secret ? { authorization: `Bearer ${secret}` } : {}), ...headers },
  });

describe('POST /v1/logs', () => {
  it('refuses requests without a valid ingest key', async () => {
    for (const secret of [null, 'cfi_not-a-key', 'nonsense']) {
      const r = await post(body(0, 2), {}, secret);
      expect(r.statusCode).toBe(401);
      expect(r.json()).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    }
    expect(events).toHaveLength(0);
  });

  it('imports plain lines for the key’s practice and answers with the summary; a repeat counts nothing', async () => {
    const payload = body(0, 5) + line(5, '/js/app.js') + '\n' + 'broken line\n' + line(7, '/nope', 404) + '\n';
    const r = await post(payload);
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({
      linesRead: 8,
      pageviews: 5,
      notFound: 1,
      skipped: { asset: 1 },
      malformed: { count: 1, lines: [7] },
      linesCommitted: 8,
    });
    expect(events).toHaveLength(6);
    expect(
      events.every((e) => e.practiceId === 'north-clinic' && e.source === 'logs' && e.referrerDomain === 'bing.com'),
    ).toBe(true);
    expect(events[0]!.ts).toBe(Date.UTC(2026, 9, 11, 6, 0, 0));

    const again = await post(payload);
    expect(again.json()).toMatchObject({ linesRead: 8, alreadyImported: 8, pageviews: 0 });
    expect(events).toHaveLength(6);
    const lines = Object.fromEntries((await metrics.logLines.get()).values.map((v) => [v.labels.outcome, v.value]));
    expect(lines).toEqual({ pageview: 5, notfound: 1, skipped: 1, malformed: 1, 'already-imported': 8 });
  });

  it('accepts gzip bodies (Content-Encoding or magic bytes) and JSON lines', async () => {
    const zipped = gzipSync(body(100, 110));
    const a = await post(zipped, { 'content-encoding': 'gzip', 'content-type': 'application/octet-stream' });
    expect(a.json()).toMatchObject({ linesRead: 10, pageviews: 10 });
    const json = [
      {
        remote_addr: '2001:db8::5',
        time_iso8601: '2026-10-11T09:00:00+02:00',
        request: 'GET /team HTTP/2.0',
        status: '200',
        http_referer: '',
        http_user_agent: UA,
      },
      {
        remote_addr: '2001:db8::5',
        time_iso8601: '2026-10-11T09:00:04+02:00',
        request: 'GET /team/photo.webp HTTP/2.0',
        status: '200',
        http_referer: '',
        http_user_agent: UA,
      },
    ]
      .map((o) => JSON.stringify(o))
      .join('\n');
    const b = await post(json, { 'content-type': 'application/x-ndjson', 'x-log-format': 'json' });
    expect(b.json()).toMatchObject({ linesRead: 2, pageviews: 1, skipped: { asset: 1 } });
    expect(events.at(-1)).toMatchObject({ page: '/team', ts: Date.UTC(2026, 9, 11, 7, 0, 0) });
    // Labelled application/json, as some shippers do, the lines are read the same.
    const later = JSON.stringify({
      remote_addr: '2001:db8::6',
      time_iso8601: '2026-10-11T10:00:00+02:00',
      request: 'GET /contact HTTP/2.0',
      status: 200,
      http_user_agent: UA,
    });
    expect((await post(later, { 'content-type': 'application/json', 'x-log-format': 'json' })).json()).toMatchObject({
      linesRead: 1,
      pageviews: 1,
    });
  });

  it('resumes shipper imports by X-Import-Id and X-Chunk-Start, and refuses a gap', async () => {
    const h = (start: number) => ({ 'x-import-id': 'shipper-1', 'x-chunk-start': String(start) });
    expect((await post(body(200, 210), h(0))).json()).toMatchObject({ pageviews: 10, linesCommitted: 10 });
    const gap = await post(body(230, 240), h(30));
    expect(gap.statusCode).toBe(409);
    expect(gap.json().error.code).toBe('conflict');
    // The shipper re-sends from line 5 after a lost answer: only lines 11-15 are new.
    expect((await post(body(205, 215), h(5))).json()).toMatchObject({
      alreadyImported: 5,
      pageviews: 5,
      linesCommitted: 15,
    });
    expect(events).toHaveLength(15);
    // The same shipper id under another practice is a different import.
    expect((await post(body(200, 202), h(0), otherKey)).json()).toMatchObject({ pageviews: 2, alreadyImported: 0 });
    expect(events.at(-1)!.practiceId).toBe('south-clinic');
  });

  it('answers bad input with machine-readable 4xx errors', async () => {
    const cases: Array<[Awaited<ReturnType<typeof post>>, number, string]> = [
      [await post(body(0, 1), { 'x-log-format': 'w3c' }), 400, 'invalid_parameter'],
      [await post(body(0, 1), { 'x-log-format': 'nginx:$status' }), 400, 'invalid_parameter'],
      [await post(body(0, 1), { 'x-chunk-start': '3' }), 400, 'invalid_parameter'],
      // An import id without its start line: a next body would be taken for the first and skipped.
      [await post(body(0, 1), { 'x-import-id': 'shipper-2' }), 400, 'invalid_parameter'],
      [await post(body(0, 1), { 'x-import-id': 'bad id with spaces' }), 400, 'invalid_parameter'],
      [await post(body(0, 1), { 'content-type': 'image/png' }), 415, 'unsupported_media_type'],
      [await post(body(0, 1), { 'content-encoding': 'br' }), 415, 'unsupported_media_type'],
      [
        await post(Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.from('not really gzip')])),
        400,
        'invalid_body',
      ],
      [await post('x'.repeat(65 * 1024)), 413, 'payload_too_large'],
    ];
    for (const [r, status, code] of cases) {
      expect([r.statusCode, r.json().error.code]).toEqual([status, code]);
    }
    expect(events).toHaveLength(0);
  });

  it('stops accepting a revoked key from the very next upload', async () => {
    const temp = await createIngestKey(control, 'north-clinic');
    expect((await post(body(300, 301), {}, temp)).statusCode).toBe(200);
    await revokeIngestKey(control, temp);
    expect((await post(body(301, 302), {}, temp)).statusCode).toBe(401);
  });
});
