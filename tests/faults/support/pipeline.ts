import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createLogger, PracticeStore, type CommonConfig, type ControlDb, type Db } from '@confidant/shared';
import { buildApp, loadReporterConfig } from '@confidant/reporter';
import type { FastifyInstance } from 'fastify';
import type { Admin, Producer } from 'kafkajs';
import { freePort, kafkaFor } from '../../support/processor-harness.ts';
import { namespaceEnv, spawnService, waitForHttp, type ServiceProcess } from '../../support/service-process.ts';
import { prepareNamespace } from '../../support/stack.ts';
import { isolatedConfig, testEnv } from '../../support/test-env.ts';
import { faults } from '../faults.config.ts';
import { TcpProxy } from './tcp-proxy.ts';

export const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
export const REPORTER_ADMIN_KEY = 'faults-admin-key-0123456789abcdef0123';

export type Collector = ServiceProcess & { url: string; port: number; spoolDir: string };

/** The real collector process (`collector/src/server.ts`) in the test's namespace. */
export async function startCollector(
  config: CommonConfig,
  env: Record<string, string> = {},
  port?: number,
): Promise<Collector> {
  const p = port ?? (await freePort());
  const spoolDir = env.SPOOL_DIR ?? `${faults.root}.data/spool/${config.kafka.topicPrefix}`;
  const service = spawnService('collector', 'collector/src/server.ts', {
    ...namespaceEnv(config),
    COLLECTOR_PORT: String(p),
    SPOOL_DIR: spoolDir,
    REGISTRY_REFRESH_MS: '500',
    RATE_LIMIT_PER_MIN: '100000000',
    PRODUCE_TIMEOUT_MS: '1500',
    SPOOL_REPLAY_MS: '500',
    ...env,
  });
  const url = `http://127.0.0.1:${p}`;
  await waitForHttp(`${url}/healthz`, 60_000, service);
  return { ...service, url, port: p, spoolDir };
}

/** Deletes a test collector's spool directory (kept with KEEP_TEST_DATA=1). */
export async function removeSpool(dir: string | undefined): Promise<void> {
  if (dir && !testEnv.keepData) await rm(dir, { recursive: true, force: true });
}

/** The real processor process (`processor/src/server.ts`). */
export async function startProcessor(
  config: CommonConfig,
  env: Record<string, string> = {},
): Promise<ServiceProcess & { port: number }> {
  const port = await freePort();
  const service = spawnService('processor', 'processor/src/server.ts', {
    ...namespaceEnv(config),
    PROCESSOR_METRICS_PORT: String(port),
    PROCESSOR_GROUP_ID: `faults-${config.kafka.topicPrefix}`,
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    KAFKA_MAX_WAIT_MS: '200',
    RETENTION_MONTHS: '1200',
    ...env,
  });
  await waitForHttp(`http://127.0.0.1:${port}/healthz`, 60_000, service);
  return { ...service, port };
}

export type SupervisedProcessor = { restarts: () => number; output: () => string; stop: () => Promise<void> };

/**
 * The real processor, restarted whenever it exits, as `npm start`'s runner or systemd would: a
 * processor whose consumer kafkajs gave up on exits by design (its ledger makes the restart exact).
 */
export async function superviseProcessor(
  config: CommonConfig,
  env: Record<string, string> = {},
): Promise<SupervisedProcessor> {
  let current = await startProcessor(config, env);
  let restarts = 0;
  let stopping = false;
  let log = '';
  const loop = (async () => {
    while (!stopping) {
      await new Promise<void>((resolve) =>
        current.child.exitCode !== null || current.child.signalCode !== null
          ? resolve()
          : current.child.once('exit', () => resolve()),
      );
      if (stopping) return;
      log = (log + current.output()).slice(-50_000);
      // Started again and again until it comes up (Kafka may still be away).
      for (;;) {
        await new Promise((r) => setTimeout(r, 1000));
        if (stopping) return;
        try {
          current = await startProcessor(config, env);
          restarts++;
          break;
        } catch (error) {
          log = (log + String(error)).slice(-50_000);
        }
      }
    }
  })();
  return {
    restarts: () => restarts,
    output: () => log + current.output(),
    async stop() {
      stopping = true;
      await current.stop();
      await loop;
    },
  };
}

/** Resident set size of a process in bytes (Linux). */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

export type LoadResult = {
  sent: number;
  accepted: number;
  refused: number;
  /** Connection refused: the request never reached a collector. */
  notConnected: number;
  /** Connection lost mid-request: the event may or may not have been made durable. */
  unanswered: number;
  other: Record<string, number>;
  retryAfterMissing: number;
};

/**
 * Sends page-view beacons at a steady rate until `until()` says stop. 202 = accepted,
 * 503 = refused (must carry Retry-After); while a collector is killed, a refused connection is
 * "not connected" and a connection lost mid-request "unanswered". Anything else is recorded.
 */
