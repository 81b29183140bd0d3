import { request } from 'node:http';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createIngestKey } from '@confidant/collector/components';
import { TABLES, PracticeStore, sqlv, topicsFor, type CommonConfig, type Db, type ControlDb } from '@confidant/shared';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort, kafkaFor, ledgerCaughtUp } from '../support/processor-harness.ts';
import { namespaceEnv, spawnService, waitForHttp, type ServiceProcess } from '../support/service-process.ts';
import { eventually, prepareNamespace } from '../support/stack.ts';
import { isolatedConfig } from '../support/test-env.ts';
import { faults } from './faults.config.ts';
import {
  aroundToday,
  removeSpool,
  REPORTER_ADMIN_KEY,
  reportedTotals,
  reporterFor,
  startCollector,
  startProcessor,
  type Collector,
} from './support/pipeline.ts';
import { recordScenario, tally } from './support/summary.ts';

const run = promisify(execFile);

/**
 * Privacy canaries: unique identifying values planted in every input field of every endpoint.
 * After processing, none may appear in any ClickHouse table, the table files on disk, the Kafka
 * topics, the collector's spool or any service's log output; `confidant audit` passes.
 */
const UA_TOKEN = 'ZqCanaryUa8841';
const CANARIES = {
  xffIp: '198.51.100.231',
  socketIp: '127.23.45.67',
  forwardedIp: '192.0.2.123',
  realIp: '192.0.2.124',
  logIp: '203.0.113.219',
  ua: `Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0 ${UA_TOKEN}`,
  cookie: 'f00dcafe1234567890abcdef7788aa55',
  email: 'zq.canary.person@example.org',
  phone: '(555) 301-7788',
  ssn: '123-45-6789',
};
/** What must never be found: every canary, and the distinctive parts of each. */
const NEEDLES = [
  CANARIES.xffIp,
  CANARIES.socketIp,
  CANARIES.forwardedIp,
  CANARIES.realIp,
  CANARIES.logIp,
  UA_TOKEN,
  CANARIES.cookie,
  'zq.canary',
  'canary.person',
  '301-7788',
  '3017788',
  '123-45-6789',
  '123456789',
  'zqcanaryquery',
  'zqcanaryref',
  'zqcanaryout',
  'zqcanaryprop',
  'zqcanaryfrag',
  'zqcanarylog',
];
const PRACTICE = {
  id: 'canary-clinic',
  siteKey: 'site-canary',
  name: 'Canary Clinic',
  domains: ['canary.example'],
  timezone: 'UTC',
  cookieMode: true,
  propsAllowlist: ['plan'],
};

let config: CommonConfig;
let db: Db;
let control: ControlDb;
let cleanup: () => Promise<void>;
let collector: Collector;
let offlineCollector: Collector;
let processor: ServiceProcess;
let reporterProcess: ServiceProcess & { port: number };
let reporter: FastifyInstance;
let ingestKey = '';

beforeAll(async () => {
  config = isolatedConfig('flt-canary');
  ({ db, control, cleanup } = await prepareNamespace(config));
  await new PracticeStore(control).save(PRACTICE);
  ingestKey = await createIngestKey(control, PRACTICE.id);
  const verbose = { LOG_LEVEL: 'debug', TRUSTED_PROXIES: '127.0.0.1/32' };
  collector = await startCollector(config, verbose);
  // A second collector that cannot reach Kafka: what it accepts lives in its spool.
  offlineCollector = await startCollector(config, {
    ...verbose,
    KAFKA_BROKERS: '127.0.0.1:1',
    SPOOL_DIR: `${faults.root}.data/spool/${config.kafka.topicPrefix}-offline`,
  });
  processor = await startProcessor(config, { LOG_LEVEL: 'debug' });
  const port = await freePort();
  const service = spawnService('reporter', 'reporter/src/server.ts', {
    ...namespaceEnv(config),
    LOG_LEVEL: 'debug',
    REPORTER_PORT: String(port),
    REPORTER_ADMIN_KEY,
  });
  reporterProcess = { ...service, port };
  await waitForHttp(`http://127.0.0.1:${port}/readyz`, 60_000, service);
  reporter = await reporterFor(config, db, control);
}, 120_000);

