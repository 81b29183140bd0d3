import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Admin, Producer } from 'kafkajs';
import {
  connectClickHouse,
  PracticeStore,
  TABLES,
  runPrivacyAudit,
  sqlv,
  topicsFor,
  type Db,
  type ControlDb,
} from '@confidant/shared';
import { isolatedConfig } from '../support/test-env.ts';
import { eventually, prepareNamespace } from '../support/stack.ts';
import { generateStream, prng } from '../support/event-stream.ts';
import { kafkaFor, ledgerCaughtUp, processorEnv, produceEvents, startInProcess } from '../support/processor-harness.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const config = isolatedConfig('proc-audit');
const env = processorEnv(config, { RETENTION_MONTHS: '25' });
let db: Db;
let salts: Db;
let control: ControlDb;
let cleanup: () => Promise<void>;
let producer: Producer;
let admin: Admin;

const audit = () =>
  runPrivacyAudit({ db, salts, control, admin, topicPrefix: config.kafka.topicPrefix, retentionMonths: 25 });
const cli = () =>
  spawnSync(process.execPath, ['--import', 'tsx', 'admin/src/confidant.ts', 'audit'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });

beforeAll(async () => {
  ({ db, salts, control, cleanup } = await prepareNamespace(config));
  await new PracticeStore(control).save({
    id: 'audit-clinic',
    siteKey: 'site-audit',
    name: 'Audit Clinic',
    // A practice may serve its site from an address (as the demo's 127.0.0.1): its own configuration.
    domains: ['audit.example', '192.0.2.10'],
    timezone: 'Europe/Paris',
  });
  const kafka = kafkaFor(config);
  producer = kafka.producer();
  admin = kafka.admin();
  await Promise.all([producer.connect(), admin.connect()]);
  // A full run of the pipeline over recent days (within the retention).
  const processor = await startInProcess(env, db, control);
  await produceEvents(
    producer,
    config.kafka.topicPrefix,
    generateStream(prng(3), ['audit-clinic'], 2000, Date.now() - 3 * 86_400_000, 2 * 86_400_000),
  );
  await eventually(
    () => ledgerCaughtUp(db, admin, config.kafka.topicPrefix, env.PROCESSOR_GROUP_ID!),
    Boolean,
    60_000,
    'ledger caught up',
  );
  await processor.stop();
});

afterAll(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
  await cleanup?.();
});

it('passes on the data of a pipeline run', async () => {
  const report = await audit();
  expect(report.findings).toEqual([]);
  expect(report.saltDatabase).toBe(config.salts.database);
  // A practice's own domains may be addresses; people's sign-in emails are what accounts are.
  expect(report.exemptions.map((e) => `${e.table}.${e.column} ${e.patterns.join(',')}`).sort()).toEqual(
    ['control.practices.domains ipv4', 'control.users.email email', 'control.account_links.email email'].sort(),
  );
  expect(report.tables.map((t) => t.table)).toEqual(
    expect.arrayContaining([TABLES.rollupDaily, TABLES.rollupHourly, 'processor_ledger', 'import_line_ledger']),
  );
  expect(report.tables.find((t) => t.table === TABLES.rollupDaily)!.columns.map((c) => c.name)).toContain('visitors');
  const { events, eventBatches, deadLetter } = topicsFor(config.kafka.topicPrefix);
  expect(Object.fromEntries(report.topics.map((t) => [t.topic, t.retentionMs]))).toEqual({
    [events.name]: 48 * 3_600_000,
    [eventBatches.name]: 48 * 3_600_000,
    [deadLetter.name]: 14 * 24 * 3_600_000,
  });
  expect(report.tableRetention.find((t) => t.table === TABLES.rollupDaily)!.oldestPartition).not.toBeNull();
  const run = cli();
  expect(run.status).toBe(0);
  expect(JSON.parse(run.stdout).findings).toEqual([]);
});

it('fails when identifiers are planted in stored strings or identifier columns exist', async () => {
  await db.command(
    'CREATE TABLE planted (note String, tags Array(String), client_ip String) ENGINE = MergeTree() ORDER BY tuple()',
  );
  await db.command(
    `INSERT INTO planted VALUES ('seen from 203.0.113.7', ['x', 'jane.doe@example.com'], ''), ('call 555-867-5309 ssn 078-05-1120', [], '')`,
  );
  const findings = (await audit()).findings.filter((f) => f.table === 'planted');
  expect(findings.map((f) => `${f.kind} ${f.column} ${f.detail}`).sort()).toEqual(
    [
      'column-name client_ip column name suggests an identifier (String)',
      'value-pattern note 1 value(s) look like ipv4',
      'value-pattern note 1 value(s) look like phone',
      'value-pattern note 1 value(s) look like ssn',
      'value-pattern tags 1 value(s) look like email',
    ].sort(),
  );
  const run = cli();
  expect(run.status).toBe(1);
  // The report names the finding but never repeats the identifier itself.
  expect(run.stdout).not.toContain('203.0.113.7');
  expect(run.stdout).not.toContain('jane.doe@example.com');
  await db.command('DROP TABLE planted');
});

