import { practiceSchema } from '@confidant/shared';
import { describe, expect, it } from 'vitest';
import { deidentifyHit, directSteps } from '../deid/pipeline.ts';
import { RareValueGate } from '../deid/rare-value-gate.ts';
import { MemorySaltStore } from '../deid/salt-store.ts';
import { LogHitPipeline } from './log-hit-pipeline.ts';
import type { LogHit } from './log-parser.ts';

// k = 1: these tests are about the other steps; the rare-value gate has its own (deid/rare-value-gate.test.ts).
const OPEN_GATE = new RareValueGate(1, 1000);
const practice = practiceSchema.parse({
  id: 'clinic',
  siteKey: 'site-clinic',
  name: 'Clinic',
  domains: ['clinic.example'],
  timezone: 'UTC',
});
const UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0';
const TIME = Date.UTC(2025, 5, 1, 12);
const logHit = (path: string, referrer: string | null = null): LogHit => ({
  ip: '203.0.113.7',
  time: TIME,
  method: 'GET',
  path,
  status: 200,
  referrer,
  userAgent: UA,
});

async function pipeline() {
  const salts = new MemorySaltStore();
  const logs = new LogHitPipeline(practice, salts, () => 'US', 'bucket-secret', OPEN_GATE);
  await logs.prepare(TIME);
  return { logs, salt: await salts.saltFor('daily', TIME) };
}

describe('log hits', () => {
  it('become the envelope the same steps make of the same hit from the snippet', async () => {
    const { logs, salt } = await pipeline();
    const target = '/services/%2E%2E/blog/flu-season?utm_source=Newsletter&ref=jane.doe';
    const fromLog = logs.deidentify(logHit(target, 'https://jane-doe.netlify.app/'), 'pageview', 'a'.repeat(32));
    const direct = deidentifyHit(
      {
        source: 'logs',
        type: 'pageview',
        url: `https://clinic.example${target}`,
        referrer: 'https://jane-doe.netlify.app/',
        client: { ip: '203.0.113.7', userAgent: UA, acceptLanguage: undefined, optedOut: false, cookieId: null },
        time: TIME,
      },
      practice,
      directSteps(practice, { country: () => 'US', salt: () => salt }),
      OPEN_GATE,
      'a'.repeat(32),
    );
    expect(fromLog.kind).toBe('ok');
    expect(direct.kind).toBe('ok');
    if (fromLog.kind !== 'ok' || direct.kind !== 'ok') return;
    expect(fromLog.event).toEqual(direct.value.event);
    expect(fromLog.event).toMatchObject({
      page: '/blog/flu-season',
      utmSource: 'newsletter',
      referrerDomain: 'netlify.app',
    });
  });

  it('canonicalise request targets before the page classes, and count-only lines carry no visitor', async () => {
    const { logs } = await pipeline();
    for (const target of ['//portal/records/smith-john', '/portal%2Frecords%2Fsmith', '/portal;x/a', '/Pediatrics/x']) {
      const r = logs.deidentify(logHit(target), 'pageview', 'b'.repeat(32));
      expect(r.kind, target).toBe('ok');
      if (r.kind !== 'ok') continue;
      expect(r.event.countOnly).toBe(true);
      expect(r.event).not.toHaveProperty('visitor');
      expect(typeof r.bucket).toBe('number');
    }
  });

  it('skip drop classes and foreign hosts', async () => {
    const { logs } = await pipeline();
    expect(logs.deidentify(logHit('//login/reset'), 'pageview', 'c'.repeat(32))).toEqual({
      kind: 'skip',
      reason: 'page-class-drop',
    });
    expect(logs.deidentify(logHit('http://evil.example/x'), 'pageview', 'c'.repeat(32))).toEqual({
      kind: 'skip',
      reason: 'foreign-host',
    });
  });
});
