// Fixtures for tests of every workspace (`@confidant/shared/testing`); never imported by service code.
import { ENVELOPE_VERSION, type EventEnvelope } from './contracts/event-envelope.ts';

/** A valid envelope: a desktop Firefox page view of `/` from the US, with `over` on top. */
export function testEnvelope(over: Partial<EventEnvelope> = {}): EventEnvelope {
  return {
    v: ENVELOPE_VERSION,
    id: 'a'.repeat(32),
    practiceId: 'p',
    source: 'snippet',
    type: 'pageview',
    ts: Date.now(),
    visitor: 'ab'.repeat(16),
    page: '/',
    countOnly: false,
    referrerDomain: null,
    utmSource: null,
    utmMedium: null,
    utmCampaign: null,
    target: null,
    name: null,
    engagedMs: null,
    country: 'US',
    browser: 'Firefox',
    os: 'Linux',
    device: 'desktop',
    ...over,
  };
}
