import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PracticeStore, type CommonConfig, type Db, type ControlDb } from '@confidant/shared';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { prng } from '../support/event-stream.ts';
import { namespaceEnv } from '../support/service-process.ts';
import { eventually, prepareNamespace } from '../support/stack.ts';
import { isolatedConfig, testEnv } from '../support/test-env.ts';
import { faults } from './faults.config.ts';
import { reportedTotals, reporterFor, startProcessor } from './support/pipeline.ts';
import { generateAccessLog } from './support/access-log.ts';
import { flatten, recordScenario, tally } from './support/summary.ts';

/**
 * Log import killed and resumed: `confidant logs import` of one access log is SIGKILLed at random
 * points, sometimes together with the processor (a power cut), and each time resumed after the
 * processor was restarted with an empty duplicate filter (no warm-up: as if the resume came after
 * the duplicate window). The import ends exactly once per line: day-by-day page views read through
 * the reporter equal a truth computed from the generator, not from the importer.
 */
const PRACTICE = 'resume-clinic';
const DAY_MS = 86_400_000;
let config: CommonConfig;
let db: Db;
let control: ControlDb;
let cleanup: () => Promise<void>;
let reporter: FastifyInstance;
let dir: string;

beforeAll(async () => {
  config = isolatedConfig('flt-import');
  ({ db, control, cleanup } = await prepareNamespace(config));
  await new PracticeStore(control).save({
    id: PRACTICE,
    siteKey: `site-${PRACTICE}`,
    name: PRACTICE,
    domains: [`${PRACTICE}.example`],
    timezone: 'UTC',
  });
  reporter = await reporterFor(config, db, control);
  dir = await mkdtemp(join(tmpdir(), 'flt-import-'));
}, 120_000);

afterAll(async () => {
  await reporter?.close();
  await cleanup?.();
  if (!testEnv.keepData) await rm(dir, { recursive: true, force: true });
}, 120_000);

/** Runs the CLI; with `killAtLine`, SIGKILLs it as soon as it reports having read that many lines. */
function runImport(
  file: string,
  killAtLine: number | null,
): Promise<{ code: number | null; killed: boolean; output: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'admin/src/confidant.ts', 'logs', 'import', file, '--practice', PRACTICE, '--no-progress'],
    {
      cwd: faults.root,
      env: {
        PATH: process.env.PATH,
        ...namespaceEnv(config),
        SPOOL_DIR: join(dir, 'spool', 'collector'),
        LOG_LEVEL: 'debug',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => {
    const text = c.toString();
    output = (output + text).slice(-20_000);
    if (killAtLine === null) return;
    for (const m of text.matchAll(/"linesRead":(\d+)/g)) if (Number(m[1]) >= killAtLine) child.kill('SIGKILL');
  });
  return new Promise((resolve) =>
    child.on('close', (code, signal) => resolve({ code, killed: signal === 'SIGKILL', output })),
  );
}

it(`counts every line of a log once across ${faults.importKills} kills and resumes after the duplicate window`, async () => {
  const seed = Date.now() % 2 ** 31;
  const random = prng(seed);
  const { text, truth } = generateAccessLog(PRACTICE, faults.importLines, seed);
  const file = join(dir, 'access.log');
  await writeFile(file, text);
  // No warm-up: every restarted processor has forgotten the event ids it saw, as after the duplicate window.
  const env = { PROCESSOR_GROUP_ID: `faults-import-${seed}`, WARMUP_MESSAGES: '0' };
  let processor = await startProcessor(config, env);
  // Kill points: sorted random lines of the log, so that each run gets further than the one before.
  const killAt = Array.from({ length: faults.importKills }, () =>
    Math.floor(faults.importLines * (0.05 + 0.85 * random())),
  ).sort((a, b) => a - b);
  let kills = 0;
  let powerCuts = 0;
  try {
    for (const line of [...killAt, null]) {
      const run = await runImport(file, line);
      if (line === null) {
        expect(run.code, run.output).toBe(0);
        break;
      }
      expect(run.killed, run.output).toBe(true);
      kills++;
      // Every third kill is a power cut: the processor dies with the importer, at whatever point it had reached.
      if (kills % 3 === 0) {
        processor.child.kill('SIGKILL');
        powerCuts++;
      } else await processor.stop();
      processor = await startProcessor(config, env);
    }
    const { from, to } = {
      from: new Date(Date.now() - 8 * DAY_MS).toISOString().slice(0, 10),
      to: new Date().toISOString().slice(0, 10),
    };
    const expectedTotal = Object.values(truth).reduce((a, b) => a + b, 0);
    const counted = await eventually(
      async () => flatten(await reportedTotals(reporter, [PRACTICE], from, to)),
      (c) => Object.values(c).reduce((a, b) => a + b, 0) >= expectedTotal,
      120_000,
      'every page view counted',
    ).catch(async () => flatten(await reportedTotals(reporter, [PRACTICE], from, to)));
    // Settle: a duplicate would arrive after the total was reached.
    await new Promise((r) => setTimeout(r, 3000));
    const final = flatten(await reportedTotals(reporter, [PRACTICE], from, to));
    const t = tally(truth, final);
    recordScenario({
      scenario: 'import-resume',
      sent: faults.importLines,
      accepted: t.expected,
      counted: t.counted,
      lost: t.lost,
      duplicated: t.duplicated,
      notes: `${kills} CLI SIGKILLs (${powerCuts} with the processor), resumed without duplicate filter; seed ${seed}`,
    });
    expect(Object.keys(counted).length).toBeGreaterThan(0);
    expect({ lost: t.lost, duplicated: t.duplicated }).toEqual({ lost: 0, duplicated: 0 });
    expect(kills).toBe(faults.importKills);
  } finally {
    processor.child.kill('SIGKILL');
  }
}, 900_000);

it('the comparison catches one line lost and one counted twice (negative control)', () => {
  const truth = { 'p 2026-01-01 pageviews': 10, 'p 2026-01-02 pageviews': 5 };
  expect(tally(truth, { 'p 2026-01-01 pageviews': 9, 'p 2026-01-02 pageviews': 6 })).toMatchObject({
    lost: 1,
    duplicated: 1,
  });
});
