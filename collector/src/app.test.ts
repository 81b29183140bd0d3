import { gunzipSync } from 'node:zlib';
import {
  createLogger,
  decodeEvent,
  encodeEvent,
  practiceSchema,
  type EventEnvelope,
  type Practice,
} from '@confidant/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from './app.ts';
import { loadCollectorConfig } from './collector.config.ts';
import { MemorySaltStore } from './deid/salt-store.ts';
import { SpoolFullError } from './kafka/disk-spool.ts';
import { createMetrics } from './metrics.ts';
import { PracticeRegistry } from './registry/practice-registry.ts';

const UA =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15';
const BROWSER = { 'user-agent': UA, 'accept-language': 'en-US', 'content-type': 'text/plain' };

const practices: Practice[] = [
  practiceSchema.parse({
    id: 'riverside',
    siteKey: 'site-riverside',
    name: 'Riverside Family',
    domains: ['clinic.example'],
    timezone: 'UTC',
    exitAllowlist: ['cdc.gov'],
    propsAllowlist: ['plan'],
    events: [{ name: 'Signup' }],
  }),
  practiceSchema.parse({
    id: 'lakeside',
    siteKey: 'site-lakeside',
    name: 'Lakeside',
    domains: ['lake.example'],
    timezone: 'UTC',
    cookieMode: true,
  }),
];

class FakeSink {
  events: Array<{ key: string; event: EventEnvelope }> = [];
  full = false;
  async submit(key: string, event: EventEnvelope) {
    if (this.full) throw new SpoolFullError('full');
    // Round-trip through the real encoder so an invalid envelope fails the test.
    const decoded = decodeEvent(encodeEvent(event));
    if (!decoded.ok) throw new Error(decoded.reason);
    this.events.push({ key, event: decoded.event });
  }
  ready() {
    return !this.full;
  }
}

const sink = new FakeSink();
const metrics = createMetrics();
const defaults = loadCollectorConfig({});
// k = 1 for the adapters' tests: the rare-value gate is tested on its own ('the rare-value gate' below).
const config = { ...defaults, rateLimitPerMin: 50, rareValues: { ...defaults.rareValues, minVisitors: 1 } };
const registry = new PracticeRegistry(
  { list: async () => practices, revision: async () => '1' },
  createLogger('t', 'silent'),
);
const app = await buildApp({
  config,
  logger: createLogger('t', 'silent'),
  registry,
  salts: new MemorySaltStore(),
  sink,
  metrics,
  country: () => 'DE',
});

let ipCounter = 0;
/** Each test request comes from its own address so the rate limiter stays out of the way. */
const beacon = (body: unknown, headers: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url: '/e',
    headers: { ...BROWSER, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    remoteAddress: `198.51.100.${++ipCounter % 250}`,
  });
const last = () => sink.events.at(-1)!.event;

beforeAll(() => registry.refresh());
afterAll(() => app.close());