afterAll(async () => {
  await Promise.all([collector?.stop(), offlineCollector?.stop(), processor?.stop(), reporterProcess?.stop()]);
  await reporter?.close();
  await Promise.all([removeSpool(collector?.spoolDir), removeSpool(offlineCollector?.spoolDir)]);
  await cleanup?.();
}, 120_000);

/** One request with full control over headers and the local (socket) address. */
function send(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body = '',
  localAddress?: string,
): Promise<number> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method,
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        localAddress,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const page = `https://canary.example/contact/${CANARIES.email}/${encodeURIComponent(CANARIES.phone)}/${CANARIES.ssn}?q=zqcanaryquery&email=${CANARIES.email}&utm_source=${encodeURIComponent(CANARIES.email)}&utm_term=${encodeURIComponent(CANARIES.phone)}#zqcanaryfrag`;
const referrer = `https://search.example/zqcanaryref/${CANARIES.email}?who=zqcanaryref`;

/** Every endpoint, with canaries in every field and header it reads. Returns [expected page views, accepted requests]. */
async function plant(
  base: string,
  tag: string,
  localAddress?: string,
): Promise<{ pageviews: number; accepted: number; sent: number }> {
  const viaProxy = {
    'user-agent': CANARIES.ua,
    'accept-language': 'en-US',
    'x-forwarded-for': `${CANARIES.xffIp}, 127.0.0.1`,
    forwarded: `for=${CANARIES.forwardedIp};proto=https`,
    'x-real-ip': CANARIES.realIp,
    cookie: `cf_id=${CANARIES.cookie}; session=${CANARIES.email}`,
    referer: `https://canary.example/${CANARIES.email}`,
  };
  const direct = { ...viaProxy, 'x-forwarded-for': '' };
  const beacon = (b: object) => JSON.stringify({ site: PRACTICE.siteKey, ...b });
  const requests: Array<{
    method: string;
    path: string;
    headers: Record<string, string>;
    body?: string;
    local?: string;
    pageview?: boolean;
  }> = [
    {
      method: 'POST',
      path: '/e',
      headers: { ...viaProxy, 'content-type': 'text/plain' },
      body: beacon({ type: 'pageview', url: page, referrer }),
      pageview: true,
    },
    {
      method: 'POST',
      path: '/e',
      headers: { ...direct, 'content-type': 'text/plain' },
      body: beacon({ type: 'pageview', url: page, referrer }),
      local: localAddress,
      pageview: true,
    },
    {
      method: 'POST',
      path: '/e',
      headers: { ...viaProxy, 'content-type': 'application/json' },
      body: beacon({
        type: 'outbound',
        url: page,
        target: `https://maps.example.org/zqcanaryout/${CANARIES.email}?addr=${CANARIES.phone}`,
      }),
    },
    {
      method: 'POST',
      path: '/e',
      headers: { ...viaProxy, 'content-type': 'text/plain' },
      body: beacon({
        type: 'download',
        url: page,
        target: `https://canary.example/files/zqcanaryout-${CANARIES.ssn}.pdf`,
      }),
    },
    {
      method: 'POST',
      path: '/e',
      headers: { ...viaProxy, 'content-type': 'text/plain' },
      body: beacon({ type: 'event', url: page, name: `signup ${CANARIES.email}` }),
    },
    {
      method: 'POST',
      path: '/e',
      headers: { ...viaProxy, 'content-type': 'text/plain' },
      body: beacon({ type: 'event', url: page, name: 'Book appointment' }),
    },
    {
      method: 'POST',
      path: '/e',
      headers: { ...viaProxy, 'content-type': 'text/plain' },
      body: beacon({ type: 'engagement', url: page, engagedMs: 5000 }),
    },
    {
      method: 'POST',
      path: '/api/event',
      headers: { ...viaProxy, 'content-type': 'application/json' },
      body: JSON.stringify({
        n: 'pageview',
        u: page,
        d: 'canary.example',
        r: referrer,
        w: 1280,
        p: { plan: `zqcanaryprop ${CANARIES.email}`, email: CANARIES.email, other: 'zqcanaryprop' },
      }),
      pageview: true,
    },
    {
      method: 'POST',
      path: '/api/event',
      headers: { ...viaProxy, 'content-type': 'application/json' },
      body: JSON.stringify({
        n: `Signup ${CANARIES.phone}`,
        u: page,
        d: 'canary.example',
        p: JSON.stringify({ plan: CANARIES.ssn }),
      }),
    },
    {
      method: 'GET',
      path: `/e.gif?site=${PRACTICE.siteKey}&u=${encodeURIComponent(page)}&r=${encodeURIComponent(referrer)}`,
      headers: viaProxy,
      pageview: true,
    },
    {
      method: 'GET',
      path: `/out?site=${PRACTICE.siteKey}&to=${encodeURIComponent(`https://maps.example.org/zqcanaryout?to=${CANARIES.email}`)}`,
      headers: viaProxy,
    },
  ];
  let accepted = 0;
  let pageviews = 0;
  for (const r of requests) {
    const status = await send(base, r.method, r.path, r.headers, r.body, r.local);
    expect([200, 202, 400], `${r.method} ${r.path}`).toContain(status);
    if (status === 200 || status === 202) accepted++;
    if (r.pageview && (status === 200 || status === 202)) pageviews++;
  }
  // Access logs, one upload per format: combined (with a canary user field and query) and JSON lines.
  const now = new Date();
  const month = now.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const timeLocal = `${String(now.getUTCDate()).padStart(2, '0')}/${month}/${now.getUTCFullYear()}:${now.toISOString().slice(11, 19)} +0000`;
  const uploads = [
    `${CANARIES.logIp} - zqcanarylog [${timeLocal}] "GET /contact/${CANARIES.email}?q=zqcanarylog HTTP/1.1" 200 512 "${referrer}" "${CANARIES.ua}"\n${CANARIES.logIp} - - [not a time] "GET /zqcanarylog/${CANARIES.ssn} HTTP/1.1" 200 1 "-" "${CANARIES.ua}"\n`,
    `${JSON.stringify({ remote_addr: CANARIES.logIp, time_iso8601: now.toISOString(), request: `GET /x/${CANARIES.email}?q=zqcanarylog HTTP/1.1`, status: 200, http_user_agent: CANARIES.ua, http_referer: referrer })}\n`,
  ];
  for (const [i, body] of uploads.entries()) {
    const status = await send(
      base,
      'POST',
      '/v1/logs',
      {
        authorization: `Bearer ${ingestKey}`,
        'content-type': 'text/plain',
        'x-import-id': `zqcanarylog-${tag}-${i}`,
        'x-chunk-start': '0',
      },
      body,
    );
    expect(status, `log upload ${i}`).toBe(200);
    accepted++;
  }
  return { pageviews, accepted, sent: requests.length + uploads.length };
}