it('flags an address in a rollup value and in any control-plane text but the practice’s own domains', async () => {
  // The rollup table keyed by a dimension value (page path, referrer, exit target…), as the pipeline fills it.
  const rollup = TABLES.rollupDaily;
  const table = sqlv.ident(rollup);
  await db.command(
    `INSERT INTO ${table} (practice_id, day, value) SELECT practice_id, day, ${sqlv.str('/visit/from/203.0.113.9')} FROM ${table} LIMIT 1`,
  );
  await control.query(`UPDATE practices SET name = 'Audit Clinic 198.51.100.4' WHERE practice_id = 'audit-clinic'`);
  try {
    const findings = (await audit()).findings.map((f) => `${f.kind} ${f.table} ${f.column} ${f.detail}`);
    expect(findings.sort()).toEqual(
      [
        `value-pattern ${rollup} value 1 value(s) look like ipv4`,
        'value-pattern control.practices name 1 value(s) look like ipv4',
      ].sort(),
    );
  } finally {
    await control.query(`UPDATE practices SET name = 'Audit Clinic' WHERE practice_id = 'audit-clinic'`);
    await db.command(`ALTER TABLE ${table} DELETE WHERE value LIKE '%203.0.113.9%'`);
  }
  await eventually(
    async () => (await audit()).findings,
    (f) => f.length === 0,
    30_000,
    'the planted rollup value deleted',
  );
});

it('reports salt ages from the salt database and fails on a salt kept more than 48 h after its period', async () => {
  const today = new Date().toISOString().slice(0, 10).replace(/-/g, '');
  await salts.command(`CREATE TABLE collector_salt_d${today} (salt String, created_at UInt64) ENGINE = Memory`);
  await salts.insert(`collector_salt_d${today}`, [{ salt: 'ab'.repeat(32), created_at: 1 }]);
  let report = await audit();
  expect(report.salts.map((s) => s.table)).toEqual([`collector_salt_d${today}`]);
  expect(report.findings).toEqual([]);

  await salts.command('CREATE TABLE collector_salt_d20240101 (salt String, created_at UInt64) ENGINE = Memory');
  await salts.insert('collector_salt_d20240101', [{ salt: 'cd'.repeat(32), created_at: 1 }]);
  report = await audit();
  expect(report.findings.map((f) => `${f.kind} ${f.table}`)).toEqual(['salt-age collector_salt_d20240101']);
  let run = cli();
  expect(run.status).toBe(1);
  expect(JSON.parse(run.stdout).findings).toHaveLength(1);
  // The report names the table but never shows a salt.
  expect(run.stdout).not.toContain('cd'.repeat(32));
  await salts.command('DROP TABLE collector_salt_d20240101');

  // A salt database not created yet holds no salt.
  const missing = connectClickHouse({ ...config.salts, database: `${config.salts.database}_none` });
  try {
    const none = await runPrivacyAudit({
      db,
      salts: missing,
      topicPrefix: config.kafka.topicPrefix,
      retentionMonths: 25,
    });
    expect(none.salts).toEqual([]);
    expect(none.findings).toEqual([]);
  } finally {
    await missing.close();
  }

  // The reporter's audit has no access to salts: it says so instead of claiming their absence.
  expect((await runPrivacyAudit({ db, topicPrefix: config.kafka.topicPrefix, retentionMonths: 25 })).saltDatabase).toBe(
    null,
  );

  // A salt in the main database, where every service can read it, is a finding at any age.
  await db.command(`CREATE TABLE collector_salt_d${today} (salt String, created_at UInt64) ENGINE = Memory`);
  report = await audit();
  expect(report.findings.map((f) => `${f.kind} ${f.table}`)).toEqual([`salt-location collector_salt_d${today}`]);
  run = cli();
  expect(run.status).toBe(1);
  await db.command(`DROP TABLE collector_salt_d${today}`);
  await salts.command(`DROP TABLE collector_salt_d${today}`);
});