describe('POST /e', () => {
  it('accepts a page view with 202 and an empty body', async () => {
    const res = await beacon({
      site: 'site-riverside',
      type: 'pageview',
      url: 'https://clinic.example/services?utm_source=fb',
      referrer: 'https://m.facebook.com/x',
    });
    expect(res.statusCode).toBe(202);
    expect(res.body).toBe('');
    expect(last()).toMatchObject({
      practiceId: 'riverside',
      page: '/services',
      utmSource: 'fb',
      referrerDomain: 'facebook.com',
      country: 'DE',
      browser: 'Safari',
      os: 'macOS',
    });
  });

  it('takes call, email and form signals and scroll depth without the number, address or content', async () => {
    const url = 'https://clinic.example/contact';
    const sent = async (body: object) => {
      expect((await beacon({ site: 'site-riverside', url, width: 1280, ...body })).statusCode).toBe(202);
      return last();
    };
    expect(await sent({ type: 'tel:' })).toMatchObject({ type: 'event', action: 'call', screen: 'laptop' });
    expect(await sent({ type: 'mailto:' })).toMatchObject({ type: 'event', action: 'email', name: null });
    expect(await sent({ type: 'form', form: 'New Patient' })).toMatchObject({ action: 'form', form: 'new-patient' });
    expect(await sent({ type: 'form' })).toMatchObject({ action: 'form', form: '/contact' });
    expect(await sent({ type: 'outbound', target: 'https://www.google.com/maps/dir/?daddr=12+Main' })).toMatchObject({
      type: 'event',
      action: 'directions',
      target: null,
    });
    expect(await sent({ type: 'engagement', engagedMs: 900, scroll: 0.8 })).toMatchObject({ scroll: 75 });
    expect(JSON.stringify(sink.events.slice(-6))).not.toMatch(/Main|1280/);
  });

  it('accepts application/json too', async () => {
    expect(
      (
        await beacon(
          { site: 'site-riverside', type: 'pageview', url: 'https://clinic.example/' },
          { 'content-type': 'application/json' },
        )
      ).statusCode,
    ).toBe(202);
  });

  it.each([
    ['not json', 'invalid_json', 'body is not valid JSON'],
    [{ type: 'pageview', url: 'https://clinic.example/' }, 'invalid_body', 'site:'],
    [{ site: 'site-riverside', type: 'click', url: 'https://clinic.example/' }, 'invalid_body', 'type:'],
    [{ site: 'site-riverside', type: 'pageview' }, 'invalid_body', 'url:'],
    [
      { site: 'site-riverside', type: 'pageview', url: 'https://clinic.example/', engagedMs: -1 },
      'invalid_body',
      'engagedMs:',
    ],
    [
      { site: 'site-riverside', type: 'pageview', url: 'https://clinic.example/', width: 'wide' },
      'invalid_body',
      'width:',
    ],
    [{ site: 'site-riverside', type: 'event', url: 'https://clinic.example/', name: '' }, 'invalid_body', 'name:'],
    [{ site: 'site-riverside', type: 'outbound', url: 'https://clinic.example/' }, 'invalid_body', 'target:'],
    [[1, 2], 'invalid_body', 'body:'],
  ])('answers 400 for %j', async (body, code, message) => {
    const res = await beacon(body);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe(code);
    expect(res.json().error.message).toContain(message);
  });

  it('answers 404 for an unknown site and for a URL outside the site', async () => {
    const unknown = await beacon({ site: 'nope-nope', type: 'pageview', url: 'https://clinic.example/' });
    expect([unknown.statusCode, unknown.json().error.code]).toEqual([404, 'unknown_site']);
    const outside = await beacon({ site: 'site-riverside', type: 'pageview', url: 'https://evil.example/' });
    expect([outside.statusCode, outside.json().error.code]).toEqual([404, 'url_outside_site']);
  });

  it('answers 503 + Retry-After, not 404, while the registry has never loaded (control plane away at start)', async () => {
    const cold = await buildApp({
      config,
      logger: createLogger('t', 'silent'),
      registry: new PracticeRegistry(
        {
          list: async () => {
            throw new Error('control plane unavailable');
          },
          revision: async () => {
            throw new Error('control plane unavailable');
          },
        },
        createLogger('t', 'silent'),
      ),
      salts: new MemorySaltStore(),
      sink,
      metrics: createMetrics(),
      country: () => 'DE',
    });
    try {
      const res = await cold.inject({
        method: 'POST',
        url: '/e',
        headers: BROWSER,
        body: JSON.stringify({ site: 'site-riverside', type: 'pageview', url: 'https://clinic.example/' }),
        remoteAddress: '198.51.100.251',
      });
      expect([res.statusCode, res.json().error.code, res.headers['retry-after']]).toEqual([503, 'unavailable', '5']);
    } finally {
      await cold.close();
    }
  });

  it('answers 413 above 4 KiB and 415 for other content types', async () => {
    const big = await beacon({
      site: 'site-riverside',
      type: 'pageview',
      url: 'https://clinic.example/',
      referrer: `https://x.example/${'a'.repeat(4100)}`,
    });
    expect([big.statusCode, big.json().error.code]).toEqual([413, 'payload_too_large']);
    const form = await beacon('site=x', { 'content-type': 'application/x-www-form-urlencoded' });
    expect([form.statusCode, form.json().error.code]).toEqual([415, 'unsupported_media_type']);
  });

  it('drops GPC, DNT and bots silently with 202', async () => {
    const before = sink.events.length;
    const variants: Array<Record<string, string>> = [
      { 'sec-gpc': '1' },
      { dnt: '1' },
      { 'user-agent': 'Googlebot/2.1 (+http://www.google.com/bot.html)' },
    ];
    for (const headers of variants) {
      expect(
        (await beacon({ site: 'site-riverside', type: 'pageview', url: 'https://clinic.example/' }, headers))
          .statusCode,
      ).toBe(202);
    }
    expect(sink.events.length).toBe(before);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/collector_events_dropped_total\{reason="opted-out"\} 2/);
    expect(text).toMatch(/collector_events_dropped_total\{reason="bot"\} 1/);
  });

  it('answers 503 with Retry-After when events cannot be made durable', async () => {
    sink.full = true;
    const res = await beacon({ site: 'site-riverside', type: 'pageview', url: 'https://clinic.example/' });
    sink.full = false;
    expect([res.statusCode, res.json().error.code, res.headers['retry-after']]).toEqual([503, 'unavailable', '30']);
  });

  it('sets a random first-party id cookie in cookie mode and keys by it when it comes back', async () => {
    const headers = { origin: 'https://lake.example' };
    const first = await beacon({ site: 'site-lakeside', type: 'pageview', url: 'https://lake.example/' }, headers);
    const cookie = String(first.headers['set-cookie']);
    expect(cookie).toMatch(/^cf_id=[0-9a-f]{32}; Max-Age=31536000; Path=\/; SameSite=None; Secure; HttpOnly$/);
    expect(first.headers['access-control-allow-credentials']).toBe('true');
    const id = cookie.slice(6, 38);
    await beacon(
      { site: 'site-lakeside', type: 'pageview', url: 'https://lake.example/a' },
      { ...headers, cookie: `cf_id=${id}` },
    );
    const a = last().visitor;
    const again = await beacon(
      { site: 'site-lakeside', type: 'pageview', url: 'https://lake.example/b' },
      { ...headers, cookie: `cf_id=${id}` },
    );
    expect(again.headers['set-cookie']).toBeUndefined();
    expect(last().visitor).toBe(a);
    expect(JSON.stringify(sink.events)).not.toContain(id);
  });

  it('rate limits per IP with 429', async () => {
    const send = () =>
      app.inject({
        method: 'POST',
        url: '/e',
        headers: BROWSER,
        remoteAddress: '203.0.113.99',
        body: JSON.stringify({ site: 'site-riverside', type: 'pageview', url: 'https://clinic.example/' }),
      });
    let res = await send();
    for (let i = 0; i < 60 && res.statusCode !== 429; i++) res = await send();
    expect([res.statusCode, res.json().error.code]).toEqual([429, 'rate_limited']);
  });
});

