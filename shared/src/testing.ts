// Fixtures for tests of every workspace (`@confidant/shared/testing`); never imported by service code.
import { ENVELOPE_VERSION, type EventEnvelope } from './contracts/event-envelope.ts';

/**
 * A valid envelope: a desktop Firefox page view of `/` from the US, with `over` on top. A count-only one
 * carries no visitor, as the envelope requires.
 */
export function testEnvelope(over: Partial<EventEnvelope> = {}): EventEnvelope {
  const event: EventEnvelope = {
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
  if (event.countOnly) {
    delete event.visitor;
    delete event.visitorPeriod;
  }
  return event;
}