export async function steadyBeacons(
  urlOf: () => string,
  site: string,
  domain: string,
  perSecond: number,
  until: () => boolean,
): Promise<LoadResult> {
  const result: LoadResult = {
    sent: 0,
    accepted: 0,
    refused: 0,
    notConnected: 0,
    unanswered: 0,
    other: {},
    retryAfterMissing: 0,
  };
  const inflight = new Set<Promise<void>>();
  const interval = 1000 / perSecond;
  let next = Date.now();
  while (!until()) {
    const n = result.sent++;
    const work = sendBeacon(urlOf(), site, domain, `/steady/${n % 40 === 0 ? 'contact' : 'services'}`).then(
      (status) => {
        if (status.code === 202) result.accepted++;
        else if (status.code === 503) {
          result.refused++;
          if (!status.retryAfter) result.retryAfterMissing++;
        } else if (status.code === 0) result.unanswered++;
        else if (status.code === -1) result.notConnected++;
        else result.other[status.code] = (result.other[status.code] ?? 0) + 1;
      },
    );
    inflight.add(work);
    void work.finally(() => inflight.delete(work));
    next += interval;
    const wait = next - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await Promise.all(inflight);
  return result;
}

export async function sendBeacon(
  base: string,
  site: string,
  domain: string,
  path: string,
): Promise<{ code: number; retryAfter: string | null }> {
  try {
    const res = await fetch(`${base}/e`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'user-agent': BROWSER_UA, 'accept-language': 'en-US' },
      body: JSON.stringify({ site, type: 'pageview', url: `https://${domain}${path}` }),
      signal: AbortSignal.timeout(30_000),
    });
    await res.arrayBuffer();
    return { code: res.status, retryAfter: res.headers.get('retry-after') };
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code;
    return { code: code === 'ECONNREFUSED' ? -1 : 0, retryAfter: null };
  }
}

/** An in-process reporter over the test database: the scenarios read their totals through its API. */
export async function reporterFor(config: CommonConfig, db: Db, control: ControlDb): Promise<FastifyInstance> {
  const reporterConfig = loadReporterConfig({
    CLICKHOUSE_URL: config.clickhouse.url,
    CLICKHOUSE_USER: config.clickhouse.user,
    CLICKHOUSE_PASSWORD: config.clickhouse.password,
    CLICKHOUSE_DATABASE: config.clickhouse.database,
    POSTGRES_URL: config.controlPlane.url,
    REPORTER_ADMIN_KEY,
    REPORTER_RATE_LIMIT_PER_MINUTE: '1000000',
    LOG_LEVEL: 'silent',
  });
  return buildApp({ config: reporterConfig, db, control, logger: createLogger('reporter-faults', 'silent') });
}

/**
 * Page views and events per "practice day" as the reporter's timeseries API gives them, both
 * sources added up: the numbers a practice would see.
 */
export async function reportedTotals(
  reporter: FastifyInstance,
  practiceIds: string[],
  from: string,
  to: string,
): Promise<Record<string, { pageviews: number; events: number; engaged_ms: number }>> {
  const out: Record<string, { pageviews: number; events: number; engaged_ms: number }> = {};
  for (const id of practiceIds) {
    for (const source of ['snippet', 'logs']) {
      const res = await reporter.inject({
        url: `/v1/practices/${id}/stats/timeseries?from=${from}&to=${to}&source=${source}&metrics=pageviews,events,engaged_ms`,
        headers: { authorization: `Bearer ${REPORTER_ADMIN_KEY}` },
      });
      if (res.statusCode !== 200) throw new Error(`reporter answered ${res.statusCode}: ${res.body}`);
      for (const p of res.json().points as Array<{
        date: string;
        pageviews: number;
        events: number;
        engaged_ms: number;
      }>) {
        if (!p.pageviews && !p.events && !p.engaged_ms) continue;
        const t = (out[`${id} ${p.date}`] ??= { pageviews: 0, events: 0, engaged_ms: 0 });
        t.pageviews += p.pageviews;
        t.events += p.events;
        t.engaged_ms += p.engaged_ms;
      }
    }
  }
  return out;
}

/** Today and yesterday in UTC: the window beacons sent now fall in, whatever the practice's zone. */
export function aroundToday(): { from: string; to: string } {
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  return { from: day(Date.now() - 86_400_000), to: day(Date.now() + 86_400_000) };
}

/** Sum of one metric over all keys of reportedTotals. */
export const sumOf = (
  totals: Record<string, { pageviews: number; events: number }>,
  metric: 'pageviews' | 'events',
): number => Object.values(totals).reduce((n, t) => n + t[metric], 0);

/** A namespace with practices, a producer/admin on its topics, a reporter, and a TCP proxy in front of ClickHouse for the processor. */
export type ProxiedScenario = {
  config: CommonConfig;
  db: Db;
  producer: Producer;
  admin: Admin;
  proxy: TcpProxy;
  reporter: FastifyInstance;
  close(): Promise<void>;
};

export async function proxiedScenario(label: string, timeZones: Record<string, string>): Promise<ProxiedScenario> {
  const config = isolatedConfig(label);
  const { db, control, cleanup } = await prepareNamespace(config);
  const store = new PracticeStore(control);
  for (const [id, timezone] of Object.entries(timeZones))
    await store.save({ id, siteKey: `site-${id}`, name: id, domains: [`${id}.example`], timezone });
  const kafka = kafkaFor(config);
  const producer = kafka.producer();
  const admin = kafka.admin();
  await Promise.all([producer.connect(), admin.connect()]);
  const target = new URL(config.clickhouse.url);
  const proxy = new TcpProxy(await freePort(), { host: target.hostname, port: Number(target.port) });
  await proxy.open();
  const reporter = await reporterFor(config, db, control);
  return {
    config,
    db,
    producer,
    admin,
    proxy,
    reporter,
    async close() {
      await proxy.cut();
      await producer.disconnect();
      await admin.disconnect();
      await reporter.close();
      await cleanup();
    },
  };
}
