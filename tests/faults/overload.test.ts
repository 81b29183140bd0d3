import { PracticeStore, type CommonConfig, type Db, type ControlDb } from '@confidant/shared';
import autocannon from 'autocannon';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, prepareNamespace } from '../support/stack.ts';
import { isolatedConfig } from '../support/test-env.ts';
import { faults } from './faults.config.ts';
import {
  aroundToday,
  BROWSER_UA,
  removeSpool,
  reportedTotals,
  reporterFor,
  rssBytes,
  sendBeacon,
  startCollector,
  startProcessor,
  sumOf,
  type Collector,
} from './support/pipeline.ts';
import { boundedTally, recordScenario } from './support/summary.ts';

/**
 * Overload: the collector's maximum beacon rate is measured, then twice that rate is offered
 * (over more connections than the collector admits at once). It must shed with 503 +
 * Retry-After, stay under a fixed memory ceiling, recover when the load drops, and every 202
 * must be counted exactly once.
 */
const RSS_CEILING = 400 * 2 ** 20;
const MAX_IN_FLIGHT = 200;
let config: CommonConfig;
let db: Db;
let control: ControlDb;
let cleanup: () => Promise<void>;
let collector: Collector | null = null;
let processor: Awaited<ReturnType<typeof startProcessor>> | null = null;
let reporter: FastifyInstance;

beforeAll(async () => {
  config = isolatedConfig('flt-overload');
  ({ db, control, cleanup } = await prepareNamespace(config));
  await new PracticeStore(control).save({
    id: 'overload',
    siteKey: 'site-overload',
    name: 'Overload',
    domains: ['overload.example'],
    timezone: 'UTC',
  });
  collector = await startCollector(config, {
    SHED_MAX_IN_FLIGHT: String(MAX_IN_FLIGHT),
    SHED_MAX_HEAP_MB: '256',
    LOG_LEVEL: 'warn',
  });
  processor = await startProcessor(config);
  reporter = await reporterFor(config, db, control);
}, 120_000);

afterAll(async () => {
  await collector?.stop();
  await removeSpool(collector?.spoolDir);
  await processor?.stop();
  await reporter?.close();
  await cleanup?.();
}, 120_000);

const body = JSON.stringify({ site: 'site-overload', type: 'pageview', url: 'https://overload.example/services' });

function cannon(opts: Partial<autocannon.Options>): Promise<autocannon.Result> {
  return autocannon({
    url: `${collector!.url}/e`,
    method: 'POST',
    headers: { 'content-type': 'text/plain', 'user-agent': BROWSER_UA, 'accept-language': 'en-US' },
    body,
    timeout: 30,
    ...opts,
  });
}

const statusCount = (r: autocannon.Result, code: number): number => r.statusCodeStats[String(code)]?.count ?? 0;

it('sheds at twice the measured maximum rate with 503 + Retry-After, stays under its memory ceiling, recovers, and counts every 202 once', async () => {
  // A fixed amount, not a duration: a duration ends with requests in flight whose fate autocannon never reports.
  const measured = await cannon({ connections: 50, amount: faults.mode === 'full' ? 20_000 : 4000 });
  const maxRate = Math.round(statusCount(measured, 202) / measured.duration);
  expect(maxRate).toBeGreaterThan(0);

  let maxRss = 0;
  const sampler = setInterval(() => (maxRss = Math.max(maxRss, rssBytes(collector!.child.pid!))), 200);
  const seconds = faults.overloadMs / 1000;
  const overloadRun = cannon({
    connections: MAX_IN_FLIGHT * 3,
    overallRate: 2 * maxRate,
    amount: 2 * maxRate * seconds,
  });
  // Probes during the overload: a refusal must carry Retry-After.
  const probes: Array<{ code: number; retryAfter: string | null }> = [];
  const probing = (async () => {
    await new Promise((r) => setTimeout(r, 1000));
    for (let i = 0; i < 20; i++) {
      probes.push(await sendBeacon(collector!.url, 'site-overload', 'overload.example', '/probe'));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const overload = await overloadRun;
  await probing;
  clearInterval(sampler);

  const shedText = await (await fetch(`${collector!.url}/metrics`)).text();
  const shed = [...shedText.matchAll(/^collector_requests_shed_total\{reason="[^"]+"\} (\d+)$/gm)].reduce(
    (n, m) => n + Number(m[1]),
    0,
  );
  const refused = statusCount(overload, 503);
  expect(refused).toBeGreaterThan(0);
  expect(shed).toBeGreaterThanOrEqual(refused);
  for (const p of probes.filter((p) => p.code === 503)) expect(Number(p.retryAfter)).toBeGreaterThan(0);
  expect(probes.every((p) => p.code === 202 || p.code === 503)).toBe(true);
  const fiveHundreds = Object.entries(overload.statusCodeStats).filter(([c]) => Number(c) >= 500 && c !== '503');
  expect(fiveHundreds).toEqual([]);
  expect(maxRss).toBeLessThan(RSS_CEILING);
  expect(collector!.child.exitCode).toBeNull();

  // Load dropped: beacons are accepted again right away.
  await new Promise((r) => setTimeout(r, 1000));
  const after: number[] = [];
  for (let i = 0; i < 50; i++)
    after.push((await sendBeacon(collector!.url, 'site-overload', 'overload.example', '/after')).code);
  expect(after.every((c) => c === 202)).toBe(true);

  const accepted =
    statusCount(measured, 202) +
    statusCount(overload, 202) +
    probes.filter((p) => p.code === 202).length +
    after.length;
  const uncertain = measured.errors + measured.timeouts + overload.errors + overload.timeouts;
  const { from, to } = aroundToday();
  const countNow = async () => sumOf(await reportedTotals(reporter, ['overload'], from, to), 'pageviews');
  await eventually(countNow, (n) => n >= accepted, 120_000, 'every 202 counted');
  await new Promise((r) => setTimeout(r, 2000));
  const counted = await countNow();
  const t = boundedTally(accepted, uncertain, counted);
  expect(t).toMatchObject({ lost: 0, duplicated: 0 });
  expect(boundedTally(accepted - 1 - uncertain, 0, counted).duplicated).toBeGreaterThanOrEqual(1);
  expect(boundedTally(accepted + 1, uncertain, counted).lost).toBeGreaterThanOrEqual(1);

  recordScenario({
    scenario: 'overload',
    sent: measured.requests.total + overload.requests.total + probes.length + after.length,
    accepted,
    counted,
    lost: t.lost,
    duplicated: t.duplicated,
    notes: `max ${maxRate}/s measured; ${2 * maxRate}/s offered (${seconds} s planned, ${overload.duration} s taken): ${refused} × 503, RSS ≤ ${Math.round(maxRss / 2 ** 20)} MB (ceiling ${RSS_CEILING / 2 ** 20}), ${uncertain} client errors`,
  });
}, 600_000);
