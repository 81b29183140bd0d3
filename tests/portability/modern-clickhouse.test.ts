import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readMigrations } from '@confidant/shared';
import { portabilitySamples as reporterSamples } from '@confidant/reporter';
import { testEnv } from '../support/test-env.ts';

const RUNNER = fileURLToPath(new URL('../../infra/clickhouse/portability/run.sh', import.meta.url));

/**
 * Every migration and a sample of the reporter's queries, run in order on a modern
 * ClickHouse engine (chdb, in-process). The same statements run on the local 18.16
 * server in every other integration test, so together they prove both versions.
 */
describe('portability to modern ClickHouse (chdb)', () => {
  it('runs every migration and the reporter query samples', async () => {
    const statements: Array<{ name: string; sql: string }> = [
      { name: 'create database', sql: 'CREATE DATABASE IF NOT EXISTS confidant' },
      { name: 'use database', sql: 'USE confidant' },
    ];
    for (const migration of await readMigrations()) {
      migration.statements.forEach((sql, i) => statements.push({ name: `${migration.name}#${i + 1}`, sql }));
    }
    for (const sample of reporterSamples()) statements.push({ name: `reporter: ${sample.name}`, sql: sample.sql });

    mkdirSync(testEnv.outputDir, { recursive: true });
    const file = `${testEnv.outputDir}/portability-statements.json`;
    writeFileSync(file, JSON.stringify(statements, null, 2));
    const run = spawnSync('bash', [RUNNER, file], { encoding: 'utf8', timeout: 900_000 });
    const output = `${run.stdout}\n${run.stderr}`;
    writeFileSync(`${testEnv.outputDir}/portability.log`, output);
    expect(output).toMatch(/version/i);
    expect(run.status, output).toBe(0);
    expect(output).not.toMatch(/^FAIL /m);
    expect(output.match(/^ok /gm)?.length).toBe(statements.length);
  });
});
