import { eventEnvelopeSchema, eventJson, practiceSchema, type Practice } from '@confidant/shared';
import { describe, expect, it } from 'vitest';
import {
  deidentifyHit,
  eventKey,
  directSteps,
  visitorSaltKind,
  type ClientFacts,
  type DeidResult,
  type RawHit,
} from './pipeline.ts';
import { RareValueGate } from './rare-value-gate.ts';
import { MemorySaltStore } from './salt-store.ts';

const UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const practice: Practice = practiceSchema.parse({
  id: 'riverside',
  siteKey: 'site-riverside',
  name: 'Riverside',
  domains: ['clinic.example'],
  timezone: 'America/New_York',
  propsAllowlist: ['plan'],
  events: [{ name: 'signup', props: { source_page: [] } }, { name: 'Newsletter: signup' }],
});
const salts = new MemorySaltStore();
// k = 1: these tests are about the other steps; the rare-value gate has its own (deid/rare-value-gate.test.ts).
const gate = new RareValueGate(1, 1000);
const NOON = Date.UTC(2025, 5, 1, 12);
type Facts = ClientFacts & { receivedAt: number };
const facts = (over: Partial<Facts> = {}): Facts => ({
  ip: '203.0.113.7',
  userAgent: UA,
  acceptLanguage: 'en-US',
  optedOut: false,
  cookieId: null,
  receivedAt: NOON,
  ...over,
});
type Hit = Omit<RawHit, 'source' | 'client' | 'time'>;
const hit = (over: Partial<Hit> = {}): Hit => ({
  type: 'pageview',
  url: 'https://clinic.example/services?utm_source=News&x=1',
  referrer: 'https://www.google.com/q',
  ...over,
});

/** As the snippet's adapter (routes/hit-handler.ts) runs the pipeline: the salt first, then the steps. */
async function deidentify(h: Hit, f: Facts, p: Practice): Promise<DeidResult> {
  const { receivedAt, ...client } = f;
  const salt = await salts.saltFor(visitorSaltKind(client, p), receivedAt);
  const steps = directSteps(p, { country: () => 'US', salt: () => salt });
  return deidentifyHit({ ...h, source: 'snippet', client, time: receivedAt }, p, steps, gate);
}