/** Every row of every table in the test database as text (aggregate states included as their bytes). */
async function clickhouseText(): Promise<Record<string, string>> {
  const tables = await db.rows<{ name: string; engine: string }>(
    `SELECT name, engine FROM system.tables WHERE database = ${sqlv.str(config.clickhouse.database)}`,
  );
  const out: Record<string, string> = {};
  for (const t of tables) {
    if (t.engine === 'View' || t.engine === 'MaterializedView' || t.engine === 'Null') continue;
    const url = new URL(config.clickhouse.url);
    url.searchParams.set('database', config.clickhouse.database);
    url.searchParams.set('query', `SELECT * FROM ${sqlv.ident(t.name)} FORMAT TabSeparated`);
    const res = await fetch(url, {
      headers: {
        authorization: `Basic ${Buffer.from(`${config.clickhouse.user}:${config.clickhouse.password}`).toString('base64')}`,
      },
    });
    expect(res.status, t.name).toBe(200);
    out[t.name] = Buffer.from(await res.arrayBuffer()).toString('latin1');
  }
  return out;
}

async function filesUnder(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  for (const entry of await readdir(dir, { recursive: true })) {
    const path = join(dir, entry);
    if ((await stat(path)).isFile()) out[path] = (await readFile(path)).toString('latin1');
  }
  return out;
}