describe('POST /api/event (Plausible)', () => {
  const plausible = (body: unknown) =>
    app.inject({
      method: 'POST',
      url: '/api/event',
      headers: BROWSER,
      body: JSON.stringify(body),
      remoteAddress: `192.0.2.${++ipCounter % 250}`,
    });

  it('maps pageviews by domain', async () => {
    expect(
      (
        await plausible({
          n: 'pageview',
          u: 'https://www.clinic.example/about',
          d: 'clinic.example',
          r: 'https://duckduckgo.com/',
        })
      ).statusCode,
    ).toBe(202);
    expect(last()).toMatchObject({
      type: 'pageview',
      page: '/about',
      referrerDomain: 'duckduckgo.com',
      practiceId: 'riverside',
    });
  });

  it('maps outbound, download, 404, engagement and custom events with allowlisted props', async () => {
    await plausible({
      n: 'Outbound Link: Click',
      u: 'https://clinic.example/c',
      d: 'clinic.example',
      p: { url: 'https://maps.example.com/x' },
    });
    expect(last()).toMatchObject({ type: 'outbound', target: 'example.com' });
    await plausible({
      n: 'File Download',
      u: 'https://clinic.example/c',
      d: 'clinic.example',
      p: '{"url":"https://clinic.example/forms/intake.pdf"}',
    });
    expect(last()).toMatchObject({ type: 'download', target: '/forms/intake.pdf' });
    await plausible({ n: '404', u: 'https://clinic.example/missing', d: 'clinic.example' });
    expect(last().type).toBe('notfound');
    await plausible({ n: 'engagement', u: 'https://clinic.example/c', d: 'clinic.example', e: 5300 });
    expect(last()).toMatchObject({ type: 'engagement', engagedMs: 5300 });
    await plausible({
      n: 'Signup',
      u: 'https://clinic.example/c',
      d: 'clinic.example',
      p: { plan: 'basic', email: 'jane@x.org' },
    });
    expect(last()).toMatchObject({ type: 'event', name: 'Signup', props: { plan: 'basic' } });
  });

  it('maps sd, Form: Submission, call, email and directions events and links to the built-in signals', async () => {
    const u = 'https://clinic.example/contact';
    await plausible({ n: 'engagement', u, d: 'clinic.example', e: 4000, sd: 63, w: 390 });
    expect(last()).toMatchObject({ type: 'engagement', engagedMs: 4000, scroll: 50, screen: 'mobile' });
    await plausible({ n: 'Form: Submission', u, d: 'clinic.example', p: { email: 'jane@x.org' } });
    expect(last()).toMatchObject({ type: 'event', action: 'form', form: '/contact', name: null });
    expect(last().props).toBeUndefined();
    for (const [n, action] of [
      ['Phone Call', 'call'],
      ['email', 'email'],
      ['Get Directions', 'directions'],
    ] as const) {
      await plausible({ n, u, d: 'clinic.example', p: { number: '555-010-2000' } });
      expect(last()).toMatchObject({ type: 'event', action, name: null });
    }
    await plausible({ n: 'Outbound Link: Click', u, d: 'clinic.example', p: { url: 'https://maps.apple.com/?q=x' } });
    expect(last()).toMatchObject({ type: 'event', action: 'directions', target: null });
    expect(JSON.stringify(sink.events.slice(-6))).not.toMatch(/555|jane|apple/);
  });

  it('answers 404 for an unregistered domain and 400 for a bad body', async () => {
    expect((await plausible({ n: 'pageview', u: 'https://other.example/', d: 'other.example' })).statusCode).toBe(404);
    const bad = await plausible({ n: 'pageview', d: 'clinic.example' });
    expect([bad.statusCode, bad.json().error.message]).toEqual([
      400,
      'u: Invalid input: expected string, received undefined',
    ]);
  });
});

