import { eventEnvelopeSchema, practiceSchema, toApiError, type Practice } from '@confidant/shared';
import { describe, expect, it } from 'vitest';
import { deidentify, type BeaconHit, type RequestFacts } from './deidentify.ts';
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
});
const deps = { salts: new MemorySaltStore(), country: () => 'US' };
const facts = (over: Partial<RequestFacts> = {}): RequestFacts => ({
  ip: '203.0.113.7',
  userAgent: UA,
  acceptLanguage: 'en-US',
  optedOut: false,
  cookieId: null,
  receivedAt: Date.UTC(2025, 5, 1, 12),
  ...over,
});
const hit = (over: Partial<BeaconHit> = {}): BeaconHit => ({
  type: 'pageview',
  url: 'https://clinic.example/services?utm_source=News&x=1',
  referrer: 'https://www.google.com/q',
  ...over,
});

async function ok(h: BeaconHit, f = facts(), p = practice) {
  const r = await deidentify(h, f, p, deps);
  if (r.kind !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(r)}`);
  return r;
}

describe('deidentify', () => {
  it('produces a valid envelope with derived fields only', async () => {
    const { event, key } = await ok(hit());
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
    expect(key).toBe(`riverside:${event.visitor}`);
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
    expect(await deidentify(hit(), facts({ optedOut: true }), practice, deps)).toEqual({
      kind: 'drop',
      reason: 'opted-out',
    });
    expect(
      await deidentify(hit(), facts({ userAgent: 'Googlebot/2.1 (+http://www.google.com/bot.html)' }), practice, deps),
    ).toEqual({ kind: 'drop', reason: 'bot' });
  });

  it('rejects URLs outside the practice domains with 404 and bad URLs with 400', async () => {
    const outside = await deidentify(hit({ url: 'https://evil.example/' }), facts(), practice, deps);
    // The status is the one the collector answers with: the shared error handler's mapping of the domain error.
    expect(outside.kind === 'reject' && [toApiError(outside.error)?.statusCode, outside.error.code]).toEqual([
      404,
      'url_outside_site',
    ]);
    const bad = await deidentify(hit({ url: 'ftp://clinic.example/' }), facts(), practice, deps);
    expect(bad.kind === 'reject' && [toApiError(bad.error)?.statusCode, bad.error.code]).toEqual([400, 'invalid_body']);
  });

  it('stores count-only pages as their class without referrer or campaign', async () => {
    const { event } = await ok(hit({ url: 'https://clinic.example/appointments/new?utm_source=x' }));
    expect(event).toMatchObject({ page: 'appointments', countOnly: true, referrerDomain: null, utmSource: null });
  });

  it('drops pages of a drop class', async () => {
    expect(await deidentify(hit({ url: 'https://clinic.example/login/reset' }), facts(), practice, deps)).toEqual({
      kind: 'drop',
      reason: 'page-class-drop',
    });
  });

  it('reduces outbound targets to the destination host and requires them', async () => {
    const { event } = await ok(hit({ type: 'outbound', target: 'https://maps.example.com/place/jane@x.org' }));
    expect(event.target).toBe('maps.example.com');
    expect((await deidentify(hit({ type: 'outbound', target: null }), facts(), practice, deps)).kind).toBe('reject');
  });

  it('keeps scrubbed paths of own downloads', async () => {
    const { event } = await ok(
      hit({ type: 'download', target: 'https://clinic.example/files/intake-form.pdf?u=jane' }),
    );
    expect(event.target).toBe('/files/intake-form.pdf');
  });

  it('validates custom event names', async () => {
    expect((await ok(hit({ type: 'event', name: 'Newsletter: signup' }))).event.name).toBe('Newsletter: signup');
    for (const name of ['jane@x.org', 'call 555-123-4567', '<script>', '', 'x'.repeat(65)]) {
      expect((await deidentify(hit({ type: 'event', name }), facts(), practice, deps)).kind).toBe('reject');
    }
  });

  it('keeps only allowlisted props, scrubbed', async () => {
    const { event } = await ok(hit({ type: 'event', name: 'signup', props: { plan: 'Gold', email: 'jane@x.org' } }));
    expect(event.props).toEqual({ plan: 'gold' });
    const { event: e2 } = await ok(hit({ type: 'event', name: 'signup', props: { plan: 'jane@x.org' } }));
    expect(e2.props).toEqual({ plan: ':email' });
  });

  it('records engagement time only on engagement events', async () => {
    expect((await ok(hit({ type: 'engagement', engagedMs: 4200 }))).event.engagedMs).toBe(4200);
    expect((await ok(hit({ engagedMs: 4200 }))).event.engagedMs).toBeNull();
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
