import { TABLES, PracticeStore, sqlv, type CommonConfig, type ControlDb, type Db } from '@confidant/shared';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/processor-harness.ts';
import { namespaceEnv, spawnService, waitForHttp, type ServiceProcess } from '../support/service-process.ts';
import { eventually, prepareNamespace } from '../support/stack.ts';
import { isolatedConfig } from '../support/test-env.ts';
import { faults } from './faults.config.ts';
import {
  aroundToday,
  removeSpool,
  reportedTotals,
  reporterFor,
  REPORTER_ADMIN_KEY,
  startCollector,
  steadyBeacons,
  sumOf,
  superviseProcessor,
  type Collector,
  type SupervisedProcessor,
} from './support/pipeline.ts';
import { PrivatePostgres } from './support/private-postgres.ts';
import { recordScenario, tally } from './support/summary.ts';

/**
 * The control plane down: a private PostgreSQL is really stopped under steady beacon load. The
 * collector keeps accepting and the processor keeps counting on their cached practices; the
 * reporter's data routes answer 503 with Retry-After while its health route keeps answering; after
 * the restart every acknowledged beacon is counted exactly once.
 */
const postgres = new PrivatePostgres();
let config: CommonConfig;
let db: Db;
let control: ControlDb;
let cleanup: () => Promise<void>;
let collector: Collector | null = null;
let processor: SupervisedProcessor | null = null;
let reporterProcess: ServiceProcess | null = null;
let reporterUrl: string;
let reporter: FastifyInstance;

/** Page views the processor has written to ClickHouse, read there directly (the reporter needs PostgreSQL). */
const storedPageviews = async () =>
  Number(
    (
      await db.rows<{ n: string }>(
        `SELECT toString(sumMerge(pageviews)) AS n FROM ${TABLES.rollupDaily} WHERE practice_id = ${sqlv.str('pg-down')} AND dim = 'total'`,
      )
    )[0]?.n ?? 0,
  );

describe('control plane (PostgreSQL) down', () => {
  beforeAll(async () => {
    await postgres.start();
    const base = isolatedConfig('flt-pg');
    const database = new URL(base.controlPlane.url).pathname.slice(1);
    config = { ...base, controlPlane: { ...base.controlPlane, url: postgres.url(database) } };
    ({ db, control, cleanup } = await prepareNamespace(config));
    await new PracticeStore(control).save({
      id: 'pg-down',
      siteKey: 'site-pg-down',
      name: 'Control Plane Down',
      domains: ['pg-down.example'],
      timezone: 'UTC',
    });
    collector = await startCollector(config);
    processor = await superviseProcessor(config);
    const port = await freePort();
    reporterUrl = `http://127.0.0.1:${port}`;
    reporterProcess = spawnService('reporter', 'reporter/src/server.ts', {
      ...namespaceEnv(config),
      REPORTER_PORT: String(port),
      REPORTER_ADMIN_KEY,
    });
    await waitForHttp(`${reporterUrl}/healthz`, 60_000, reporterProcess);
    reporter = await reporterFor(config, db, control);
  }, 240_000);

  afterAll(async () => {
    await collector?.stop();
    await removeSpool(collector?.spoolDir);
    await processor?.stop();
    await reporterProcess?.stop();
    await reporter?.close();
    await postgres.start().catch(() => undefined);
    await cleanup?.();
    await postgres.stop();
  }, 120_000);

  it('collector and processor go on with cached practices, the reporter answers 503 with Retry-After, nothing is lost', async () => {
    const { from, to } = aroundToday();
    const dataRoute = `${reporterUrl}/v1/practices/pg-down/stats/timeseries?from=${from}&to=${to}`;
    const auth = { authorization: `Bearer ${REPORTER_ADMIN_KEY}` };
    expect((await fetch(dataRoute, { headers: auth })).status).toBe(200);

    let loading = true;
    const load = steadyBeacons(
      () => collector!.url,
      'site-pg-down',
      'pg-down.example',
      faults.beaconsPerSecond,
      () => !loading,
    );
    await new Promise((r) => setTimeout(r, 2000));
    await postgres.stop();
    const stoppedAt = Date.now();
    const countedAtStop = await storedPageviews();

    // While it is away: the reporter refuses data routes with 503 + Retry-After and still answers its health route.
    const refused = await fetch(dataRoute, { headers: auth });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect((await refused.json()).error.code).toBe('unavailable');
    expect((await fetch(`${reporterUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${reporterUrl}/readyz`)).status).toBe(503);
    await new Promise((r) => setTimeout(r, Math.max(0, faults.controlPlaneOutageMs - (Date.now() - stoppedAt))));
    // The processor kept counting without PostgreSQL.
    const countedWhileDown = await storedPageviews();
    expect(countedWhileDown).toBeGreaterThan(countedAtStop);
    await postgres.start();
    const downMs = Date.now() - stoppedAt;
    await new Promise((r) => setTimeout(r, 2000));
    loading = false;
    const result = await load;

    // The collector accepted throughout (Kafka was up): 202 for every beacon, and it never died.
    expect(result.other).toEqual({});
    expect(result.refused).toBe(0);
    expect(result.unanswered).toBe(0);
    expect(collector!.child.exitCode).toBeNull();
    expect(processor!.restarts()).toBe(0);
    await eventually(
      async () => (await fetch(dataRoute, { headers: auth })).status,
      (s) => s === 200,
      30_000,
      'the reporter to answer again',
    );

    const expected = { 'pg-down pageviews': result.accepted };
    const counted = await eventually(
      async () => ({ 'pg-down pageviews': sumOf(await reportedTotals(reporter, ['pg-down'], from, to), 'pageviews') }),
      (c) => c['pg-down pageviews'] >= result.accepted,
      120_000,
      'every acknowledged beacon counted',
    );
    await new Promise((r) => setTimeout(r, 2000));
    const final = {
      'pg-down pageviews': sumOf(await reportedTotals(reporter, ['pg-down'], from, to), 'pageviews'),
    };
    expect(final).toEqual(counted);
    const t = tally(expected, final);
    expect(t).toMatchObject({ lost: 0, duplicated: 0 });
    recordScenario({
      scenario: 'control plane down',
      sent: result.sent,
      accepted: result.accepted,
      counted: t.counted,
      lost: t.lost,
      duplicated: t.duplicated,
      notes: `PostgreSQL stopped ${Math.round(downMs / 1000)} s at ${faults.beaconsPerSecond}/s; ${countedWhileDown - countedAtStop} counted while down; reporter 503 + Retry-After`,
    });
  }, 600_000);
});
