import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PracticeStore, type ControlDb } from '@confidant/shared';
import { freePort } from '../support/processor-harness.ts';
import { namespaceEnv, spawnService, waitForHttp, type ServiceProcess } from '../support/service-process.ts';
import { eventually, prepareNamespace } from '../support/stack.ts';
import { isolatedConfig } from '../support/test-env.ts';

const ADMIN_KEY = 'e2e-admin-key-0123456789abcdef0123';

/**
 * The walking skeleton: a beacon POSTed to the real collector process goes through Kafka,
 * is consumed by the real processor process, lands as a per-practice daily aggregate in
 * ClickHouse and is returned by the real reporter process. Any broken hop fails it.
 */
describe('walking skeleton: collector → Kafka → processor → ClickHouse → reporter', () => {
  const config = isolatedConfig('skeleton');
  let control: ControlDb;
  let cleanup: () => Promise<void>;
  const services: ServiceProcess[] = [];
  let collectorUrl = '';
  let reporterUrl = '';

  beforeAll(async () => {
    ({ control, cleanup } = await prepareNamespace(config));
    await new PracticeStore(control).save({
      id: 'skeleton-clinic',
      siteKey: 'skeleton-key',
      name: 'Skeleton Clinic',
      domains: ['skeleton.example'],
      timezone: 'America/Chicago',
    });
    const [collectorPort, reporterPort, processorPort] = [await freePort(), await freePort(), await freePort()];
    const env = namespaceEnv(config);
    const collector = spawnService('collector', 'collector/src/server.ts', {
      ...env,
      COLLECTOR_PORT: String(collectorPort),
      SPOOL_DIR: `${process.cwd()}/.data/spool/${config.kafka.topicPrefix}`,
      REGISTRY_REFRESH_MS: '500',
    });
    const processor = spawnService('processor', 'processor/src/server.ts', {
      ...env,
      PROCESSOR_METRICS_PORT: String(processorPort),
      PROCESSOR_GROUP_ID: `skeleton-${config.kafka.topicPrefix}`,
    });
    const reporter = spawnService('reporter', 'reporter/src/server.ts', {
      ...env,
      REPORTER_PORT: String(reporterPort),
      REPORTER_ADMIN_KEY: ADMIN_KEY,
    });
    services.push(collector, processor, reporter);
    collectorUrl = `http://127.0.0.1:${collectorPort}`;
    reporterUrl = `http://127.0.0.1:${reporterPort}`;
    await Promise.all([
      waitForHttp(`${collectorUrl}/readyz`, 60_000, collector),
      waitForHttp(`http://127.0.0.1:${processorPort}/readyz`, 60_000, processor),
      waitForHttp(`${reporterUrl}/readyz`, 60_000, reporter),
    ]);
  });

  afterAll(async () => {
    const codes = await Promise.all(services.map((s) => s.stop()));
    await cleanup?.();
    // Graceful shutdown is part of the contract: every service exits 0 on SIGTERM.
    expect(codes).toEqual(services.map(() => 0));
  });

  it('counts a beacon in the reporter within seconds', async () => {
    const beacon = await fetch(`${collectorUrl}/e`, {
      method: 'POST',
      headers: {
        'content-type': 'text/plain',
        'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
        'accept-language': 'en-US',
      },
      body: JSON.stringify({
        site: 'skeleton-key',
        type: 'pageview',
        url: 'https://skeleton.example/services/?utm_source=news',
        referrer: 'https://www.google.com/',
      }),
    });
    expect(beacon.status).toBe(202);

    const day = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Chicago' }).format(new Date());
    const month = day.slice(0, 7);
    const report = await eventually(
      async () => {
        const res = await fetch(`${reporterUrl}/v1/practices/skeleton-clinic/reports/monthly?month=${month}`, {
          headers: { authorization: `Bearer ${ADMIN_KEY}` },
        });
        return (await res.json()) as { totals: { pageviews: { value: number }; visits: { value: number } } };
      },
      (r) => r.totals?.pageviews?.value === 1,
      30_000,
      'the beacon to appear in the monthly report',
    );
    expect(report.totals.visits.value).toBe(1);

    const unauthenticated = await fetch(`${reporterUrl}/v1/practices/skeleton-clinic/reports/monthly?month=${month}`);
    expect(unauthenticated.status).toBe(401);
  });
});