async function kafkaText(): Promise<Record<string, string>> {
  const kafka = kafkaFor(config);
  const admin = kafka.admin();
  await admin.connect();
  const out: Record<string, string> = {};
  const consumer = kafka.consumer({ groupId: `${config.kafka.topicPrefix}.canary-reader.${Date.now()}` });
  await consumer.connect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${config.kafka.topicPrefix}.`));
  let expected = 0;
  for (const topic of topics)
    for (const p of await admin.fetchTopicOffsets(topic)) expected += Number(p.high) - Number(p.low);
  await consumer.subscribe({ topics, fromBeginning: true });
  let seen = 0;
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      seen++;
      const headers = Object.entries(message.headers ?? {})
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(' ');
      out[topic] =
        `${out[topic] ?? ''}${message.key?.toString('latin1') ?? ''}\t${message.value?.toString('latin1') ?? ''}\t${headers}\n`;
    },
  });
  await eventually(
    async () => seen,
    (n) => n >= expected,
    60_000,
    'every Kafka message read',
  );
  await consumer.disconnect();
  await admin.disconnect();
  return out;
}

function findings(sources: Record<string, string>): string[] {
  const found: string[] = [];
  for (const [where, text] of Object.entries(sources)) {
    const lower = text.toLowerCase();
    for (const needle of NEEDLES) if (lower.includes(needle.toLowerCase())) found.push(`${needle} in ${where}`);
  }
  return found;
}

it('leaves no planted identifier in ClickHouse, its files, Kafka, the spool or the logs, and the audit passes', async () => {
  const online = await plant(collector.url, 'online', CANARIES.socketIp);
  const offline = await plant(offlineCollector.url, 'offline', CANARIES.socketIp);
  const spoolFiles = await filesUnder(offlineCollector.spoolDir);
  expect(Object.keys(spoolFiles).length).toBeGreaterThan(0);

  // The online canaries were processed: the reporter counts their page views.
  const { from, to } = aroundToday();
  const countNow = async () =>
    Object.values(await reportedTotals(reporter, [PRACTICE.id], from, to)).reduce((n, t) => n + t.pageviews, 0);
  const admin = kafkaFor(config).admin();
  await admin.connect();
  await eventually(
    () => ledgerCaughtUp(db, admin, config.kafka.topicPrefix, `faults-${config.kafka.topicPrefix}`),
    Boolean,
    60_000,
    'processor caught up',
  );
  await admin.disconnect();
  await eventually(countNow, (n) => n >= online.pageviews + 2, 30_000, 'canary page views counted');
  await new Promise((r) => setTimeout(r, 1500));
  const counted = await countNow();
  // Page views: beacons, Plausible and pixel, plus the two well-formed log lines (the one with a broken time is skipped).
  const logViews = 2;
  // Reports over HTML and CSV go through the real reporter process too (its logs are searched).
  for (const format of ['json', 'csv', 'html']) {
    const res = await fetch(
      `http://127.0.0.1:${reporterProcess.port}/v1/practices/${PRACTICE.id}/reports/monthly?month=${to.slice(0, 7)}&format=${format}`,
      { headers: { authorization: `Bearer ${REPORTER_ADMIN_KEY}` } },
    );
    expect(res.status).toBe(200);
    expect(findings({ [`report.${format}`]: await res.text() })).toEqual([]);
  }
  await new Promise((r) => setTimeout(r, 500));

  const tables = await clickhouseText();
  expect(Object.keys(tables)).toEqual(
    expect.arrayContaining([TABLES.rollupDaily, TABLES.rollupHourly, 'processor_ledger', 'import_line_ledger']),
  );
  const diskDir = join(faults.clickhouseDataDir, config.clickhouse.database);
  const disk = await filesUnder(diskDir);
  const topics = await kafkaText();
  const logs = Object.fromEntries(
    [collector, offlineCollector, processor, reporterProcess].map((s, i) => [`${s.name}#${i} output`, s.output()]),
  );
  expect(Object.values(logs).every((text) => text.length > 0)).toBe(true);
  expect(Object.keys(topics)).toContain(topicsFor(config.kafka.topicPrefix).events.name);

  expect(findings(tables)).toEqual([]);
  expect(findings(disk)).toEqual([]);
  expect(findings(topics)).toEqual([]);
  expect(findings(spoolFiles)).toEqual([]);
  expect(findings(logs)).toEqual([]);

  const audit = await run(process.execPath, ['--import', 'tsx', 'admin/src/confidant.ts', 'audit'], {
    cwd: faults.root,
    env: { PATH: process.env.PATH, ...namespaceEnv(config), LOG_LEVEL: 'warn' },
  }).then(
    (r) => ({ code: 0, out: r.stdout }),
    (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
  );
  expect(audit.code, audit.out).toBe(0);
  expect(JSON.parse(audit.out).findings).toEqual([]);

  // Negative controls: the same searches do find a canary once one is there.
  await db.command('CREATE TABLE canary_control (s String) ENGINE = Log');
  await db.command(`INSERT INTO canary_control VALUES (${sqlv.str(`x ${CANARIES.email} x`)})`);
  expect(findings(await clickhouseText())).toEqual([`zq.canary in canary_control`, `canary.person in canary_control`]);
  await writeFile(join(offlineCollector.spoolDir, 'control.txt'), UA_TOKEN);
  expect(findings(await filesUnder(offlineCollector.spoolDir))).toEqual([
    `${UA_TOKEN} in ${join(offlineCollector.spoolDir, 'control.txt')}`,
  ]);
  const producer = kafkaFor(config).producer();
  await producer.connect();
  await producer.send({
    topic: topicsFor(config.kafka.topicPrefix).deadLetter.name,
    messages: [{ key: 'control', value: CANARIES.xffIp }],
  });
  await producer.disconnect();
  expect(findings(await kafkaText())).toEqual([
    `${CANARIES.xffIp} in ${topicsFor(config.kafka.topicPrefix).deadLetter.name}`,
  ]);
  const auditAfter = await run(process.execPath, ['--import', 'tsx', 'admin/src/confidant.ts', 'audit'], {
    cwd: faults.root,
    env: { PATH: process.env.PATH, ...namespaceEnv(config), LOG_LEVEL: 'warn' },
  }).then(
    () => 0,
    (e: { code: number }) => e.code,
  );

  // The audit fails on the control table: it would have failed on a leak too.
  expect(auditAfter).toBe(1);
  const t = tally({ pageviews: online.pageviews + logViews }, { pageviews: counted });
  recordScenario({
    scenario: 'privacy canaries',
    sent: online.sent + offline.sent,
    accepted: online.accepted + offline.accepted,
    counted,
    lost: t.lost,
    duplicated: t.duplicated,
    notes: `0 canaries in ${Object.keys(tables).length} tables, ${Object.keys(disk).length} table files, ${Object.keys(topics).length} topics, ${Object.keys(spoolFiles).length} spool files, 4 service logs; audit passes (fails with a control table)`,
  });
}, 300_000);