describe('GET /e.gif', () => {
  it('counts a noscript page view from the Referer and returns a GIF', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/e.gif?site=site-riverside',
      headers: { ...BROWSER, referer: 'https://clinic.example/contact' },
      remoteAddress: '192.0.2.200',
    });
    expect(res.statusCode).toBe(202);
    expect(res.headers['content-type']).toBe('image/gif');
    expect(last()).toMatchObject({ type: 'pageview', page: '/contact' });
  });
});

describe('GET /s.js', () => {
  it('serves a minified snippet under 1 KB gzipped, with ETag and long caching', async () => {
    const res = await app.inject({ method: 'GET', url: '/s.js', headers: { 'accept-encoding': 'gzip' } });
    expect(res.statusCode).toBe(200);
    expect(res.rawPayload.length).toBeLessThanOrEqual(1024);
    expect(gunzipSync(res.rawPayload).toString()).toContain('/e');
    expect(res.headers['cache-control']).toContain('max-age=604800');
    const again = await app.inject({
      method: 'GET',
      url: '/s.js',
      headers: { 'if-none-match': String(res.headers.etag) },
    });
    expect(again.statusCode).toBe(304);
  });
});

describe('GET /out', () => {
  const out = (to: string) =>
    app.inject({
      method: 'GET',
      url: `/out?site=site-riverside&to=${encodeURIComponent(to)}`,
      headers: BROWSER,
      remoteAddress: '192.0.2.201',
    });

  it('names practice and destination, records the exit, and waits for a click', async () => {
    const res = await out('https://www.example.org/path?email=jane@x.org');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('Riverside Family');
    expect(res.body).toContain('<p class="dest">www.example.org</p>');
    expect(res.body).not.toContain('http-equiv="refresh"');
    expect(last()).toMatchObject({ type: 'outbound', target: 'example.org', page: '/' });
  });

  it('continues automatically only to allowlisted domains', async () => {
    expect((await out('https://www.cdc.gov/flu')).body).toContain(
      'http-equiv="refresh" content="3;url=https://www.cdc.gov/flu"',
    );
  });

  it('refuses non-http destinations', async () => {
    for (const to of ['javascript:alert(1)', 'data:text/html,x', '//evil.example', 'https://user:pw@evil.example/']) {
      expect((await out(to)).statusCode).toBe(400);
    }
  });
});

describe('GET /privacy', () => {
  it('serves JSON and HTML generated from the configuration', async () => {
    const json = (await app.inject({ method: 'GET', url: '/privacy?site=site-riverside&format=json' })).json();
    expect(json.revisedAt).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(json.practice.exitAllowlist).toEqual(['cdc.gov']);
    expect(json.retention.map((r: { item: string }) => r.item)).toContain('Daily salt');
    expect(json.derived.find((r: { item: string }) => r.item.startsWith('Referring sites')).detail).toContain(
      `until ${config.rareValues.minVisitors} different visitors`,
    );
    const html = await app.inject({ method: 'GET', url: '/privacy?site=site-riverside' });
    expect(html.headers['content-type']).toContain('text/html');
    expect(html.body).toContain(json.revisedAt);
  });
});

