import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { connectClickHouse, type Db } from '@confidant/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/processor-harness.ts';
import { eventually } from '../support/stack.ts';

/**
 * `confidant audit` passes on what a fresh `npm start` holds once its demo preload is done (six weeks of
 * access logs for past days, today's beacons, a practice served from 127.0.0.1), and still fails on a
 * planted finding. The stack runs on a PRIVATE engine instance (own data dir and ports, as
 * tests/stack/exit-paths.test.ts), with the services as the users of infra/clickhouse/users.xml.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(`${tmpdir()}/confidant-audit-demo-`);
let env: NodeJS.ProcessEnv;
let script: ChildProcess | null = null;
let exited: Promise<number | null>;
let ch: Db;
const outFile = `${dir}/start.log`;

const audit = () => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'admin/src/confidant.ts', 'audit'], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: run.status, report: JSON.parse(run.stdout || '{}'), stderr: run.stderr };
};

describe.skipIf(process.env.TEST_ENGINES === 'testcontainers')('the audit on the npm start demo', () => {
  beforeAll(async () => {
    const names = [
      'KAFKA_PORT',
      'KAFKA_CONTROLLER_PORT',
      'CLICKHOUSE_HTTP_PORT',
      'CLICKHOUSE_TCP_PORT',
      'POSTGRES_PORT',
      'COLLECTOR_PORT',
      'REPORTER_PORT',
      'PROCESSOR_METRICS_PORT',
      'SAMPLE_SITE_PORT',
      'STACK_STATUS_PORT',
    ];
    const ports: Record<string, number> = {};
    for (const name of names) ports[name] = await freePort();
    env = {
      ...process.env,
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
      CONFIDANT_DATA_DIR: dir,
      KAFKA_BROKERS: `127.0.0.1:${ports.KAFKA_PORT}`,
      CLICKHOUSE_URL: `http://127.0.0.1:${ports.CLICKHOUSE_HTTP_PORT}`,
      POSTGRES_URL: `postgres://confidant:confidant@127.0.0.1:${ports.POSTGRES_PORT}/confidant`,
      CLICKHOUSE_DATABASE: 'confidant',
      KAFKA_TOPIC_PREFIX: 'confidant',
      STACK_DEMO: '1',
    };
    for (const name of ['CLICKHOUSE_USER', 'CLICKHOUSE_PASSWORD', 'CLICKHOUSE_SALT_USER', 'CLICKHOUSE_SALT_DATABASE'])
      delete env[name];
    const out = openSync(outFile, 'a');
    script = spawn('bash', ['infra/stack/start.sh'], { cwd: ROOT, env, detached: true, stdio: ['ignore', out, out] });
    exited = new Promise((resolve) => script!.on('exit', (code) => resolve(code)));
    const output = () => (existsSync(outFile) ? readFileSync(outFile, 'utf8') : '');
    await eventually(
      async () => existsSync(`${dir}/demo/preloaded`) || script!.exitCode !== null || /preload failed/.test(output()),
      Boolean,
      400_000,
      'the demo preload',
    );
    if (!existsSync(`${dir}/demo/preloaded`)) throw new Error(`the demo did not preload:\n${output()}`);
    ch = connectClickHouse({ url: env.CLICKHOUSE_URL!, user: 'default', password: '', database: 'confidant' });
    // The processor has rolled up the preload once the rollups stop growing.
    let last = -1;
    await eventually(
      async () => {
        const [row] = await ch.rows<{ n: string }>(
          "SELECT toString(sum(rows)) AS n FROM system.parts WHERE database = 'confidant' AND active AND table LIKE 'rollup%'",
        );
        const n = Number(row?.n ?? 0);
        const stable = n > 0 && n === last;
        last = n;
        await new Promise((r) => setTimeout(r, 3000));
        return stable;
      },
      Boolean,
      300_000,
      'the preload rolled up',
    );
  }, 900_000);

  afterAll(async () => {
    await ch?.close();
    if (script && script.exitCode === null) {
      process.kill(-script.pid!, 'SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 60_000))]);
    }
    // Whatever of the private instance is left (a failed start).
    await new Promise<void>((resolve) =>
      spawn('bash', ['infra/down'], { cwd: ROOT, env, stdio: 'ignore' }).on('exit', () => resolve()),
    );
    rmSync(dir, { recursive: true, force: true });
  }, 180_000);

  it('passes right after the preload, with the salts in their own database, and fails on a planted expired salt', async () => {
    const clean = audit();
    expect(clean.report.findings, clean.stderr).toEqual([]);
    expect(clean.code).toBe(0);
    expect(clean.report.saltDatabase).toBe('confidant_salts');
    // Today's salts (the beacons): live ones only, none for the imported past days.
    const today = new Date().toISOString().slice(0, 10).replace(/-/g, '');
    expect(clean.report.salts.map((s: { table: string }) => s.table)).toContain(`collector_salt_d${today}`);
    for (const salt of clean.report.salts as Array<{ oldestAgeHours: number }>)
      expect(salt.oldestAgeHours).toBeLessThanOrEqual(1);
    // The demo practice served from 127.0.0.1: its configured domain is exempt, and the demo sign-ins'
    // emails (accounts need them); nothing else is.
    expect(
      clean.report.exemptions.map((e: { table: string; column: string }) => `${e.table}.${e.column}`).sort(),
    ).toEqual(['control.account_links.email', 'control.practices.domains', 'control.users.email']);

    const salts = connectClickHouse({
      url: env.CLICKHOUSE_URL!,
      user: 'default',
      password: '',
      database: 'confidant_salts',
    });
    try {
      await salts.command('CREATE TABLE collector_salt_d20240101 (salt String, created_at UInt64) ENGINE = Memory');
      await salts.insert('collector_salt_d20240101', [{ salt: 'cd'.repeat(32), created_at: 1 }]);
      const planted = audit();
      expect(planted.code).toBe(1);
      expect(planted.report.findings.map((f: { kind: string; table: string }) => `${f.kind} ${f.table}`)).toEqual([
        'salt-age collector_salt_d20240101',
      ]);
    } finally {
      await salts.command('DROP TABLE IF EXISTS collector_salt_d20240101');
      await salts.close();
    }
  }, 300_000);
});