async function ok(h: Hit, f = facts(), p = practice) {
  const r = await deidentify(h, f, p);
  if (r.kind !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(r)}`);
  return r.value;
}

describe('deidentifyHit (snippet)', () => {
  it('produces a valid envelope with derived fields only', async () => {
    const { event } = await ok(hit());
    expect(eventEnvelopeSchema.parse(event)).toEqual(event);
    expect(event).toMatchObject({
      practiceId: 'riverside',
      page: '/services',
      referrerDomain: 'google.com',
      utmSource: 'news',
      country: 'US',
      browser: 'Chrome',
      os: 'Windows',
      device: 'desktop',
      countOnly: false,
    });
    expect(eventKey(event)).toBe(`riverside:${event.visitor}`);
    const text = JSON.stringify(event);
    expect(text).not.toContain('203.0.113.7');
    expect(text).not.toContain('Mozilla');
  });

  it('keys the same visitor identically within a day and differently per practice', async () => {
    const a = await ok(hit());
    const b = await ok(hit({ url: 'https://clinic.example/contact' }), facts({ receivedAt: Date.UTC(2025, 5, 1, 20) }));
    const other = await ok(hit(), facts(), { ...practice, id: 'other' });
    const nextDay = await ok(hit(), facts({ receivedAt: Date.UTC(2025, 5, 2, 1) }));
    expect(b.event.visitor).toBe(a.event.visitor);
    expect(other.event.visitor).not.toBe(a.event.visitor);
    expect(nextDay.event.visitor).not.toBe(a.event.visitor);
  });

  it('drops opted-out requests and bots', async () => {
    expect(await deidentify(hit(), facts({ optedOut: true }), practice)).toEqual({
      kind: 'drop',
      reason: 'opted-out',
    });
    expect(
      await deidentify(hit(), facts({ userAgent: 'Googlebot/2.1 (+http://www.google.com/bot.html)' }), practice),
    ).toEqual({ kind: 'drop', reason: 'bot' });
  });

  it('refuses URLs outside the practice domains and bad URLs, saying which', async () => {
    expect(await deidentify(hit({ url: 'https://evil.example/' }), facts(), practice)).toEqual({
      kind: 'invalid',
      reason: 'url-outside-site',
    });
    expect(await deidentify(hit({ url: 'ftp://clinic.example/' }), facts(), practice)).toEqual({
      kind: 'invalid',
      reason: 'invalid-url',
    });
  });

  it('stores count-only pages as their class without referrer or campaign', async () => {
    const { event } = await ok(hit({ url: 'https://clinic.example/appointments/new?utm_source=x' }));
    expect(event).toMatchObject({ page: 'appointments', countOnly: true, referrerDomain: null, utmSource: null });
    // No visitor value at all, not even in the Kafka key, and the producer's own check agrees.
    expect(event).not.toHaveProperty('visitor');
    expect(event).not.toHaveProperty('visitorPeriod');
    expect(eventKey(event)).toBe(`riverside:${event.id}`);
    expect(JSON.parse(eventJson(event))).not.toHaveProperty('visitor');
  });

  it('drops pages of a drop class', async () => {
    expect(await deidentify(hit({ url: 'https://clinic.example/login/reset' }), facts(), practice)).toEqual({
      kind: 'drop',
      reason: 'page-class-drop',
    });
  });

  it('reduces outbound targets to the destination site and requires them', async () => {
    const { event } = await ok(hit({ type: 'outbound', target: 'https://maps.example.com/place/jane@x.org' }));
    expect(event.target).toBe('example.com');
    const targets = ['https://jane-doe-5551234567.netlify.app/x', 'http://10.0.0.1/a', 'http://[2001:db8::1]/'];
    const out = await Promise.all(targets.map((target) => ok(hit({ type: 'outbound', target }))));
    expect(out.map((r) => r.event.target)).toEqual(['netlify.app', '(ip)', '(ip)']);
    expect((await deidentify(hit({ type: 'outbound', target: null }), facts(), practice)).kind).toBe('invalid');
  });

  it('keeps scrubbed paths of own downloads', async () => {
    const { event } = await ok(
      hit({ type: 'download', target: 'https://clinic.example/files/intake-form.pdf?u=jane' }),
    );
    expect(event.target).toBe('/files/intake-form.pdf');
  });

  it('keeps declared custom event names and counts every other name as (undeclared)', async () => {
    expect((await ok(hit({ type: 'event', name: 'Newsletter: signup' }))).event.name).toBe('Newsletter: signup');
    for (const name of ['Booked Jane Doe', 'jane@x.org', 'call 555-123-4567', '<script>', 'x'.repeat(65)]) {
      const { event } = await ok(hit({ type: 'event', name, props: { plan: 'gold' } }));
      expect(event).toMatchObject({ name: '(undeclared)' });
      expect(event).not.toHaveProperty('props');
    }
    for (const name of ['', null, '\u200b ']) {
      expect(await deidentify(hit({ type: 'event', name }), facts(), practice)).toEqual({
        kind: 'invalid',
        reason: 'invalid-name',
      });
    }
  });

  it('keeps declared and allowlisted props of a declared event, values only of a safe shape', async () => {
    const { event } = await ok(
      hit({ type: 'event', name: 'signup', props: { plan: 'Gold', email: 'jane@x.org', source_page: 'pricing' } }),
    );
    expect(event.props).toEqual({ plan: 'gold', source_page: 'pricing' });
    const { event: e2 } = await ok(hit({ type: 'event', name: 'signup', props: { plan: 'jane@x.org' } }));
    expect(e2.props).toEqual({ plan: ':email' });
    const { event: e3 } = await ok(hit({ type: 'event', name: 'signup', props: { plan: 'Jane Doe' } }));
    expect(e3.props).toEqual({ plan: '(other)' });
  });

  it('records engagement time only on engagement events', async () => {
    expect((await ok(hit({ type: 'engagement', engagedMs: 4200 }))).event.engagedMs).toBe(4200);
    expect((await ok(hit({ engagedMs: 4200 }))).event.engagedMs).toBeNull();
  });

  it('records calls, emails and directions as their kind alone, never the number, address or destination', async () => {
    const call = (await ok(hit({ type: 'event', action: 'call' }))).event;
    expect(call).toMatchObject({ type: 'event', action: 'call', name: null, target: null });
    for (const [target, action] of [
      ['https://www.google.com/maps/dir/?api=1&destination=12+Main+St', 'directions'],
      ['https://maps.apple.com/?daddr=12+Main+St', 'directions'],
      ['https://goo.gl/maps/abc123', 'directions'],
      ['https://waze.com/ul?ll=40.7,-74.0', 'directions'],
      ['https://www.openstreetmap.org/directions?to=40.7,-74.0', 'directions'],
      ['https://www.bing.com/maps?rtp=~adr.12%20Main', 'directions'],
    ] as const) {
      const { event } = await ok(hit({ type: 'outbound', target }));
      expect(event).toMatchObject({ type: 'event', action, target: null, name: null });
      expect(eventEnvelopeSchema.parse(event)).toEqual(event);
      expect(JSON.stringify(event)).not.toMatch(/Main|555|front-desk|40\.7|abc123/);
    }
    // A Google page outside /maps, and Bing search, are ordinary outbound links.
    expect((await ok(hit({ type: 'outbound', target: 'https://www.google.com/search?q=x' }))).event).toMatchObject({
      type: 'outbound',
      target: 'google.com',
    });
    expect(
      (await ok(hit({ type: 'outbound', target: 'https://www.bing.com/search?q=x' }))).event.action,
    ).toBeUndefined();
    // A call or email is its own beacon type: an outbound tel: or mailto: target is refused, as any non-web target.
    for (const target of ['tel:+1-555-010-2000', 'mailto:front-desk@clinic.example'])
      expect((await deidentify(hit({ type: 'outbound', target }), facts(), practice)).kind).toBe('invalid');
  });

  it('counts a form by its declared name, scrubbed, else by its canonical page; never its content', async () => {
    const form = async (name: string | null, url = 'https://clinic.example/contact/./us?email=a@b.c') =>
      (await ok(hit({ type: 'event', action: 'form', form: name, url }))).event;
    expect(await form('Contact Us')).toMatchObject({ type: 'event', action: 'form', form: 'contact-us', name: null });
    expect((await form(null)).form).toBe('/contact/us');
    // A declared name that identifies, or is not a slug, falls back to the page.
    expect((await form('jane-doe')).form).toBe('/contact/us');
    expect((await form('555-010-2000')).form).toBe('/contact/us');
    expect((await form('a@b.example')).form).toBe('/contact/us');
    // On a count-only page the form is its class, whatever name it declares, with no visitor.
    const booking = await form('Jane Doe Intake', 'https://clinic.example/booking/step-2');
    expect(booking).toMatchObject({ form: 'appointments', countOnly: true });
    expect(booking.visitor).toBeUndefined();
  });

  it('buckets scroll depth on engagement only, and keeps the screen class, not the width', async () => {
    const engagement = async (scrollPercent: number) =>
      (await ok(hit({ type: 'engagement', engagedMs: 1000, scrollPercent }))).event.scroll;
    expect(await Promise.all([0, 24.9, 25, 49, 50, 74.9, 75, 99.2, 99.6, 100, 140].map(engagement))).toEqual([
      0, 0, 25, 25, 50, 50, 75, 75, 100, 100, 100,
    ]);
    expect((await ok(hit({ scrollPercent: 80 }))).event.scroll).toBeUndefined();
    const screens = await Promise.all(
      [375, 575, 576, 991, 992, 1439, 1440, 2560].map(async (width) => (await ok(hit({ width }))).event.screen),
    );
    expect(screens).toEqual(['mobile', 'mobile', 'tablet', 'tablet', 'laptop', 'laptop', 'desktop', 'desktop']);
    const noWidth = (await ok(hit({ width: 0 }))).event;
    expect(noWidth.screen).toBeUndefined();
    expect(JSON.stringify(await ok(hit({ width: 1366 })))).not.toContain('1366');
  });

  it('keeps utm_term and utm_content like utm_campaign: scrubbed free text', async () => {
    const { event } = await ok(hit({ url: 'https://clinic.example/?utm_term=Knee-Pain&utm_content=jane-doe' }));
    expect(event).toMatchObject({ utmTerm: 'knee-pain', utmContent: '(other)' });
    const plain = (await ok(hit())).event;
    expect('utmTerm' in plain || 'utmContent' in plain).toBe(false);
  });

  describe('cookie mode', () => {
    const cookiePractice = { ...practice, cookieMode: true };
    it('issues a random id when none is sent and counts with the cookieless key', async () => {
      const first = await ok(hit(), facts(), cookiePractice);
      const cookieless = await ok(hit(), facts());
      expect(first.issueCookieId).toMatch(/^[0-9a-f]{32}$/);
      expect(first.event.visitor).toBe(cookieless.event.visitor);
    });

    it('keys by cookie id across days and IPs within the month', async () => {
      const id = 'a'.repeat(32);
      const a = await ok(hit(), facts({ cookieId: id }), cookiePractice);
      const b = await ok(
        hit(),
        facts({ cookieId: id, ip: '198.51.100.1', receivedAt: Date.UTC(2025, 5, 20) }),
        cookiePractice,
      );
      expect(a.issueCookieId).toBeNull();
      expect(b.event.visitor).toBe(a.event.visitor);
    });

    it('ignores cookies for cookieless practices', async () => {
      const a = await ok(hit(), facts({ cookieId: 'a'.repeat(32) }));
      expect(a.event.visitor).toBe((await ok(hit())).event.visitor);
      expect(a.issueCookieId).toBeNull();
    });
  });
});

describe('issue 16 examples (defaults of a new practice)', () => {
  const fresh: Practice = practiceSchema.parse({
    id: 'fresh',
    siteKey: 'site-fresh',
    name: 'Fresh',
    domains: ['clinic.example'],
    timezone: 'UTC',
    pathTemplates: [{ pattern: '/providers/*', path: '/providers/:slug' }],
  });
  const event = async (h: Partial<Hit>) => (await ok(hit(h), facts(), fresh)).event;

  it('keeps no names or free text in ref, campaign, event names or props', async () => {
    expect(await event({ url: 'https://clinic.example/?ref=jane.doe' })).toMatchObject({ utmSource: '(other)' });
    expect(await event({ url: 'https://clinic.example/?utm_campaign=mrn%20MRN-00123' })).toMatchObject({
      utmCampaign: ':id',
    });
    expect(await event({ url: 'https://clinic.example/?utm_source=Jane+Doe' })).toMatchObject({ utmSource: '(other)' });
    const booked = await event({ type: 'event', name: 'Booked Jane Doe', props: { plan: 'Jane Doe' } });
    expect(booked).toMatchObject({ name: '(undeclared)' });
    expect(JSON.stringify(booked).toLowerCase()).not.toContain('jane');
  });

  it.each([
    '//portal/records/smith-john',
    '/portal%2Frecords%2Fsmith-john',
    '/portal;x/records/smith-john',
    '/portal./x',
    '/por%E2%80%8Btal/records/smith-john',
    '/\uff50\uff4f\uff52\uff54\uff41\uff4c/records/smith-john',
    '/PORTAL/records/smith-john',
  ])('holds %s to the count-only patient-portal class, without a visitor', async (path) => {
    const e = await event({ url: `https://clinic.example${path}` });
    expect(e).toMatchObject({ page: 'patient-portal', countOnly: true });
    expect(e).not.toHaveProperty('visitor');
    expect(JSON.stringify(e)).not.toMatch(/smith|john/i);
  });

  it.each([
    ['/pediatrics/well-child-visits', 'children'],
    ['/kids/asthma', 'children'],
    ['/children/', 'children'],
    ['/teens/acne', 'children'],
    ['/teen-health', 'children'],
    ['/forms/new-patient', 'forms'],
    ['/book/online', 'appointments'],
  ])('counts %s only, as %s', async (path, name) => {
    expect(await event({ url: `https://clinic.example${path}` })).toMatchObject({ page: name, countOnly: true });
  });

  it('applies path templates to the canonical path', async () => {
    expect(await event({ url: 'https://clinic.example/providers/dr-jane-doe' })).toMatchObject({
      page: '/providers/:slug',
    });
    expect(await event({ url: 'https://clinic.example//Providers/dr-jane-doe.' })).toMatchObject({
      page: '/providers/:slug',
    });
  });

  it('reduces private-suffix and IP referrers', async () => {
    expect(await event({ referrer: 'https://jane-doe-5551234567.netlify.app/' })).toMatchObject({
      referrerDomain: 'netlify.app',
    });
    expect(await event({ referrer: 'http://10.0.0.1/' })).toMatchObject({ referrerDomain: '(ip)' });
  });

  it('keeps a listed source host under a site whole (an AI assistant is not its search engine)', async () => {
    expect(await event({ referrer: 'https://gemini.google.com/app/abc' })).toMatchObject({
      referrerDomain: 'gemini.google.com',
    });
    expect(await event({ referrer: 'https://copilot.microsoft.com/chats/x' })).toMatchObject({
      referrerDomain: 'copilot.microsoft.com',
    });
    expect(await event({ referrer: 'https://www.google.co.uk/' })).toMatchObject({ referrerDomain: 'google.co.uk' });
  });

  it('marks a paid click by its click id without storing the id', async () => {
    const paid = await event({ url: 'https://clinic.example/services?gclid=EAIaIQobChMI-secret-id&utm_source=google' });
    expect(paid).toMatchObject({ paid: true, utmSource: 'google' });
    expect(JSON.stringify(paid)).not.toContain('EAIaIQobChMI');
    expect(await event({ url: 'https://clinic.example/services?MSCLKID=1f2e3d' })).toMatchObject({ paid: true });
    expect(await event({ url: 'https://clinic.example/services?utm_source=google' })).not.toHaveProperty('paid');
    expect(await event({ url: 'https://clinic.example/portal/x?gclid=abc' })).not.toHaveProperty('paid');
  });
});