describe('health', () => {
  it('reports alive, ready and metrics', async () => {
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    sink.full = true;
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    sink.full = false;
    expect((await app.inject({ method: 'GET', url: '/metrics' })).body).toContain('collector_events_accepted_total');
  });

  it('answers unknown paths with a JSON 404', async () => {
    const res = await app.inject({ method: 'GET', url: '/nope' });
    expect([res.statusCode, res.json().error.code]).toEqual([404, 'not_found']);
  });
});

describe('load shedding', () => {
  it('refuses hits beyond the in-flight bound with 503 + Retry-After, counts them, and admits again once they finish', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const slow = new FakeSink();
    const blocked = {
      submit: async (key: string, event: EventEnvelope) => gate.then(() => slow.submit(key, event)),
      ready: () => true,
    };
    const shedMetrics = createMetrics();
    const small = await buildApp({
      config: { ...config, shed: { ...config.shed, maxInFlight: 2 } },
      logger: createLogger('t', 'silent'),
      registry,
      salts: new MemorySaltStore(),
      sink: blocked,
      metrics: shedMetrics,
      country: () => 'DE',
    });
    const send = () =>
      small.inject({
        method: 'POST',
        url: '/e',
        headers: BROWSER,
        body: JSON.stringify({ site: 'site-riverside', type: 'pageview', url: 'https://clinic.example/' }),
      });
    const held = [send(), send()];
    await expect.poll(async () => (await shedMetrics.inFlight.get()).values[0]?.value).toBe(2);
    const refused = await send();
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe('2');
    expect(refused.json().error.code).toBe('unavailable');
    // Health and metrics stay reachable while hits are shed.
    expect((await small.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await small.inject({ method: 'GET', url: '/metrics' })).body).toMatch(
      /collector_requests_shed_total\{reason="in-flight"\} 1/,
    );
    release();
    expect((await Promise.all(held)).map((r) => r.statusCode)).toEqual([202, 202]);
    expect((await send()).statusCode).toBe(202);
    expect(slow.events).toHaveLength(3);
    await small.close();
  });
});

describe('the rare-value gate', () => {
  it('is one for every beacon entry point: a value is kept from its k-th visitor, on k networks, on', async () => {
    expect(defaults.rareValues.minVisitors).toBe(3);
    const gated = new FakeSink();
    const app3 = await buildApp({
      config: { ...defaults, rateLimitPerMin: 1000 },
      logger: createLogger('t', 'silent'),
      registry,
      salts: new MemorySaltStore(),
      sink: gated,
      metrics: createMetrics(),
      country: () => 'DE',
    });
    const url = 'https://clinic.example/services?utm_campaign=spring-open-day';
    const referrer = 'https://www.healthgrades.com/x';
    const fromNetwork = (n: number) => ({ remoteAddress: `192.0.${n}.10` });
    const sends = [
      () =>
        app3.inject({
          method: 'POST',
          url: '/e',
          headers: BROWSER,
          ...fromNetwork(1),
          body: JSON.stringify({ site: 'site-riverside', type: 'pageview', url, referrer }),
        }),
      // The same visitor's network again with another browser: not a second visitor.
      () =>
        app3.inject({
          method: 'POST',
          url: '/e',
          headers: { ...BROWSER, 'user-agent': UA.replace('17.4', '17.5') },
          ...fromNetwork(1),
          body: JSON.stringify({ site: 'site-riverside', type: 'pageview', url, referrer }),
        }),
      () =>
        app3.inject({
          method: 'GET',
          url: `/e.gif?site=site-riverside&u=${encodeURIComponent(url)}&r=${encodeURIComponent(referrer)}`,
          headers: BROWSER,
          ...fromNetwork(2),
        }),
      () =>
        app3.inject({
          method: 'POST',
          url: '/api/event',
          headers: BROWSER,
          ...fromNetwork(3),
          body: JSON.stringify({ n: 'pageview', u: url, d: 'clinic.example', r: referrer, w: 1280 }),
        }),
    ];
    for (const send of sends) expect((await send()).statusCode).toBe(202);
    expect(gated.events.map((e) => [e.event.utmCampaign, e.event.referrerDomain])).toEqual([
      ['(rare)', '(rare)'],
      ['(rare)', '(rare)'],
      ['(rare)', '(rare)'],
      ['spring-open-day', 'healthgrades.com'],
    ]);
    await app3.close();
  });
});
